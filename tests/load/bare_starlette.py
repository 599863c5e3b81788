"""The floors for tests/load/gateway_overhead.py: bare Starlette, nothing of the gateway.

`GET /json` answers a fixed JSON body; `GET /grpc` makes one grpc.aio UserService.GetUser
call (user BENCH_USER_ID, the request's Authorization forwarded, as the user service
verifies it) and answers the user's proto3 JSON. No routing tables, edge auth, rate limit
or request checks: what is left when the gateway's own work is taken away.

    KOO_USER_ADDR=127.0.0.1:7051 BENCH_USER_ID=1 \\
      uvicorn tests.load.bare_starlette:app --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from koo.user.v1 import user_service_pb2 as pb
from services.kit.channels import open_channel
from services.kit.settings import KitSettings

_calls: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # A Koo workload like the gateway: internal RPCs need a service token.
    channel = open_channel(os.environ["KOO_USER_ADDR"], timeout=5, identity=KitSettings().workload_identity("bench"))
    _calls["get_user"] = channel.unary_unary(
        "/koo.user.v1.UserService/GetUser",
        request_serializer=pb.GetUserRequest.SerializeToString,
        response_deserializer=pb.GetUserResponse.FromString,
    )
    yield
    await channel.close()


async def plain_json(request: Request) -> Response:
    return JSONResponse({"id": "1", "handle": "asha", "display_name": "आशा", "languages": ["hi"]})


async def one_grpc_call(request: Request) -> Response:
    reply = await _calls["get_user"](
        pb.GetUserRequest(user_id=int(os.environ["BENCH_USER_ID"])),
        timeout=5,
        metadata=(("authorization", request.headers["authorization"]),),
    )
    return JSONResponse(json_format.MessageToDict(reply.user, preserving_proto_field_name=True))


app = Starlette(routes=[Route("/json", plain_json), Route("/grpc", one_grpc_call)], lifespan=lifespan)
