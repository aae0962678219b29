"""Which resource and method answer a request: literal parts before {variables} before
{greedy+} ones, the request's method else ANY, nothing else."""

from __future__ import annotations

import pytest

from mysfits_lab.localcloud.services.apigateway.models import Method, Resource
from mysfits_lab.localcloud.services.apigateway.routing import Router


def _resource(path: str, *verbs: str) -> Resource:
    return Resource(id=path, path=path, methods={v: Method(http_method=v) for v in verbs})


ROUTER = Router(
    [
        _resource("/"),  # no methods: it answers nothing
        _resource("/mysfits", "GET", "OPTIONS"),
        _resource("/mysfits/{mysfitId}", "GET"),
        _resource("/mysfits/{mysfitId}/like", "POST"),
        _resource("/mysfits/featured", "GET"),
        _resource("/mysfits/{mysfitId}/photos/{proxy+}", "ANY"),
        _resource("/files", "GET"),
        _resource("/files/{path+}", "GET"),
        _resource("/orders"),  # a parent without methods...
        _resource("/{any+}", "ANY"),  # ...so its requests fall through to the greedy root
    ]
)


@pytest.mark.parametrize(
    ("method", "path", "resource", "parameters"),
    [
        ("GET", "/mysfits", "/mysfits", {}),
        ("GET", "/mysfits/", "/mysfits", {}),
        ("GET", "/mysfits/featured", "/mysfits/featured", {}),  # literal before variable
        ("GET", "/mysfits/abc", "/mysfits/{mysfitId}", {"mysfitId": "abc"}),
        ("POST", "/mysfits/abc/like", "/mysfits/{mysfitId}/like", {"mysfitId": "abc"}),
        # a literal branch that leads nowhere gives way to the variable one
        ("POST", "/mysfits/featured/like", "/mysfits/{mysfitId}/like", {"mysfitId": "featured"}),
        ("GET", "/mysfits/a%20b", "/mysfits/{mysfitId}", {"mysfitId": "a b"}),
        ("GET", "/mysfits/a%2Fb", "/mysfits/{mysfitId}", {"mysfitId": "a/b"}),
        (
            "DELETE",
            "/mysfits/abc/photos/2024/cat%20one.png",
            "/mysfits/{mysfitId}/photos/{proxy+}",
            {"mysfitId": "abc", "proxy": "2024/cat one.png"},
        ),
        ("GET", "/files", "/files", {}),
        ("GET", "/files/a/b/c", "/files/{path+}", {"path": "a/b/c"}),
        ("GET", "/orders", "/{any+}", {"any": "orders"}),
        ("PUT", "/elsewhere/deep", "/{any+}", {"any": "elsewhere/deep"}),
        ("GET", "/mysfits?x=1", "/mysfits", {}),
    ],
)
def test_requests_find_their_resource(method, path, resource, parameters):
    match = ROUTER.match(method, path)
    assert match is not None
    assert (match.resource.path, match.path_parameters) == (resource, parameters)


def test_the_greedy_parameter_is_named():
    assert ROUTER.match("GET", "/files/a/b").greedy == "path"
    assert ROUTER.match("GET", "/mysfits/abc").greedy is None


def test_any_answers_every_method():
    assert ROUTER.match("PATCH", "/mysfits/abc/photos/x").method.http_method == "ANY"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/mysfits"),  # the resource has no POST (and no fallback to another resource)
        ("DELETE", "/mysfits/abc"),
        ("GET", "/mysfits/abc/like"),
    ],
)
def test_a_method_the_resource_lacks_matches_nothing(method, path):
    assert ROUTER.match(method, path) is None


def test_without_a_greedy_root_unknown_paths_match_nothing():
    router = Router([_resource("/"), _resource("/items", "GET"), _resource("/items/{id}", "GET")])
    assert router.match("GET", "/") is None  # the root has no method
    assert router.match("GET", "/nope") is None
    assert router.match("GET", "/items/1/2") is None
    assert router.match("GET", "/items//") is not None  # empty parts are dropped at the end


def test_a_root_method_answers_the_stage_itself():
    router = Router([_resource("/", "GET")])
    assert router.match("GET", "/").resource.path == "/"
    assert router.match("GET", "").resource.path == "/"
