"""Start the service as the image does: the Dockerfile CMD under waitress, from a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from mysfits_lab.service_bundle import build_context
from tests.helpers import free_port
from tests.unit.service.running import get_json, serving


def test_dockerfile_cmd_serves_the_catalogue(tmp_path: Path) -> None:
    with serving(build_context(tmp_path / "context"), tmp_path / "images") as base:
        status, headers, body = get_json(f"{base}/mysfits")
        assert status == 200
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert len(body["mysfits"]) == 6
        assert body["mysfits"][0]["name"] == "Evangeline"

        status, _, body = get_json(f"{base}/mysfits/nope")
        assert status == 404
        assert "nope" in body["message"]


def test_the_settings_change_travels_in_the_image(tmp_path: Path) -> None:
    # Module 3's source change, and no MYSFITS_* variable anywhere: the image alone decides.
    context = build_context(tmp_path / "context")
    settings = {"backend": "dynamodb", "table": "mysfit-MysfitsTable"}
    (context / "app" / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    nowhere = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    with serving(context, tmp_path / "images", nowhere) as base:
        status, headers, body = get_json(f"{base}/mysfits")
        # It asked DynamoDB (which is not there) instead of reading its catalogue.
        assert status == 503
        assert body["reason"] == "unreachable"
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert get_json(f"{base}/")[0] == 200
