"""The gateway's path-template matcher: google.api.http templates, custom verbs, 404 vs 405."""

from __future__ import annotations

import pytest

from gateway.routes import Route, all_routes
from gateway.templates import Matcher, PathDecodeError, TemplateError, compile_template


def test_literal_and_variable_segments() -> None:
    template = compile_template("/v1/users/{user_id}/followers")
    assert template.variables == ("user_id",)
    assert template.match("/v1/users/42/followers") == {"user_id": "42"}
    assert template.match("/v1/users/42") is None
    assert template.match("/v1/users/42/followers/x") is None
    assert template.match("/v1/users//followers") is None


def test_custom_verb_is_part_of_the_last_segment() -> None:
    follow = compile_template("/v1/users/{user_id}:follow")
    assert follow.verb == "follow"
    assert follow.match("/v1/users/7:follow") == {"user_id": "7"}
    assert follow.match("/v1/users/7:unfollow") is None
    assert follow.match("/v1/users/7") is None
    # A verb-less template never swallows a verb into its variable.
    assert compile_template("/v1/users/{user_id}").match("/v1/users/7:follow") is None


def test_verb_on_a_literal_collection() -> None:
    refresh = compile_template("/v1/sessions:refresh")
    assert refresh.match("/v1/sessions:refresh") == {}
    assert refresh.match("/v1/sessions") is None
    assert compile_template("/v1/sessions").match("/v1/sessions:refresh") is None


def test_values_are_percent_decoded_strictly() -> None:
    template = compile_template("/v1/handles/{handle}")
    assert template.match("/v1/handles/%E0%A4%86%E0%A4%B6%E0%A4%BE") == {"handle": "आशा"}
    # An encoded colon stays inside the value; it is not a verb separator.
    assert template.match("/v1/handles/a%3Ab") == {"handle": "a:b"}
    with pytest.raises(PathDecodeError) as caught:
        template.match("/v1/handles/%E0%A4")
    assert caught.value.variable == "handle"


def test_variable_with_a_pattern_and_wildcards() -> None:
    template = compile_template("/v1/{name=shelves/*/books/*}")
    assert template.variables == ("name",)
    assert template.match("/v1/shelves/1/books/2") == {"name": "shelves/1/books/2"}
    assert template.match("/v1/shelves/1/books") is None
    assert template.openapi_path == "/v1/{name}"
    assert compile_template("/v1/files/**").match("/v1/files/a/b/c") == {}


@pytest.mark.parametrize(
    "bad",
    ["v1/users", "/v1/{user id}", "/v1/{a}/{a}", "/v1//x", "/v1/{open", "/v1/x:bad verb"],
)
def test_bad_templates_are_refused(bad: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(bad)


def test_matcher_prefers_literals_and_tells_405_from_404() -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("GET", compile_template("/v1/users/{user_id}"), "get")
    matcher.add("PATCH", compile_template("/v1/users/me"), "update")
    matcher.add("GET", compile_template("/v1/users/me"), "get-me")
    matcher.add("POST", compile_template("/v1/users/{user_id}:follow"), "follow")
    found = matcher.match("GET", "/v1/users/me")
    assert found is not None and found.target == "get-me"
    found = matcher.match("GET", "/v1/users/12")
    assert found is not None and (found.target, found.variables) == ("get", {"user_id": "12"})
    assert matcher.match("DELETE", "/v1/users/12") is None
    assert matcher.allowed("/v1/users/12") == ["GET"]
    assert matcher.allowed("/v1/users/me") == ["GET", "PATCH"]
    assert matcher.allowed("/v1/users/12:follow") == ["POST"]
    assert matcher.allowed("/v1/nothing") == []
    with pytest.raises(TemplateError):
        matcher.add("GET", compile_template("/v1/users/{user_id}"), "again")


def test_every_annotated_rpc_is_routed_and_internal_ones_are_not() -> None:
    routes = all_routes()
    rpcs = {r.rpc for r in routes}
    assert "/koo.user.v1.UserService/FollowUser" in rpcs
    assert "/koo.user.v1.UserService/BatchGetUsers" in rpcs  # annotated: routed, authenticated
    assert "/koo.user.v1.UserService/ListFollowerIds" not in rpcs  # internal: no annotation
    assert "/koo.post.v1.PostService/ListAuthorPosts" not in rpcs
    assert "/koo.post.v1.PostService/SetPostRemoved" not in rpcs  # moderation's internal write
    public = {r.rpc.rsplit("/", 1)[1] for r in routes if r.public}
    assert public == {"CreateUser", "CreateSession", "RefreshSession"}
    created = {(r.http_method, r.template.source) for r in routes if r.success_status == 201}
    assert created == {
        ("POST", "/v1/users"),
        ("POST", "/v1/posts"),
        ("POST", "/v1/media"),
        ("POST", "/v1/reports"),
        ("POST", "/v1/notifications/devices"),
    }

    matcher: Matcher[Route] = Matcher()
    for route in routes:
        matcher.add(route.http_method, route.template, route)
    found = matcher.match("POST", "/v1/users/123:block")
    assert found is not None and found.target.rpc.endswith("/BlockUser")
    found = matcher.match("GET", "/v1/users:batchGet")
    assert found is not None and found.target.rpc.endswith("/BatchGetUsers")
    found = matcher.match("GET", "/v1/media/5/content")
    assert found is not None and found.target.rpc.endswith("/GetMediaContent")
