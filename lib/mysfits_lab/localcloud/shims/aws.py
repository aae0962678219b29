"""``aws`` on the local cloud: only what buildspecs need to log docker in to ECR.

Supported: ``aws --version`` and ``aws ecr get-login-password [--region R]``. The token comes
from the local ECR's GetAuthorizationToken through boto3, which reads the endpoint from
``AWS_ENDPOINT_URL`` (or ``--endpoint-url``). Anything else exits 1 with a message.
"""

from __future__ import annotations

import base64
import os
import platform
import sys

from ._cloud import die

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


def get_login_password(options: dict[str, str]) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

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
    client = boto3.client("ecr", region_name=region, endpoint_url=options.get("--endpoint-url"))
    try:
        data = client.get_authorization_token()["authorizationData"][0]
    except (BotoCoreError, ClientError) as exc:
        die(f"\nAn error occurred: {exc}", 254)
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
