"""Container images on the local cloud: a Dockerfile interpreted into a snapshot of its context.

There is no container engine on the local cloud. Building an image copies what the Dockerfile's
COPY/ADD lines would put into the container's filesystem into a snapshot folder, and records the
image config (WORKDIR, ENV, ENTRYPOINT/CMD, EXPOSE, USER, HEALTHCHECK, ...). RUN lines are not
executed: a local task runs the image's command with the cloud's own Python, so each
``pip install -r FILE`` is checked against that interpreter instead, and the build fails when a
requirement is missing there. The digest is a hash of the snapshot's files and config, so equal
content gives an equal digest, as a reproducible Docker build would.

The modules: ``references.py`` (image names), ``dockerfile.py`` (Dockerfile text),
``context.py`` (the build context and ``.dockerignore``), ``requirements.py`` (``pip install``
checks), ``builder.py`` (the interpreter and the digest) and this one (the images, their local
names and ``docker push`` to ECR).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .builder import Interpreter, Progress, snapshot_digest
from .dockerfile import parse_dockerfile
from .errors import BuildError, PushError
from .references import Reference, parse_reference

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
_SHORT_ID = re.compile(r"^(?:sha256:)?([0-9a-f]{4,64})$")


@dataclass(frozen=True)
class Image:
    """A built image: its config, and its container filesystem as a folder on this machine.

    ``entrypoint``/``cmd``/``healthcheck`` are argv lists; shell forms are stored as
    ``["/bin/sh", "-c", "<text>"]`` (or the Dockerfile's SHELL), as Docker stores them.
    ``env`` holds only what the Dockerfile's ENV lines set, not the base image's variables.
    """

    digest: str
    root: Path
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    exposed_ports: list[int] = field(default_factory=list)
    user: str | None = None
    healthcheck: list[str] | None = None
    base_image: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    stop_signal: str | None = None
    run: list[str] = field(default_factory=list)  # RUN lines, recorded but not executed
    size: int = 0  # bytes of file content in the snapshot
    created: str = ""

    @property
    def id(self) -> str:
        """The short id ``docker images`` shows."""
        return self.digest.split(":", 1)[1][:12]

    def host_path(self, container_path: str) -> Path:
        """Where a container path lives in the snapshot (relative paths start at WORKDIR)."""
        normalized = posixpath.normpath(posixpath.join(self.workdir, container_path))
        return self.root / normalized.lstrip("/")

    def command(self) -> list[str]:
        """The container's argv: ENTRYPOINT followed by CMD, as Docker combines them."""
        return [*self.entrypoint, *self.cmd]

    def config(self) -> dict[str, Any]:
        """Everything that defines the image except where its files are (hashed into the digest)."""
        data = asdict(self)
        for key in ("digest", "root", "size", "created"):
            data.pop(key)
        return data

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "root": str(self.root), "id": self.id, "command": self.command()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], root: Path) -> Image:
        known = {f for f in cls.__dataclass_fields__ if f != "root"}
        return cls(root=root, **{k: v for k, v in data.items() if k in known})


RegistryLookup = Callable[[Reference], str]
"""Given an ECR reference, the digest ECR holds for it (raises LookupError when none)."""


# The docker daemon of the cloud itself. Each CodeBuild build has a daemon of its own, as on
# AWS: its local tags are its own, so two builds that both tag ``app:build`` never see each
# other's image (snapshots are shared by digest).
CLOUD_DAEMON = ""


def _key(reference: str, daemon: str) -> str:
    return f"{daemon} {reference}" if daemon else reference  # a reference has no space


class ImageStore:
    """Snapshots under ``root/sha256/<hex>/rootfs``, local tags in ``root/refs.json``.

    Thread-safe: builds work in private folders and only take the lock to publish.
    """

    def __init__(self, root: Path, registry: RegistryLookup | None = None):
        self.root = Path(root)
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        self.registry = registry
        self._lock = threading.RLock()
        self._images: dict[str, Image] = {}
        self._refs: dict[str, str] = {}
        self._load()

    def _load(self) -> None:
        for meta in (self.root / "sha256").glob("*/image.json"):
            image = Image.from_dict(json.loads(meta.read_text()), meta.parent / "rootfs")
            self._images[image.digest] = image
        refs = self.root / "refs.json"
        if refs.is_file():
            self._refs = {
                k: v for k, v in json.loads(refs.read_text()).items() if v in self._images
            }

    def _save_refs(self) -> None:
        path = self.root / "refs.json"
        temporary = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        temporary.write_text(json.dumps(self._refs, indent=2, sort_keys=True))
        temporary.replace(path)

    # -- building -------------------------------------------------------------------------
    def build(
        self,
        context: Path,
        dockerfile: str = "Dockerfile",
        *,
        tags: Iterable[str] = (),
        build_args: Mapping[str, str] | None = None,
        progress: Progress | None = None,
        daemon: str = CLOUD_DAEMON,
    ) -> Image:
        """Interpret ``context/dockerfile`` (an absolute ``dockerfile`` may live elsewhere)."""
        say = progress or (lambda _line: None)
        references = [parse_reference(tag) for tag in tags]  # fail before any work
        context = Path(context).resolve()
        if not context.is_dir():
            raise BuildError(f"unable to prepare context: path {str(context)!r} not found")
        dockerfile_path = context / dockerfile
        if not dockerfile_path.is_file():
            raise BuildError(
                f"failed to read dockerfile: open {dockerfile_path}: no such file or directory"
            )
        instructions, escape = parse_dockerfile(dockerfile_path.read_text(encoding="utf-8"))
        workspace = self.root / "tmp" / uuid.uuid4().hex
        rootfs = workspace / "rootfs"
        rootfs.mkdir(parents=True)
        try:
            interpreter = Interpreter(context, dockerfile_path, rootfs, build_args or {}, say)
            config = interpreter.run(instructions, escape)
            digest, size = snapshot_digest(rootfs, config)
            image = self._publish(workspace, digest, size, config)
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        say(f"Successfully built {image.id}")
        for reference in references:
            self._set_ref(reference, image.digest, daemon)
            say(f"Successfully tagged {reference}")
        return image

    def _publish(self, workspace: Path, digest: str, size: int, config: dict[str, Any]) -> Image:
        with self._lock:
            existing = self._images.get(digest)
            final = self.root / "sha256" / digest.split(":", 1)[1]
            if existing is not None and final.is_dir():
                return existing  # same content built before: one snapshot serves both
            created = datetime.now(UTC).isoformat(timespec="seconds")
            image = Image(
                digest=digest, root=final / "rootfs", size=size, created=created, **config
            )
            meta = image.to_dict()
            for key in ("root", "id", "command"):
                meta.pop(key)
            (workspace / "image.json").write_text(json.dumps(meta, indent=2))
            shutil.rmtree(final, ignore_errors=True)
            workspace.rename(final)
            self._images[digest] = image
            return image

    # -- references -------------------------------------------------------------------------
    def _set_ref(self, reference: Reference, digest: str, daemon: str) -> None:
        with self._lock:
            self._refs[_key(str(reference), daemon)] = digest
            self._save_refs()

    def tag(self, source_ref: str, target_ref: str, daemon: str = CLOUD_DAEMON) -> Image:
        """``docker tag``: another name for a local image."""
        image = self.local(source_ref, daemon)
        self._set_ref(parse_reference(target_ref), image.digest, daemon)
        return image

    def get(self, digest: str) -> Image:
        with self._lock:
            image = self._images.get(digest)
        if image is None:
            raise LookupError(f"no image with digest {digest} in the local cloud's image store")
        return image

    def local(self, ref: str, daemon: str = CLOUD_DAEMON) -> Image:
        """An image by local name (of ``daemon``), id or digest, as ``docker tag``/``docker
        push`` find them."""
        text = ref.strip()
        with self._lock:
            try:
                reference = parse_reference(text)
            except ValueError:
                reference = None
            if reference is not None and reference.digest:
                if reference.digest in self._images:
                    return self._images[reference.digest]
            elif reference is not None and _key(str(reference), daemon) in self._refs:
                return self._images[self._refs[_key(str(reference), daemon)]]
            short = _SHORT_ID.match(text)
            if short:
                found = [d for d in self._images if d.split(":", 1)[1].startswith(short[1])]
                if len(found) == 1:
                    return self._images[found[0]]
        if reference is None:
            raise LookupError(f"invalid reference format: {ref!r}")
        raise LookupError(f"No such image: {reference}")

    def resolve(self, image_uri_or_ref: str) -> Image:
        """The image a task definition names: ECR URIs are looked up in ECR (tag or digest),
        other references among the local images."""
        try:
            reference = parse_reference(image_uri_or_ref)
        except ValueError as exc:
            raise LookupError(str(exc)) from None
        if reference.ecr and self.registry is not None:
            digest = self.registry(reference)
            try:
                return self.get(digest)
            except LookupError:
                raise LookupError(
                    f"{reference}: ECR holds {digest}, but its content is not in this local "
                    "cloud's image store (only images pushed with the docker shim can run)"
                ) from None
        return self.local(image_uri_or_ref)

    def list(self, daemon: str = CLOUD_DAEMON) -> list[dict[str, Any]]:
        """Every image with its local names in ``daemon``, newest first."""
        with self._lock:
            names: dict[str, list[str]] = {}
            for key, digest in sorted(self._refs.items()):
                owner, _, ref = key.rpartition(" ")
                if owner == daemon:
                    names.setdefault(digest, []).append(ref)
            images = sorted(self._images.values(), key=lambda i: i.created, reverse=True)
            return [
                {
                    "id": i.id,
                    "digest": i.digest,
                    "refs": names.get(i.digest, []),
                    "created": i.created,
                    "size": i.size,
                    "workdir": i.workdir,
                    "command": i.command(),
                    "root": str(i.root),
                }
                for i in images
            ]

    # -- ECR ------------------------------------------------------------------------------
    @staticmethod
    def manifest(image: Image) -> str:
        """A Docker v2 schema-2 manifest whose config digest is the snapshot digest."""
        config_size = len(json.dumps(image.config(), sort_keys=True))
        layer = "sha256:" + hashlib.sha256(f"layer {image.digest}".encode()).hexdigest()
        return json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": DOCKER_CONFIG, "size": config_size, "digest": image.digest},
                "layers": [{"mediaType": DOCKER_LAYER, "size": image.size, "digest": layer}],
            },
            sort_keys=True,
        )

    def push(self, ref: str, ecr_client: Any, daemon: str = CLOUD_DAEMON) -> str:
        """``docker push`` to ECR: records the image in the repository; returns its digest."""
        from botocore.exceptions import ClientError

        try:
            reference = parse_reference(ref)
        except ValueError as exc:
            raise PushError(str(exc)) from None
        if reference.digest:
            raise PushError(f"cannot push a digest reference: {ref} (push a tag)")
        try:
            image = self.local(str(reference), daemon)
        except LookupError:
            raise PushError(
                f"An image does not exist locally with the tag: {reference.name}"
            ) from None
        if not reference.ecr:
            raise PushError(
                f"denied: requested access to the resource is denied ({reference.name}: the local "
                "cloud only hosts ECR registries, <account>.dkr.ecr.<region>.amazonaws.com)"
            )
        account = reference.ecr[0]
        repository = reference.repository
        try:
            ecr_client.describe_repositories(registryId=account, repositoryNames=[repository])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "RepositoryNotFoundException":
                raise PushError(
                    f"name unknown: The repository with name '{repository}' does not "
                    f"exist in the registry with id '{account}'"
                ) from None
            raise PushError(f"push failed: {exc}") from None
        try:
            ecr_client.put_image(
                registryId=account,
                repositoryName=repository,
                imageTag=reference.tag,
                imageManifest=self.manifest(image),
                imageManifestMediaType=DOCKER_MANIFEST,
                imageDigest=image.digest,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in (
                "ImageAlreadyExistsException",
                "ImageTagAlreadyExistsException",
            ):
                raise PushError(f"push failed: {exc}") from None
            # Pushing the same image again is fine; an immutable tag on another image is not.
            found = ecr_client.describe_images(
                registryId=account,
                repositoryName=repository,
                imageIds=[{"imageTag": reference.tag}],
            )
            if found["imageDetails"][0]["imageDigest"] != image.digest:
                raise PushError(
                    f"tag invalid: The image tag '{reference.tag}' already exists in the "
                    f"'{repository}' repository and cannot be overwritten because the "
                    "repository is immutable."
                ) from None
        self._set_ref(reference, image.digest, daemon)
        return image.digest
