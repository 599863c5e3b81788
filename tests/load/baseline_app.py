"""The floor of this stack: a bare Starlette endpoint making one grpc.aio call.

`GET /v1/users/{user_id}` asks the user service for the user (UserService.GetUser) and
answers its proto3 JSON, nothing else: no auth, no transcoding tables, no middleware.
`koo bench --baseline` runs it under uvicorn (uvloop, httptools, one process) and loads
it with the same generator as the gateway, so Koo's figures read as a ratio to it.

    KOO_USER_ADDR=127.0.0.1:7051 uvicorn tests.load.baseline_app:app --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from koo.user.v1 import user_service_pb2 as pb
from koo.user.v1 import user_service_pb2_grpc as pb_grpc
from services.kit.channels import open_channel
from services.kit.settings import KitSettings

_state: dict[str, pb_grpc.UserServiceStub] = {}


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # A Koo workload like the gateway: internal RPCs need a service token.
    identity = KitSettings().workload_identity("bench")
    channel = open_channel(os.environ.get("KOO_USER_ADDR", "127.0.0.1:7051"), timeout=5, identity=identity)
    _state["users"] = pb_grpc.UserServiceStub(channel)
    yield
    await channel.close()


async def get_user(request: Request) -> Response:
    try:
        reply = await _state["users"].GetUser(pb.GetUserRequest(user_id=int(request.path_params["user_id"])), timeout=5)
    except grpc.aio.AioRpcError as exc:
        return JSONResponse(
            {"error": {"status": exc.code().name}}, status_code=404 if exc.code() == grpc.StatusCode.NOT_FOUND else 503
        )
    return JSONResponse(json_format.MessageToDict(reply.user, preserving_proto_field_name=True))


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[Route("/v1/users/{user_id}", get_user), Route("/healthz", healthz)],
    lifespan=lifespan,
)
