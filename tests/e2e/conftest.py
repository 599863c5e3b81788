"""End-to-end fixtures: one platform per run, started as `koo up` starts it, and HTTP clients."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.platform import Platform, running_platform

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@pytest.fixture(scope="session")
def client(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.base_url, timeout=30) as http:
        yield http


@dataclass
class Account:
    id: str
    handle: str
    access_token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access_token}"}


def unique_handle(prefix: str = "e2e") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def register(
    client: httpx.Client, *, handle: str | None = None, display_name: str = "परीक्षक", languages: list[str] | None = None
) -> Account:
    handle = handle or unique_handle()
    created = client.post(
        "/v1/users",
        json={"handle": handle, "password": PASSWORD, "display_name": display_name, "languages": languages or ["hi"]},
    )
    assert created.status_code == 201, created.text
    session = client.post("/v1/sessions", json={"handle": handle, "password": PASSWORD})
    assert session.status_code == 200, session.text
    body = session.json()
    return Account(created.json()["id"], handle, body["access_token"], body["refresh_token"])


@pytest.fixture
def alice(client: httpx.Client) -> Account:
    return register(client, display_name="आलिया")


@pytest.fixture
def bob(client: httpx.Client) -> Account:
    return register(client, display_name="বব")


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of docs/api.md's error body, checked for shape."""
    body = response.json()
    error = body["error"]
    assert set(error) == {"code", "status", "message", "details"}, body
    assert error["code"] == response.status_code
    return dict(error)


def violations(response: httpx.Response) -> dict[str, str]:
    out: dict[str, str] = {}
    for detail in error_of(response)["details"]:
        if detail["@type"].endswith("google.rpc.BadRequest"):
            out.update({v["field"]: v["description"] for v in detail["field_violations"]})
    return out


def reason(response: httpx.Response) -> str:
    for detail in error_of(response)["details"]:
        if detail["@type"].endswith("google.rpc.ErrorInfo"):
            return str(detail["reason"])
    return ""
