"""The service's build context: assembling it, zipping it, and reading its Dockerfile.

`build_context` is what both targets build from (docker on AWS, a snapshot on the local cloud);
`source_zip` is the same tree as a pipeline source; `dockerfile_spec` tells the local image
runtime how the container would start (WORKDIR, ENV, ENTRYPOINT/CMD, EXPOSE, USER).
"""

from __future__ import annotations

import io
import json
import posixpath
import shlex
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .paths import project_root

CATALOGUE_NAME = "catalogue.json"
# Build-context junk that must not change the zip (and so the pipeline's source version).
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", CATALOGUE_NAME)
# A fixed timestamp makes equal content give byte-identical zips.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def service_source() -> Path:
    """`assets/service/` of the project."""
    return project_root() / "assets" / "service"


def default_catalogue() -> Path:
    """The module-2 catalogue (6 mysfits)."""
    return project_root() / "data" / "mysfits-response.json"


def build_context(dest: Path, catalogue: Path | None = None) -> Path:
    """Copy the service into `dest` and add the catalogue as `app/catalogue.json`."""
    dest = Path(dest)
    source = service_source()
    if not (source / "Dockerfile").is_file():
        raise FileNotFoundError(f"No service Dockerfile under {source}")
    catalogue_text = _checked_catalogue(Path(catalogue) if catalogue else default_catalogue())
    shutil.copytree(source, dest, ignore=_IGNORED, dirs_exist_ok=True)
    (dest / "app").mkdir(parents=True, exist_ok=True)
    (dest / "app" / CATALOGUE_NAME).write_text(catalogue_text, encoding="utf-8")
    return dest


def source_zip(catalogue: Path | None = None) -> bytes:
    """The build context as zip bytes (paths relative to the context root, sorted)."""
    with tempfile.TemporaryDirectory(prefix="mysfits-context-") as tmp:
        root = build_context(Path(tmp) / "context", catalogue)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), _ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, path.read_bytes())
        return buffer.getvalue()


def _checked_catalogue(path: Path) -> str:
    # Fail while assembling, not when the container starts somewhere far away.
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("mysfits"), list):
        raise ValueError(f"{path}: a catalogue is an object with a 'mysfits' list")
    return text


# ---------------------------------------------------------------------------- Dockerfile


@dataclass(frozen=True)
class DockerfileSpec:
    """What the final stage of a Dockerfile says about running the image.

    Shell-form ENTRYPOINT/CMD/HEALTHCHECK are stored as ["/bin/sh", "-c", text], as Docker does.
    `copies` holds (sources, destination) per COPY/ADD, destinations absolute.
    """

    base_image: str | None = None
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    exposed_ports: list[int] = field(default_factory=list)
    user: str | None = None
    healthcheck: list[str] | None = None
    copies: list[tuple[list[str], str]] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        """The container's command line: ENTRYPOINT + CMD with Docker's shell-form rule."""
        if self.entrypoint:
            if self.entrypoint[:2] == ["/bin/sh", "-c"]:
                return list(self.entrypoint)  # shell-form ENTRYPOINT ignores CMD
            return [*self.entrypoint, *(self.cmd or [])]
        return list(self.cmd or [])

    def host_path(self, context: Path, container_path: str) -> Path | None:
        """Where `container_path` comes from in the build context, per the COPY lines.

        Later copies win, as they overwrite earlier ones. None when no copy explains the path.
        """
        target = posixpath.normpath(container_path)
        for sources, dest in reversed(self.copies):
            dest_norm = posixpath.normpath(dest)
            for source in sources:
                origin = Path(context) / source
                if origin.is_dir():
                    if target == dest_norm or target.startswith(dest_norm.rstrip("/") + "/"):
                        rest = posixpath.relpath(target, dest_norm)
                        return (origin / rest).resolve() if rest != "." else origin.resolve()
                else:
                    into_dir = dest.endswith("/") or len(sources) > 1
                    landed = posixpath.join(dest_norm, origin.name) if into_dir else dest_norm
                    if target == landed:
                        return origin.resolve()
        return None

    def host_workdir(self, context: Path) -> Path | None:
        """The build-context directory that becomes WORKDIR."""
        return self.host_path(context, self.workdir)


def dockerfile_spec(context: Path) -> DockerfileSpec:
    """Parse `context/Dockerfile`. Only the final build stage counts; ARG/${} are not expanded."""
    text = (Path(context) / "Dockerfile").read_text(encoding="utf-8")
    state: dict = _fresh_stage(None)
    for instruction, args in _instructions(text):
        if instruction == "FROM":
            state = _fresh_stage(args.split()[0] if args.split() else None)
        elif instruction == "WORKDIR":
            state["workdir"] = posixpath.normpath(posixpath.join(state["workdir"], args.strip()))
        elif instruction == "ENV":
            state["env"].update(_parse_env(args))
        elif instruction == "CMD":
            state["cmd"] = _command(args)
        elif instruction == "ENTRYPOINT":
            state["entrypoint"] = _command(args)
            state["cmd"] = None  # Docker resets an inherited CMD when ENTRYPOINT is set
        elif instruction == "EXPOSE":
            state["exposed_ports"].extend(int(p.split("/")[0]) for p in args.split())
        elif instruction == "USER":
            state["user"] = args.strip()
        elif instruction == "HEALTHCHECK":
            state["healthcheck"] = _healthcheck(args)
        elif instruction in ("COPY", "ADD"):
            state["copies"].append(_copy(args, state["workdir"]))
    return DockerfileSpec(**state)


def _fresh_stage(base_image: str | None) -> dict:
    return {
        "base_image": base_image,
        "workdir": "/",
        "env": {},
        "entrypoint": None,
        "cmd": None,
        "exposed_ports": [],
        "user": None,
        "healthcheck": None,
        "copies": [],
    }


def _instructions(text: str) -> list[tuple[str, str]]:
    """Split into (INSTRUCTION, arguments), joining backslash continuations, dropping comments."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continuation are skipped by Docker too
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            result.append((word.upper(), rest.strip()))
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def _json_list(args: str) -> list[str] | None:
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None  # Docker treats malformed JSON as shell form
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _command(args: str) -> list[str]:
    exec_form = _json_list(args)
    return exec_form if exec_form is not None else ["/bin/sh", "-c", args]


def _parse_env(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if words and "=" not in words[0]:
        # Legacy form `ENV KEY value with spaces`.
        return {words[0]: args.split(None, 1)[1].strip() if len(words) > 1 else ""}
    pairs: dict[str, str] = {}
    for word in words:
        key, _, value = word.partition("=")
        pairs[key] = value
    return pairs


def _healthcheck(args: str) -> list[str] | None:
    words = args.split()
    if words and words[0].upper() == "NONE":
        return None
    # Skip the --interval/--timeout/... options up to the CMD keyword.
    upper = args.upper()
    index = upper.find("CMD")
    while index > 0 and not args[index - 1].isspace():
        index = upper.find("CMD", index + 1)
    if index < 0:
        return None
    return _command(args[index + 3 :].strip())


def _copy(args: str, workdir: str) -> tuple[list[str], str]:
    parts = _json_list(args)
    if parts is None:
        parts = [w for w in shlex.split(args) if not w.startswith("--")]
    else:
        parts = [w for w in parts if not w.startswith("--")]
    *sources, dest = parts
    absolute = posixpath.join(workdir, dest)
    if dest.endswith("/") and not absolute.endswith("/"):
        absolute += "/"
    return sources, absolute
