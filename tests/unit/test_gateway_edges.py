"""Gateway settings and edge rules: rate syntax, client IP behind trusted proxies, budgets."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from gateway.clientip import client_ip
from gateway.ratelimit import RateLimiter
from gateway.routes import all_routes
from gateway.settings import GatewaySettings, Rate, parse_rate
from services.kit.context import Caller


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("600/minute", Rate(600, 60)),
        ("10/15m", Rate(10, 900)),
        ("20/hour", Rate(20, 3600)),
        ("5 / 30s", Rate(5, 30)),
        ("100/day", Rate(100, 86400)),
        ("off", Rate(0, 1)),
    ],
)
def test_rate_syntax(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


def test_bad_rates_fail_at_start() -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(rate_read="lots")
    with pytest.raises(ValidationError):
        GatewaySettings(trusted_proxies="not-an-ip")


def _scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"client": (peer, 5000), "headers": headers}


def test_client_ip_is_the_peer_unless_the_peer_is_trusted() -> None:
    trusted = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]
    # Untrusted peer: its X-Forwarded-For is ignored (it could say anything).
    assert client_ip(_scope("203.0.113.9", "1.2.3.4"), trusted) == "203.0.113.9"
    # Trusted peer: the right-most address that is not one of our proxies.
    assert client_ip(_scope("10.1.2.3", "1.2.3.4, 198.51.100.7, 10.9.9.9"), trusted) == "198.51.100.7"
    assert client_ip(_scope("127.0.0.1", "198.51.100.7"), trusted) == "198.51.100.7"
    assert client_ip(_scope("10.1.2.3"), trusted) == "10.1.2.3"
    # No trusted proxies configured: always the socket.
    assert client_ip(_scope("10.1.2.3", "1.2.3.4"), []) == "10.1.2.3"


def test_each_request_counts_against_the_right_budgets() -> None:
    routes = {(r.http_method, r.template.source): r for r in all_routes()}
    limiter = RateLimiter(None, GatewaySettings())
    caller = Caller(user_id=7, session_id="s", token="t")

    def keys(method: str, path: str, who: Caller | None) -> list[str]:
        checks = limiter.checks_for(routes[(method, path)], ip="198.51.100.7", caller=who)
        return [c.key.split(":")[2] for c in checks]

    assert keys("GET", "/v1/users/{user_id}", caller) == ["ip", "read"]
    assert keys("POST", "/v1/posts", caller) == ["ip", "write"]
    assert keys("POST", "/v1/media", caller) == ["ip", "media"]
    assert keys("POST", "/v1/users", None) == ["ip", "signup"]
    # Failed sign-ins per account are counted by the user service (services/user/signin_guard.py).
    assert keys("POST", "/v1/sessions", None) == ["ip", "login"]
    assert keys("POST", "/v1/sessions:refresh", None) == ["ip", "login"]
