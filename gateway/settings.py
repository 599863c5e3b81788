"""Settings of the REST gateway (`KOO_` environment variables, see docs/gateway.md)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from services.kit.rates import Rate, parse_rate
from services.kit.settings import KitSettings

__all__ = ["GatewaySettings", "Rate", "parse_rate"]


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


class GatewaySettings(KitSettings):
    # Where the gateway listens: KOO_PORT (set by `koo up` and Kubernetes) wins, then
    # KOO_GATEWAY_PORT, then 8080.
    gateway_port: int = 8080
    # Channels opened to each service, used round-robin: SO_REUSEPORT spreads a service's
    # processes per connection, so one channel would pin every call to one process.
    channels_per_service: int = 4
    # Deadline of streamed media transfers (KOO_CALL_TIMEOUT covers every other call).
    transfer_timeout: float = 300.0
    # Largest JSON request body, and largest raw or multipart upload (video: 100 MB).
    max_body_bytes: int = 256 * 1024
    max_upload_bytes: int = 100 * 1024 * 1024
    # Largest answer accepted from a service (the gRPC receive limit).
    max_response_bytes: int = 8 * 1024 * 1024
    # Comma-separated web origins allowed by CORS, e.g. `https://koo.example`.
    cors_origins: str = ""
    # Comma-separated addresses or CIDRs of proxies whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    # Rate limits (Redis, fixed windows); each is `<limit>/<window>` or `off`.
    rate_limits_enabled: bool = True
    rate_ip: str = "3000/minute"  # every request, per client IP
    rate_read: str = "1200/minute"  # GETs, per signed-in user
    rate_write: str = "120/minute"  # other methods, per signed-in user
    rate_media: str = "60/hour"  # uploads, per signed-in user
    rate_signup: str = "20/hour"  # sign-ups, per client IP
    rate_login: str = "60/minute"  # sign-ins and refreshes, per client IP
    # The HTTP server's own limits (gateway/http_server.py): seconds for the request head
    # to arrive, seconds a body may stall, headers per request and their total size, and
    # open connections (beyond it: 503).
    http_header_timeout: float = 10.0
    http_body_timeout: float = 30.0
    http_max_headers: int = 100
    http_max_header_bytes: int = 16 * 1024
    http_max_connections: int = 2000
    # Lifetime of the browser's refresh-token cookie, seconds (session_cookie.py); keep it
    # equal to the user service's KOO_REFRESH_TOKEN_TTL.
    refresh_cookie_max_age: int = 30 * 24 * 3600
    # Admission control (gateway/admission.py): API calls running at once, how many more
    # may wait for a slot, and how long each may wait (seconds); beyond, 503 + Retry-After.
    # 0 as the limit turns it off.
    admission_limit: int = Field(default=64, ge=0)
    admission_queue: int = Field(default=128, ge=0)
    admission_wait: float = Field(default=0.5, gt=0)
    # Readiness: how long each health check may take, seconds.
    ready_timeout: float = 1.0

    @field_validator("rate_ip", "rate_read", "rate_write", "rate_media", "rate_signup", "rate_login")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        for item in _csv(value):
            ipaddress.ip_network(item, strict=False)
        return value

    def listen_port(self) -> int:
        return self.port or self.gateway_port

    def rate(self, name: str) -> Rate:
        return parse_rate(str(getattr(self, f"rate_{name}")))

    def cors_origin_list(self) -> list[str]:
        return _csv(self.cors_origins)

    def trusted_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(item, strict=False) for item in _csv(self.trusted_proxies)]
