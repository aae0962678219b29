"""``aws`` on the local cloud: only what buildspecs need to log docker in to ECR.

Supported: ``aws --version`` and ``aws ecr get-login-password [--region R]``. The token comes
from ECR's GetAuthorizationToken at ``--endpoint-url`` (else ``AWS_ENDPOINT_URL_ECR``, else
``AWS_ENDPOINT_URL``), called as the CLI calls it: a SigV4-signed JSON request with the
credentials of ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``. Signed with the standard library,
not botocore: a buildspec runs this once per build, and importing botocore takes longer than the
whole call. Anything else exits 1 with a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import platform
import sys
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from ._cloud import die, send

VERSION = "2.17.0"
_GLOBAL_WITH_VALUE = {
    "--region",
    "--profile",
    "--output",
    "--endpoint-url",
    "--query",
    "--color",
    "--cli-read-timeout",
    "--cli-connect-timeout",
    "--ca-bundle",
}
_GLOBAL_FLAGS = {
    "--no-cli-pager",
    "--no-paginate",
    "--debug",
    "--no-verify-ssl",
    "--no-sign-request",
    "--cli-auto-prompt",
    "--no-cli-auto-prompt",
}


def _split(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    words: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        name, has_value, value = word.partition("=")
        if name in _GLOBAL_WITH_VALUE:
            if not has_value:
                index += 1
                if index >= len(argv):
                    die(f"aws: error: argument {name}: expected one argument", 252)
                value = argv[index]
            options[name] = value
        elif word not in _GLOBAL_FLAGS:
            words.append(word)
        index += 1
    return options, words


def _credentials() -> tuple[str, str, str | None]:
    """(access key id, secret key, session token) from the environment, as a build has them."""
    key_id, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key_id or not secret:
        die(
            "Unable to locate credentials. You can configure credentials by running "
            '"aws configure".',
            253,
        )
    return key_id, secret, os.environ.get("AWS_SESSION_TOKEN")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _signed_headers(
    url: str, region: str, service: str, target: str, body: bytes
) -> dict[str, str]:
    """The headers of a SigV4-signed JSON-protocol POST of ``body`` to ``url``."""
    key_id, secret, token = _credentials()
    now = datetime.now(UTC)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    where = urllib.parse.urlsplit(url)
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": where.netloc,
        "x-amz-date": stamp,
        "x-amz-target": target,
    } | ({"x-amz-security-token": token} if token else {})
    names = sorted(headers)
    canonical = "\n".join(
        ["POST", where.path or "/", ""]
        + [f"{name}:{headers[name]}" for name in names]
        + ["", ";".join(names), hashlib.sha256(body).hexdigest()]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    key = b"AWS4" + secret.encode()
    for part in (day, region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = _hmac(key, f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}").hex()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature}"
    )
    return headers


def _ecr_call(endpoint: str, region: str, operation: str) -> dict[str, Any]:
    """The JSON answer of an ECR operation without parameters; the AWS CLI's message and exit
    status when it fails."""
    url, body = endpoint.rstrip("/") + "/", b"{}"
    target = f"AmazonEC2ContainerRegistry_V20150921.{operation}"
    headers = _signed_headers(url, region, "ecr", target, body)
    try:
        status, answer = send("POST", url, body, headers, timeout=60)
    except OSError:
        die(f'\nCould not connect to the endpoint URL: "{url}"', 255)
    try:
        found = json.loads(answer or b"{}")
    except json.JSONDecodeError:
        found = {}
    if status == 200:
        return found
    code = str(found.get("__type", f"HTTP{status}")).rpartition("#")[2]
    message = found.get("message") or found.get("Message") or f"HTTP {status}"
    die(f"\nAn error occurred ({code}) when calling the {operation} operation: {message}", 254)


def get_login_password(options: dict[str, str]) -> None:
    region = (
        options.get("--region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
    )
    if not region:
        die(
            "You must specify a region. You can also configure your region by running "
            '"aws configure".',
            253,
        )
    endpoint = (
        options.get("--endpoint-url")
        or os.environ.get("AWS_ENDPOINT_URL_ECR")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    if not endpoint:
        die(
            "the local cloud's aws shim needs the local cloud's URL in AWS_ENDPOINT_URL (or "
            "--endpoint-url); CodeBuild builds on the local cloud set it"
        )
    data = _ecr_call(endpoint, region, "GetAuthorizationToken")["authorizationData"][0]
    token = base64.b64decode(data["authorizationToken"]).decode()
    print(token.partition(":")[2])


def main(argv: list[str] | None = None) -> None:
    options, words = _split(list(sys.argv[1:] if argv is None else argv))
    if "--version" in words:
        print(
            f"aws-cli/{VERSION} Python/{platform.python_version()} "
            f"{platform.system()}/{platform.release()} mysfits-lab-local-cloud-shim"
        )
        return
    if words[:2] == ["ecr", "get-login-password"]:
        get_login_password(options)
        return
    if words[:2] == ["ecr", "get-login"]:
        die(
            "aws ecr get-login was removed in AWS CLI v2: use `aws ecr get-login-password | "
            "docker login --username AWS --password-stdin <registry>`",
            252,
        )
    command = " ".join(words[:2]) or "(no command)"
    die(
        f"aws {command}: not supported by the local cloud's aws shim (supported: "
        "ecr get-login-password, --version); call the API from Python with boto3 instead"
    )


if __name__ == "__main__":
    main()
