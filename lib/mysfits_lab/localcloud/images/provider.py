"""The image store as a provider (``ctx.provider(ImagesProvider).store``), and the control
routes the docker shim uses.

Routes under ``/_localcloud/images``:
- ``GET  /_localcloud/images`` — every image with its local names
- ``GET  /_localcloud/images/resolve?ref=REF`` — the image a task would run (ECR URIs via ECR)
- ``POST /_localcloud/images/build`` ``{context, dockerfile?, tags?, build_args?}``
- ``POST /_localcloud/images/tag`` ``{source, target}``
- ``POST /_localcloud/images/login`` ``{registry, username, password}``
- ``POST /_localcloud/images/push`` ``{ref, username?, password?}``
Failures answer 400 (404 for unknown images) with ``{"message": <what docker would print>}``.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.wrappers import Request, Response

from ..core.provider import Context, Provider
from ..edge import ControlRule
from .errors import ImageError
from .references import Reference, ecr_registry, parse_reference, registry_host
from .store import CLOUD_DAEMON, Image, ImageStore

log = logging.getLogger("mysfits_lab.localcloud.images")


def _daemon(body: dict[str, Any]) -> str:
    """Whose docker sent the request: a build's id, or the cloud's own daemon."""
    daemon = body.get("daemon", CLOUD_DAEMON)
    if not isinstance(daemon, str) or " " in daemon:
        raise ValueError(f"not a docker daemon id: {daemon!r}")
    return daemon


def _error(message: str, status: int = 400, **extra: Any) -> Response:
    return Response(json.dumps({"message": message, **extra}), status, mimetype="application/json")


class ImagesProvider(Provider):
    name = "images"

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.store = ImageStore(self.workdir(), registry=self._ecr_digest)

    def resolve(self, image_uri_or_ref: str) -> Image:
        """The image a task would run (LookupError when there is none)."""
        return self.store.resolve(image_uri_or_ref)

    def control(self) -> list[ControlRule]:
        return [
            ControlRule("", self._list),
            ControlRule("/resolve", self._resolve),
            ControlRule("/<action>", self._act, ("POST",)),
        ]

    # -- ECR --------------------------------------------------------------------------------
    def _ecr(self, region: str) -> Any:
        return self.ctx.client("ecr", region)

    def _ecr_digest(self, reference: Reference) -> str:
        """What ECR holds for an ECR reference — the registry, not local tags, is the truth."""
        if reference.ecr is None:
            raise LookupError(f"{reference}: not an ECR reference")
        account, region = reference.ecr
        image_id = (
            {"imageDigest": reference.digest} if reference.digest else {"imageTag": reference.tag}
        )
        try:
            found = self._ecr(region).describe_images(
                registryId=account, repositoryName=reference.repository, imageIds=[image_id]
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "RepositoryNotFoundException":
                raise LookupError(
                    f"{reference}: not found: the repository "
                    f"'{reference.repository}' does not exist in ECR"
                ) from None
            if code == "ImageNotFoundException":
                what = reference.digest or f"tag '{reference.tag}'"
                raise LookupError(
                    f"{reference}: not found: ECR repository "
                    f"'{reference.repository}' has no image with {what}"
                ) from None
            raise
        return found["imageDetails"][0]["imageDigest"]

    def check_login(self, registry: str, username: str, password: str) -> str:
        """Raise ImageError unless the credentials are the local ECR's; returns the host."""
        host = registry_host(registry)
        ecr = ecr_registry(host)
        if ecr is None:
            raise ImageError(
                f'Error response from daemon: Get "https://{host}/v2/": the local '
                "cloud only hosts ECR registries "
                "(<account>.dkr.ecr.<region>.amazonaws.com)"
            )
        account, region = ecr
        data = self._ecr(region).get_authorization_token(registryIds=[account])
        token = base64.b64decode(data["authorizationData"][0]["authorizationToken"]).decode()
        expected_user, _, expected_password = token.partition(":")
        if not password or (username, password) != (expected_user, expected_password):
            raise ImageError(
                f"Error response from daemon: login attempt to https://{host}/v2/ "
                "failed with status: 400 Bad Request"
            )
        return host

    # -- routes -----------------------------------------------------------------------------
    def _list(self, request: Request) -> Any:
        return {"images": self.store.list(request.args.get("daemon", CLOUD_DAEMON))}

    def _resolve(self, request: Request) -> Any:
        ref, daemon = request.args.get("ref", ""), request.args.get("daemon", CLOUD_DAEMON)
        if daemon:  # a build's docker knows its own tags (and ECR only by pulling)
            return self.store.local(ref, daemon).to_dict()  # LookupError → 404
        return self.store.resolve(ref).to_dict()

    def _act(self, request: Request, action: str) -> Any:
        body = request.get_json(silent=True) or {}
        handler = {
            "build": self._build,
            "tag": self._tag,
            "login": self._login,
            "push": self._push,
        }.get(action)
        if handler is None:
            return _error(f"no images endpoint {action!r}", 404)
        lines: list[str] = []
        try:
            return handler(body, lines)
        except (ImageError, ValueError) as exc:
            return _error(str(exc), lines=lines)
        except LookupError as exc:
            return _error(str(exc), 404, lines=lines)

    def _build(self, body: dict[str, Any], lines: list[str]) -> dict[str, Any]:
        context = body.get("context")
        if not context:
            raise ImageError('"docker build" requires exactly 1 argument: the build context')
        image = self.store.build(
            Path(context),
            body.get("dockerfile") or "Dockerfile",
            tags=body.get("tags") or [],
            build_args=body.get("build_args") or {},
            progress=lines.append,
            daemon=_daemon(body),
        )
        log.info("built image %s from %s", image.id, context)
        return {"image": image.to_dict(), "lines": lines}

    def _tag(self, body: dict[str, Any], lines: list[str]) -> dict[str, Any]:
        image = self.store.tag(body.get("source", ""), body.get("target", ""), _daemon(body))
        return {"image": image.to_dict(), "lines": lines}

    def _login(self, body: dict[str, Any], lines: list[str]) -> dict[str, Any]:
        host = self.check_login(
            body.get("registry", ""), body.get("username", ""), body.get("password", "")
        )
        return {"registry": host, "message": "Login Succeeded"}

    def _push(self, body: dict[str, Any], lines: list[str]) -> dict[str, Any]:
        reference = parse_reference(body.get("ref", ""))
        lines.append(f"The push refers to repository [{reference.name}]")
        if reference.ecr:
            if not body.get("password"):
                raise ImageError("no basic auth credentials")
            self.check_login(reference.registry or "", body.get("username", ""), body["password"])
        region = reference.ecr[1] if reference.ecr else self.ctx.region
        digest = self.store.push(str(reference), self._ecr(region), _daemon(body))
        image = self.store.get(digest)
        lines.append(f"{image.id}: Pushed")
        lines.append(f"{reference.tag}: digest: {digest} size: {len(self.store.manifest(image))}")
        log.info("pushed %s (%s)", reference, digest)
        return {"digest": digest, "lines": lines}

    def status(self) -> dict[str, Any]:
        return {"images": len(self.store.list())}
