"""The Mythical Mysfits HTTP service (workshop modules 2-4).

Run it with `python -m mysfits_service` (waitress, a production WSGI server).

Configuration, later wins: defaults < settings.json next to this file < MYSFITS_* environment
< `create_app(config)`.
  settings.json      {"backend": "catalogue" | "dynamodb", "table": "<table name>"}: part of
                     the source, so switching to DynamoDB (module 3) is a commit the pipeline
                     builds and deploys
  MYSFITS_BACKEND    catalogue | dynamodb
  MYSFITS_CATALOGUE  JSON file shaped {"mysfits": [...]}; default catalogue.json next to this file
  MYSFITS_TABLE      DynamoDB table name; default MysfitsTable
boto3 takes region, endpoint and credentials from the standard AWS environment.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backends import (
    FILTERS,
    AlreadyAdopted,
    Backend,
    BackendUnavailable,
    CatalogueBackend,
    DynamoDBBackend,
    MysfitNotFound,
)
from flask import Flask, Response, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException

HERE = Path(__file__).resolve().parent
SETTINGS_FILE = HERE / "settings.json"
DEFAULTS: dict[str, str] = {
    "MYSFITS_BACKEND": "catalogue",
    "MYSFITS_CATALOGUE": str(HERE / "catalogue.json"),
    "MYSFITS_TABLE": "MysfitsTable",
}
# settings.json key -> the setting it gives.
SETTINGS_KEYS: dict[str, str] = {"backend": "MYSFITS_BACKEND", "table": "MYSFITS_TABLE"}

HEALTH_MESSAGE = "Mysfits service is up; this path is its health check. Try /mysfits."


def load_settings(
    config: Mapping[str, Any] | None = None, settings_file: Path = SETTINGS_FILE
) -> dict[str, Any]:
    """The service's settings: defaults < settings file < MYSFITS_* environment < `config`."""
    settings: dict[str, Any] = dict(DEFAULTS)
    settings.update(read_settings_file(settings_file))
    settings.update({key: os.environ[key] for key in DEFAULTS if os.environ.get(key)})
    settings.update(config or {})
    return settings


def read_settings_file(path: Path) -> dict[str, str]:
    """The MYSFITS_* settings a settings file gives; none when there is no file.

    A mistyped key or value fails at start-up, naming the file: a typo must not silently
    leave the service on the catalogue.
    """
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f'{path} must hold a JSON object such as {{"backend": "catalogue"}}')
    unknown = sorted(set(document) - set(SETTINGS_KEYS))
    if unknown:
        raise ValueError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; use {', '.join(SETTINGS_KEYS)}"
        )
    for key, value in document.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{path}: {key!r} must be a non-empty string, not {value!r}")
    return {SETTINGS_KEYS[key]: value.strip() for key, value in document.items()}


def create_app(
    config: Mapping[str, Any] | None = None, settings_file: Path = SETTINGS_FILE
) -> Flask:
    """Build the service. `config` overrides the environment, which overrides the file."""
    settings = load_settings(config, settings_file)

    app = Flask(__name__)
    app.config.update(settings)
    app.json.sort_keys = False  # keep the workshop's field order
    app.json.ensure_ascii = False  # descriptions carry typographic quotes
    # API Gateway and hand-typed URLs both use /mysfits/ now and then.
    app.url_map.strict_slashes = False
    # Wildcard CORS on every response, errors included: the site is served from another origin.
    # send_wildcard: flask-cors would otherwise echo the caller's Origin instead of "*".
    CORS(app, send_wildcard=True)

    backend = make_backend(settings)
    app.extensions["mysfits_backend"] = backend
    _register_routes(app, backend)
    _register_error_handlers(app)
    return app


def make_backend(settings: Mapping[str, Any]) -> Backend:
    """Create the configured backend; an unknown name fails at start-up, not per request."""
    kind = str(settings["MYSFITS_BACKEND"]).strip().lower()
    if kind == "catalogue":
        return CatalogueBackend(settings["MYSFITS_CATALOGUE"])
    if kind == "dynamodb":
        import boto3
        from botocore.config import Config

        # ECS sets AWS_REGION; plain boto3 only reads AWS_DEFAULT_REGION.
        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        # botocore waits 60 s to connect and retries 4 times: a request for a page would hang
        # for minutes on an unreachable endpoint. Fail within seconds with a 503 instead.
        config = Config(
            connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}
        )
        client = boto3.client("dynamodb", region_name=region, config=config)
        return DynamoDBBackend(str(settings["MYSFITS_TABLE"]), client=client)
    raise ValueError(
        f"MYSFITS_BACKEND (or 'backend' in settings.json) must be 'catalogue' or 'dynamodb', "
        f"not {kind!r}"
    )


def _allowed_filters() -> dict[str, list[str]]:
    return {name: list(values) for name, (_, values) in FILTERS.items()}


def _bad_filter(message: str) -> tuple[Response, int]:
    return jsonify(message=message, allowedFilters=_allowed_filters()), 400


def _register_routes(app: Flask, backend: Backend) -> None:
    @app.get("/")
    def health() -> Response:
        return jsonify(message=HEALTH_MESSAGE)

    @app.get("/mysfits")
    def list_mysfits() -> Response | tuple[Response, int]:
        # Empty parameters count as absent, so `?filter=&value=` lists everything.
        filter_name = request.args.get("filter") or None
        value = request.args.get("value") or None
        if filter_name is None and value is None:
            return jsonify(mysfits=backend.list_mysfits())
        names = ", ".join(FILTERS)
        if filter_name is None or value is None:
            return _bad_filter(f"'filter' and 'value' go together; filter is one of {names}")
        if filter_name not in FILTERS:
            return _bad_filter(f"Unknown filter {filter_name!r}; use one of {names}")
        allowed = FILTERS[filter_name][1]
        if value not in allowed:
            return _bad_filter(
                f"Unknown value {value!r} for {filter_name}; use one of {', '.join(allowed)}"
            )
        return jsonify(mysfits=backend.list_mysfits(filter_name, value))

    @app.get("/mysfits/<mysfit_id>")
    def get_mysfit(mysfit_id: str) -> Response:
        return jsonify(backend.get_mysfit(mysfit_id))

    @app.post("/mysfits/<mysfit_id>/like")
    def like(mysfit_id: str) -> Response:
        likes = backend.like(mysfit_id)
        return jsonify({"Update": "Success", "likes": likes})

    @app.post("/mysfits/<mysfit_id>/adopt")
    def adopt(mysfit_id: str) -> Response:
        backend.adopt(mysfit_id)
        return jsonify({"Update": "Success"})


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(MysfitNotFound)
    def not_found(error: MysfitNotFound) -> tuple[Response, int]:
        return jsonify(message=str(error), mysfitId=error.mysfit_id), 404

    @app.errorhandler(AlreadyAdopted)
    def conflict(error: AlreadyAdopted) -> tuple[Response, int]:
        return jsonify(message=str(error), mysfitId=error.mysfit_id), 409

    @app.errorhandler(BackendUnavailable)
    def unavailable(error: BackendUnavailable) -> Response:
        # The store's own words may name accounts and roles: they go to the log only.
        app.logger.warning("%s %s: %s (%s)", request.method, request.path, error, error.detail)
        response = jsonify(message=str(error), reason=error.reason)
        response.status_code = 503
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Start from werkzeug's response so headers such as Allow (on 405) survive.
        response = error.get_response()
        response.data = json.dumps({"message": error.description or error.name})
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> tuple[Response, int]:
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return jsonify(message="Internal server error"), 500


def main() -> None:
    """Serve with waitress on $HOST:$PORT (0.0.0.0:8080 in the container).

    Platforms that run several copies on one host (the lab's local cloud, Cloud Run) pass the
    address to listen on in HOST and PORT.
    """
    from waitress import serve

    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    serve(create_app(), host=host, port=port, threads=8, ident="mysfits-service")


if __name__ == "__main__":
    main()
