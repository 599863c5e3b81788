"""Mobile push: devices register a token, notifications go out through Amazon SNS
platform endpoints (FCM for Android, APNs for iOS).

Delivery sits behind `PushSender`, so the worker does not know SNS: `SnsPush` in
production (and against moto's server in tests), `NoPush` where no platform application
is configured (push is then simply off; the list and the live stream still work).
boto3 blocks, so each call runs in a worker thread; one client is shared (boto3 clients
are thread-safe). An endpoint SNS reports disabled (the app was uninstalled, the token
expired) is forgotten.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from koo.errors.v1.error_reason_pb2 import ErrorReason
from services.kit.errors import FailedPrecondition, InvalidArgument, Unavailable

log = logging.getLogger("koo.feed.push")

PLATFORMS = ("android", "ios")


class EndpointGone(Exception):
    """The device's endpoint is disabled or deleted: stop sending to it."""


class PushSender(Protocol):
    async def register(self, *, platform: str, token: str, user_id: int) -> str:
        """The endpoint that reaches this device token."""
        ...

    async def unregister(self, endpoint: str) -> None: ...

    async def send(self, endpoint: str, *, title: str, body: str, data: dict[str, str]) -> None:
        """Deliver one message; raises EndpointGone when the device cannot be reached any more."""
        ...


class NoPush:
    """Push is not configured: registering is refused, nothing is sent."""

    async def register(self, *, platform: str, token: str, user_id: int) -> str:
        # Not a fault that retrying mends (no 503): this server has no push applications.
        raise FailedPrecondition(
            "push notifications are not configured on this server", reason=ErrorReason.PUSH_NOT_CONFIGURED
        )

    async def unregister(self, endpoint: str) -> None:
        return None

    async def send(self, endpoint: str, *, title: str, body: str, data: dict[str, str]) -> None:
        return None


class SnsPush:
    def __init__(self, *, applications: dict[str, str], region: str = "", endpoint_url: str = "") -> None:
        self.applications = {k: v for k, v in applications.items() if v}
        self.client: Any = boto3.session.Session().client(
            "sns",
            region_name=region or None,
            endpoint_url=endpoint_url or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=10),
        )

    async def register(self, *, platform: str, token: str, user_id: int) -> str:
        application = self.applications.get(platform)
        if application is None:
            raise InvalidArgument("platform", message=f"push to {platform} devices is not configured")
        try:
            # Idempotent in SNS: the same token and attributes give back the same endpoint.
            answer = await asyncio.to_thread(
                self.client.create_platform_endpoint,
                PlatformApplicationArn=application,
                Token=token,
                CustomUserData=str(user_id),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidParameter":
                raise InvalidArgument("token", message="SNS refused this device token") from None
            raise Unavailable(
                "the push service is not answering; try again", reason=ErrorReason.UPSTREAM_UNAVAILABLE
            ) from exc
        except BotoCoreError as exc:
            raise Unavailable(
                "the push service is not answering; try again", reason=ErrorReason.UPSTREAM_UNAVAILABLE
            ) from exc
        return str(answer["EndpointArn"])

    async def unregister(self, endpoint: str) -> None:
        try:
            await asyncio.to_thread(self.client.delete_endpoint, EndpointArn=endpoint)
        except (ClientError, BotoCoreError) as exc:
            log.warning("push endpoint not deleted: %s", exc)

    async def send(self, endpoint: str, *, title: str, body: str, data: dict[str, str]) -> None:
        # One message per platform's payload format, chosen by SNS (MessageStructure=json).
        message = {
            "default": body,
            "GCM": json.dumps({"notification": {"title": title, "body": body}, "data": data}, ensure_ascii=False),
            "APNS": json.dumps({"aps": {"alert": {"title": title, "body": body}}, **data}, ensure_ascii=False),
        }
        try:
            await asyncio.to_thread(
                self.client.publish,
                TargetArn=endpoint,
                Message=json.dumps(message, ensure_ascii=False),
                MessageStructure="json",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("EndpointDisabled", "NotFound"):
                raise EndpointGone(endpoint) from exc
            raise
