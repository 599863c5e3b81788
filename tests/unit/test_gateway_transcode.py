"""JSON <-> protobuf for routes: path, query and body in; snake_case proto3 JSON out."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.routes import Route, all_routes
from gateway.transcode import build_request, parse_json, parse_query, response_data
from koo.feed.v1 import feed_service_pb2 as feed_pb
from koo.media.v1 import media_service_pb2 as media_pb
from koo.user.v1 import user_service_pb2 as user_pb
from services.kit.errors import InvalidArgument

ROUTES = {(r.http_method, r.template.source): r for r in all_routes()}


def route(method: str, path: str) -> Route:
    return ROUTES[(method, path)]


def violations(exc: InvalidArgument) -> dict[str, str]:
    return exc.violations


def build(r: Route, *, path: dict[str, str] | None = None, query: str = "", body: Any = None, **kw: Any) -> Any:
    return build_request(
        r,
        path_values=path or {},
        query=parse_query(query.encode()),
        body=body,
        caller_id=kw.pop("caller_id", 99),
        **kw,
    )


def test_body_star_with_path_variable_and_me() -> None:
    follow = route("POST", "/v1/users/{user_id}:follow")
    message = build(follow, path={"user_id": "42"}, body={"languages": ["hi", "ta"]})
    assert isinstance(message, user_pb.FollowUserRequest)
    assert (message.user_id, list(message.languages)) == (42, ["hi", "ta"])
    assert build(follow, path={"user_id": "me"}, body={}).user_id == 99


def test_ids_accept_strings_and_numbers_and_refuse_the_rest() -> None:
    follow = route("POST", "/v1/users/{user_id}:follow")
    with pytest.raises(InvalidArgument) as caught:
        build(follow, path={"user_id": "abc"}, body={})
    assert "user_id" in violations(caught.value)
    with pytest.raises(InvalidArgument) as caught:
        build(follow, path={"user_id": "me"}, body={}, caller_id=None)
    assert "me" in violations(caught.value)["user_id"]
    with pytest.raises(InvalidArgument) as caught:
        build(follow, path={"user_id": str(2**63)}, body={})
    assert "between" in violations(caught.value)["user_id"]


def test_unknown_fields_wrong_types_and_bad_text_name_the_field() -> None:
    create = route("POST", "/v1/users")
    with pytest.raises(InvalidArgument) as caught:
        build(create, body={"handle": 5, "password": "x" * 9, "display_name": "a\x00b", "languages": "hi", "x": 1})
    assert set(violations(caught.value)) == {"handle", "display_name", "languages", "x"}
    with pytest.raises(InvalidArgument) as caught:
        build(create, body={"handle": "ok", "languages": ["hi", None, 3]})
    assert set(violations(caught.value)) == {"languages[1]", "languages[2]"}
    with pytest.raises(InvalidArgument) as caught:
        build(create, body={"handle": "\ud800"})  # json.loads lets lone surrogates through
    assert "UTF-8" in violations(caught.value)["handle"]
    with pytest.raises(InvalidArgument) as caught:
        build(create, body=["not", "an", "object"])
    assert "body" in violations(caught.value)


def test_camel_case_names_are_accepted_on_input() -> None:
    create = route("POST", "/v1/users")
    assert build(create, body={"displayName": "आशा"}).display_name == "आशा"


def test_query_parameters_repeated_ints_and_unknown() -> None:
    home = route("GET", "/v1/feed/home")
    message = build(home, query="page_size=5&page_token=abc&language=hi&language=en")
    assert isinstance(message, feed_pb.GetHomeFeedRequest)
    assert (message.page_size, message.page_token, list(message.language)) == (5, "abc", ["hi", "en"])
    with pytest.raises(InvalidArgument) as caught:
        build(home, query="page_size=ten&bogus=1&page_token=a&page_token=b")
    assert set(violations(caught.value)) == {"page_size", "bogus", "page_token"}
    with pytest.raises(InvalidArgument) as caught:
        build(home, query=f"page_size={2**31}")
    assert "page_size" in violations(caught.value)


def test_query_must_be_utf8() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_query(b"q=%E0%A4")
    assert "query" in violations(caught.value)
    assert parse_query(b"q=%E0%A4%AD%E0%A4%BE") == [("q", "भा")]


def test_path_fields_are_not_query_parameters() -> None:
    followers = route("GET", "/v1/users/{user_id}/followers")
    with pytest.raises(InvalidArgument) as caught:
        build(followers, path={"user_id": "1"}, query="user_id=2")
    assert violations(caught.value)["user_id"] == "is given by the path"


def test_body_field_with_update_mask_from_present_fields() -> None:
    update = route("PATCH", "/v1/users/me")
    message = build(update, body={"bio": "नमस्ते", "display_name": "आशा", "id": "5", "follower_count": 3})
    assert isinstance(message, user_pb.UpdateUserRequest)
    assert list(message.update_mask.paths) == ["bio", "display_name"]  # output-only fields left out
    assert message.user.bio == "नमस्ते"
    explicit = build(update, query="update_mask=display_name", body={"bio": "x", "display_name": "y"})
    assert list(explicit.update_mask.paths) == ["display_name"]


def test_idempotency_key_fills_request_id() -> None:
    create = route("POST", "/v1/posts")
    message = build(create, body={"text": "नमस्ते"}, idempotency_key="key-1")
    assert message.request_id == "key-1"


def test_json_body_parsing() -> None:
    assert parse_json(b"") == {}
    assert parse_json(b'{"a": 1}') == {"a": 1}
    with pytest.raises(InvalidArgument) as caught:
        parse_json(b'{"a": ')
    assert "malformed JSON" in violations(caught.value)["body"]
    with pytest.raises(InvalidArgument) as caught:
        parse_json(b'{"a": "\xff"}')
    assert "UTF-8" in violations(caught.value)["body"]
    for hostile in (b'{"a": ' + b"9" * 5000 + b"}", b"[" * 100_000):
        with pytest.raises(InvalidArgument):
            parse_json(hostile)


def test_huge_numbers_in_text_are_refused_not_crashed() -> None:
    home = route("GET", "/v1/feed/home")
    with pytest.raises(InvalidArgument) as caught:
        build(home, query="page_size=" + "9" * 5000)
    assert "page_size" in violations(caught.value)


def test_response_defaults_int64_strings_and_response_body() -> None:
    get = route("GET", "/v1/users/{user_id}")
    answer = user_pb.GetUserResponse(user=user_pb.User(id=2**62, handle="asha"))
    data = response_data(get, answer)
    assert data["id"] == str(2**62)
    assert data["follower_count"] == "0"
    assert data["bio"] == "" and data["languages"] == [] and data["verified"] is False
    followers = route("GET", "/v1/users/{user_id}/followers")
    assert response_data(followers, user_pb.ListFollowersResponse()) == {"users": [], "next_page_token": ""}


def test_enums_use_the_short_names_of_the_api() -> None:
    get = route("GET", "/v1/media/{media_id}")
    media = media_pb.Media(id=1, kind=media_pb.MEDIA_KIND_IMAGE, status=media_pb.MEDIA_STATUS_PROCESSING)
    data = response_data(get, media_pb.GetMediaResponse(media=media))
    assert (data["kind"], data["status"]) == ("image", "processing")
