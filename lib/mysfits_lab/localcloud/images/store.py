"""Container images on the local cloud: a Dockerfile interpreted into a snapshot of its context.

There is no container engine on the local cloud. Building an image copies what the Dockerfile's
COPY/ADD lines would put into the container's filesystem into a snapshot folder, and records the
image config (WORKDIR, ENV, ENTRYPOINT/CMD, EXPOSE, USER, HEALTHCHECK, ...). RUN lines are not
executed: a local task runs the image's command with the cloud's own Python, so each
``pip install -r FILE`` is checked against that interpreter instead, and the build fails when a
requirement is missing there. The digest is a hash of the snapshot's files and config, so equal
content gives an equal digest, as a reproducible Docker build would.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import posixpath
import re
import shlex
import shutil
import sys
import tarfile
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# The PATH of every official base image; only used to expand "$PATH" in ENV lines.
_BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SHORT_ID = re.compile(r"^(?:sha256:)?([0-9a-f]{4,64})$")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")

Progress = Callable[[str], None]


class ImageError(Exception):
    """A docker-like failure; the message is what the docker CLI would print."""


class BuildError(ImageError):
    pass


class PushError(ImageError):
    pass


# ----------------------------------------------------------------------------- references


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: ``[registry/]repository[:tag][@digest]``."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def ecr(self) -> tuple[str, str] | None:
        """(account, region) when the registry is an ECR registry."""
        match = _ECR_HOST.match(self.registry or "")
        return (match["account"], match["region"]) if match else None

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}"


def parse_reference(text: str) -> Reference:
    """Parse like the docker CLI; a reference without tag or digest means ``:latest``."""
    text = text.strip()
    name, digest = text, None
    if "@" in text:
        name, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise ValueError(f"invalid reference format: {text!r} (bad digest)")
    tag = None
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise ValueError(f"invalid reference format: {text!r} (bad tag)")
    registry, repository = None, name
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first.lower(), rest
    if not _REPOSITORY.match(repository):
        if repository.lower() != repository and _REPOSITORY.match(repository.lower()):
            raise ValueError(
                f"invalid reference format: repository name ({repository}) must be lowercase"
            )
        raise ValueError(f"invalid reference format: {text!r}")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry, repository, tag, digest)


def registry_host(text: str) -> str:
    """``https://host/v2/`` or ``host`` → ``host`` (how ``docker login`` names registries)."""
    host = re.sub(r"^[a-z]+://", "", text.strip())
    return host.split("/", 1)[0].lower()


def ecr_registry(host: str) -> tuple[str, str] | None:
    match = _ECR_HOST.match(host)
    return (match["account"], match["region"]) if match else None


# ----------------------------------------------------------------------------- the image


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


# ----------------------------------------------------------------------------- Dockerfile text


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str

    @property
    def text(self) -> str:
        return f"{self.keyword} {self.args}".strip()


def parse_dockerfile(text: str) -> tuple[list[Instruction], str]:
    """Split a Dockerfile into instructions (continuations joined, comments dropped).

    Returns the instructions and the escape character (the ``# escape=`` parser directive).
    """
    escape = "\\"
    lines = text.splitlines()
    # Parser directives are comments of the form "# key=value" before anything else.
    for raw in lines:
        match = re.match(r"^\s*#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$", raw)
        if not match:
            break
        if match[1].lower() == "escape" and match[2] in ("\\", "`"):
            escape = match[2]
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (pending and not stripped):
            continue  # comments and blank lines inside a continuation are skipped too
        if not pending:
            if not stripped:
                continue
            start = number
        if stripped.endswith(escape):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        instructions.append(_instruction(start, " ".join(p.strip() for p in pending)))
        pending = []
    if pending:
        instructions.append(_instruction(start, " ".join(p.strip() for p in pending)))
    return instructions, escape


def _instruction(line: int, full: str) -> Instruction:
    keyword, _, args = full.strip().partition(" ")
    return Instruction(line, keyword.upper(), args.strip())


def _exec_form(args: str) -> list[str] | None:
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None  # Docker falls back to the shell form
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes for `process_word`."""
    words: list[str] = []
    current: list[str] = []
    quote: str | None = None
    in_word = False
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            current.append(char)
            if char == quote:
                quote = None
            elif char == escape and quote == '"' and index + 1 < len(text):
                current.append(text[index + 1])
                index += 1
        elif char == escape and index + 1 < len(text):
            current.extend((char, text[index + 1]))
            in_word = True
            index += 1
        elif char in "'\"":
            quote = char
            current.append(char)
            in_word = True
        elif char.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
        index += 1
    if in_word:
        words.append("".join(current))
    return words


_VARIABLE = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def process_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Remove quotes, resolve escapes and expand ``$VAR``/``${VAR:-default}`` as Docker does."""
    out: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(word):
        char = word[index]
        if quote == "'":
            if char == "'":
                quote = None
            else:
                out.append(char)
            index += 1
            continue
        if char == escape and index + 1 < len(word):
            following = word[index + 1]
            if quote == '"' and following not in '"$`' + escape:
                out.append(char)
            out.append(following)
            index += 2
            continue
        if char == "'" and quote is None:
            quote = "'"
        elif char == '"':
            quote = None if quote == '"' else '"'
        elif char == "$" and (match := _VARIABLE.match(word, index)):
            out.append(_substitute(match, env, escape))
            index = match.end()
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)


def _substitute(match: re.Match[str], env: Mapping[str, str], escape: str) -> str:
    name = match["plain"] or match["braced"]
    value = env.get(name)
    op = match["op"]
    if not op:
        return value or ""
    alternative = process_word(match["word"] or "", env, escape)
    if op == ":-":
        return value if value else alternative
    if op == "-":
        return value if value is not None else alternative
    if op == ":+":
        return alternative if value else ""
    return alternative if value is not None else ""  # "+"


# ----------------------------------------------------------------------------- .dockerignore


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A Go filepath.Match pattern (plus ``**``) as a regex over slash-separated paths."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):
                index += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end].replace("\\", "\\\\")
                if body.startswith("^"):
                    body = "!" + body[1:]
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                index = end
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("^" + "".join(out) + "$")


def _has_glob(path: str) -> bool:
    return any(c in path for c in "*?[")


class DockerIgnore:
    """The context's exclusion rules; the last matching rule wins, ``!`` re-includes."""

    def __init__(self, lines: Iterable[str] = ()):
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
            if pattern in ("", "."):
                continue
            self.rules.append((include, _glob_regex(pattern)))

    @classmethod
    def for_build(cls, context: Path, dockerfile: Path) -> DockerIgnore:
        # BuildKit prefers <Dockerfile>.dockerignore next to the Dockerfile.
        for candidate in (
            dockerfile.with_name(dockerfile.name + ".dockerignore"),
            context / ".dockerignore",
        ):
            if candidate.is_file():
                return cls(candidate.read_text(encoding="utf-8").splitlines())
        return cls()

    def excluded(self, relative: str) -> bool:
        if not self.rules or relative in ("", "."):
            return False
        parts = relative.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for include, regex in self.rules:
            # A rule matching a parent folder applies to everything inside it.
            if any(regex.match(prefix) for prefix in prefixes):
                result = not include
        return result


# ----------------------------------------------------------------------------- requirements


@dataclass
class _RequirementCheck:
    satisfied: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)


_PIP_VALUE_OPTIONS = {
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--trusted-host",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--progress-bar",
    "--cache-dir",
    "--src",
    "--upgrade-strategy",
    "--only-binary",
    "--no-binary",
    "--log",
    "--proxy",
    "--retries",
    "--timeout",
    "--global-option",
    "--install-option",
    "--config-settings",
    "-C",
    "--report",
}


def _is_pip(words: list[str]) -> int | None:
    """Index of the word after ``install`` when ``words`` is a pip install command."""
    for index, word in enumerate(words):
        base = posixpath.basename(word)
        if re.fullmatch(r"pip[0-9.]*", base):
            after = index + 1
        elif re.fullmatch(r"python[0-9.]*", base) and words[index + 1 : index + 3] == ["-m", "pip"]:
            after = index + 3
        else:
            continue
        rest = [w for w in words[after:] if not w.startswith("-")]
        if rest and rest[0] == "install":
            return words.index("install", after) + 1
        return None
    return None


def _pip_arguments(words: list[str]) -> tuple[list[str], list[str]]:
    """(requirement files, direct requirement specifiers) of a pip install command line."""
    files: list[str] = []
    specs: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in ("-r", "--requirement") and index + 1 < len(words):
            files.append(words[index + 1])
            index += 2
            continue
        if word.startswith("--requirement="):
            files.append(word.split("=", 1)[1])
        elif word.startswith("-r") and len(word) > 2:
            files.append(word[2:])
        elif word in ("-e", "--editable", "-c", "--constraint") or word in _PIP_VALUE_OPTIONS:
            index += 1  # skip the option's value
        elif not word.startswith("-"):
            specs.append(word)
        index += 1
    return files, specs


def _requirement_lines(path: Path, seen: set[Path] | None = None) -> list[str]:
    seen = seen if seen is not None else set()
    if path in seen:
        return []
    seen.add(path)
    text = path.read_text(encoding="utf-8").replace("\\\n", "")
    lines: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        line = re.split(r"\s+--?[a-zA-Z]", line, maxsplit=1)[0]  # per-line options (--hash=...)
        if not line:
            continue
        nested = re.match(r"^(?:-r|--requirement)[\s=]*(\S+)$", line)
        if nested:
            lines.extend(_requirement_lines(path.parent / nested[1], seen))
        elif not line.startswith("-"):
            lines.append(line)
    return lines


def check_requirements(specs: Iterable[str]) -> _RequirementCheck:
    """Compare requirement specifiers with what this interpreter has installed."""
    from packaging.requirements import InvalidRequirement, Requirement

    result = _RequirementCheck()
    for spec in specs:
        try:
            requirement = Requirement(spec)
        except InvalidRequirement:
            result.unchecked.append(spec)  # a path, URL or VCS link: nothing to compare
            continue
        if requirement.marker and not requirement.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            result.missing.append(str(requirement))
            continue
        wanted = requirement.specifier
        if wanted and not wanted.contains(installed, prereleases=True):
            result.mismatched.append(f"{requirement.name} {installed} (wanted {requirement})")
        else:
            result.satisfied.append(f"{requirement.name} {installed}")
    return result


# ----------------------------------------------------------------------------- the interpreter


class _Interpreter:
    """Executes a Dockerfile against a fresh snapshot folder."""

    def __init__(
        self,
        context: Path,
        dockerfile: Path,
        rootfs: Path,
        build_args: Mapping[str, str],
        progress: Progress,
    ):
        self.context, self.dockerfile, self.rootfs = context, dockerfile, rootfs
        self.build_args = dict(build_args)
        self.progress = progress
        self.ignore = DockerIgnore.for_build(context, dockerfile)
        self.escape = "\\"
        self.stage_started = False
        self.global_args: dict[str, str] = {}
        self.args: dict[str, str] = {}
        self.shell = ["/bin/sh", "-c"]
        self.config: dict[str, Any] = {
            "workdir": "/",
            "env": {},
            "entrypoint": [],
            "cmd": [],
            "exposed_ports": [],
            "user": None,
            "healthcheck": None,
            "base_image": None,
            "labels": {},
            "volumes": [],
            "stop_signal": None,
            "run": [],
        }
        self.current: Instruction | None = None

    # -- helpers ------------------------------------------------------------------------
    def fail(self, message: str) -> BuildError:
        name = self.dockerfile.name
        where = f"{name}:{self.current.line}" if self.current else name
        return BuildError(f"{where}: {message}")

    @property
    def variables(self) -> dict[str, str]:
        # ENV wins over ARG, as in Docker.
        return {"PATH": _BASE_PATH, **self.args, **self.config["env"]}

    def words(self, args: str) -> list[str]:
        variables = self.variables
        return [process_word(w, variables, self.escape) for w in split_words(args, self.escape)]

    def word(self, args: str) -> str:
        return process_word(args.strip(), self.variables, self.escape)

    def container_path(self, path: str) -> str:
        joined = posixpath.normpath(posixpath.join(self.config["workdir"], path))
        return joined if joined.startswith("/") else "/" + joined

    def host(self, container_path: str) -> Path:
        return self.rootfs / container_path.lstrip("/")

    def command_form(self, args: str) -> list[str]:
        exec_form = _exec_form(args)
        return exec_form if exec_form is not None else [*self.shell, args]

    @staticmethod
    def flags(words: list[str]) -> tuple[dict[str, str], list[str]]:
        flags: dict[str, str] = {}
        while words and words[0].startswith("--"):
            name, _, value = words.pop(0)[2:].partition("=")
            flags[name] = value
        return flags, words

    # -- the loop -----------------------------------------------------------------------
    def run(self, instructions: list[Instruction], escape: str) -> dict[str, Any]:
        self.escape = escape
        if not instructions:
            raise BuildError(f"{self.dockerfile.name}: the Dockerfile cannot be empty")
        total = len(instructions)
        for number, instruction in enumerate(instructions, start=1):
            self.current = instruction
            self.progress(f"Step {number}/{total} : {instruction.text}")
            if "<<" in instruction.args.split(" ", 1)[0] and instruction.keyword in (
                "RUN",
                "COPY",
                "ADD",
            ):
                raise self.fail("heredocs are not supported by the local cloud's image builder")
            handler = getattr(self, f"do_{instruction.keyword.lower()}", None)
            if handler is None:
                if instruction.keyword in ("ONBUILD",):
                    raise self.fail(
                        f"{instruction.keyword} is not supported by the local cloud's image builder"
                    )
                raise self.fail(f"unknown instruction: {instruction.keyword}")
            if not self.stage_started and instruction.keyword not in ("FROM", "ARG"):
                raise self.fail(
                    f"no build stage in current context: {instruction.keyword} before FROM"
                )
            handler(instruction.args)
        self.current = None
        return self.config

    # -- instructions -------------------------------------------------------------------
    def do_arg(self, args: str) -> None:
        for word in split_words(args, self.escape):
            name, has_default, default = word.partition("=")
            if self.stage_started:
                value = self.build_args.get(name)
                if value is None:
                    value = self.global_args.get(name)
                if value is None and has_default:
                    value = process_word(default, self.variables, self.escape)
                if value is not None:
                    self.args[name] = value
            else:
                value = self.build_args.get(name)
                if value is None and has_default:
                    value = process_word(default, self.global_args, self.escape)
                if value is not None:
                    self.global_args[name] = value

    def do_from(self, args: str) -> None:
        if self.stage_started:
            raise self.fail(
                "multi-stage builds are not supported by the local cloud's image "
                "builder: use a single FROM"
            )
        flags, words = self.flags(
            [process_word(w, self.global_args, self.escape) for w in split_words(args, self.escape)]
        )
        if not words:
            raise self.fail("FROM requires an image name")
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
            raise self.fail("FROM requires either one or three arguments (image [AS name])")
        self.stage_started = True
        self.config["base_image"] = words[0]
        self.progress(
            f" ---> base image {words[0]} is not pulled: the local cloud runs the "
            f"image's command with its own Python {sys.version.split()[0]}"
        )

    def do_maintainer(self, args: str) -> None:
        self.config["labels"]["maintainer"] = args.strip()

    def _pairs(self, args: str, keyword: str) -> dict[str, str]:
        raw = split_words(args, self.escape)
        if not raw:
            raise self.fail(f"{keyword} requires at least one argument")
        variables = self.variables
        if "=" not in raw[0]:  # legacy "ENV KEY value with spaces"
            name, _, rest = args.strip().partition(" ")
            if not rest.strip():
                raise self.fail(f"{keyword} names can not be blank: {keyword} {name} needs a value")
            return {name: process_word(rest.strip(), variables, self.escape)}
        pairs: dict[str, str] = {}
        for word in raw:
            name, has_value, value = word.partition("=")
            if not has_value or not name:
                raise self.fail(
                    f"Syntax error - can't find = in {word!r}. Must be of the form: name=value"
                )
            pairs[process_word(name, variables, self.escape)] = process_word(
                value, variables, self.escape
            )
        return pairs

    def do_env(self, args: str) -> None:
        self.config["env"].update(self._pairs(args, "ENV"))

    def do_label(self, args: str) -> None:
        self.config["labels"].update(self._pairs(args, "LABEL"))

    def do_workdir(self, args: str) -> None:
        path = self.word(args)
        if not path:
            raise self.fail("WORKDIR requires a path")
        self.config["workdir"] = self.container_path(path)
        self.host(self.config["workdir"]).mkdir(parents=True, exist_ok=True)

    def do_user(self, args: str) -> None:
        self.config["user"] = self.word(args) or None

    def do_expose(self, args: str) -> None:
        for word in self.words(args):
            number = word.split("/", 1)[0]
            low, _, high = number.partition("-")
            try:
                ports = range(int(low), int(high or low) + 1)
            except ValueError:
                raise self.fail(f"Invalid containerPort: {word}") from None
            for port in ports:
                if port not in self.config["exposed_ports"]:
                    self.config["exposed_ports"].append(port)

    def do_cmd(self, args: str) -> None:
        self.config["cmd"] = self.command_form(args)

    def do_entrypoint(self, args: str) -> None:
        self.config["entrypoint"] = self.command_form(args)

    def do_shell(self, args: str) -> None:
        shell = _exec_form(args)
        if not shell:
            raise self.fail(
                'SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/bash", "-c"]'
            )
        self.shell = shell

    def do_stopsignal(self, args: str) -> None:
        self.config["stop_signal"] = self.word(args)

    def do_volume(self, args: str) -> None:
        volumes = _exec_form(args)
        self.config["volumes"].extend(volumes if volumes is not None else self.words(args))

    def do_healthcheck(self, args: str) -> None:
        words = args.split()
        if words and words[0].upper() == "NONE":
            self.config["healthcheck"] = None
            return
        index = 0
        while index < len(words) and words[index].startswith("--"):
            index += 1
        if index >= len(words) or words[index].upper() != "CMD":
            raise self.fail("HEALTHCHECK needs CMD followed by a command, or NONE")
        rest = args.split(None, index + 1)[index + 1] if len(words) > index + 1 else ""
        if not rest:
            raise self.fail("HEALTHCHECK CMD needs a command")
        self.config["healthcheck"] = self.command_form(rest.strip())

    def do_run(self, args: str) -> None:
        exec_form = _exec_form(args)
        if exec_form is not None:
            text = shlex.join(exec_form)
        else:
            # Drop RUN's own flags (--mount, --network, --security).
            text = re.sub(r"^(?:--\S+\s+)+", "", args.strip())
        self.config["run"].append(text)
        checked = self._check_pip(text)
        if not checked:
            self.progress(" ---> recorded, not executed: the local cloud has no container engine")

    def _check_pip(self, text: str) -> bool:
        try:
            lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            return False
        commands: list[list[str]] = [[]]
        skip_next = False
        for token in tokens:
            if skip_next:
                skip_next = False
            elif token in (";", "&&", "||", "|", "&", "(", ")", ";;"):
                commands.append([])
            elif set(token) <= set("<>&|") and set(token) & set("<>"):
                skip_next = True  # a redirection and its target
                if commands[-1] and commands[-1][-1].isdigit():
                    commands[-1].pop()  # the "2" of "2>&1"
            else:
                commands[-1].append(token)
        found = False
        for words in commands:
            after = _is_pip(words)
            if after is None:
                continue
            found = True
            files, specs = _pip_arguments(words[after:])
            for file in files:
                specs.extend(self._requirements_file(file))
            self._report(check_requirements(specs), ", ".join(files) or "the command line")
        return found

    def _requirements_file(self, file: str) -> list[str]:
        expanded = process_word(file, self.variables, self.escape)
        path = self.host(self.container_path(expanded))
        if not path.is_file():
            raise self.fail(
                f"RUN pip install: Could not open requirements file: [Errno 2] No such "
                f"file or directory: {expanded!r} (COPY it into the image first)"
            )
        return _requirement_lines(path)

    def _report(self, check: _RequirementCheck, source: str) -> None:
        if check.missing:
            raise self.fail(
                f"RUN pip install: the local cloud runs images with its own Python "
                f"({sys.executable}), which does not have {', '.join(check.missing)} "
                f"(required by {source}). Install it there, e.g. `{sys.executable} -m pip install "
                f"{' '.join(shlex.quote(m) for m in check.missing)}`."
            )
        if check.satisfied:
            self.progress(
                " ---> requirements satisfied by the local Python: " + ", ".join(check.satisfied)
            )
        for mismatch in check.mismatched:
            self.progress(
                f" ---> warning: the local Python has {mismatch}; local tasks run "
                "with the installed version"
            )
        for spec in check.unchecked:
            self.progress(f" ---> not checked (not a package name): {spec}")

    def do_copy(self, args: str, add: bool = False) -> None:
        keyword = "ADD" if add else "COPY"
        exec_form = _exec_form(args)
        if exec_form is not None:
            words = [process_word(w, self.variables, self.escape) for w in exec_form]
        else:
            words = self.words(args)
        flags, words = self.flags(words)
        if "from" in flags:
            raise self.fail(
                f"{keyword} --from is not supported by the local cloud's image "
                "builder (single-stage builds only)"
            )
        unknown = set(flags) - {"chown", "chmod", "link", "parents"}
        if unknown:
            raise self.fail(f"{keyword}: unknown flag --{sorted(unknown)[0]}")
        if len(words) < 2:
            raise self.fail(f"{keyword} requires at least two arguments: source(s) and destination")
        *sources, dest = words
        dest_path = self.container_path(dest)
        dest_is_dir = dest.endswith("/") or dest in (".", "./") or dest.endswith("/.")
        matches: list[str] = []
        for source in sources:
            if add and re.match(r"^[a-z]+://", source):
                raise self.fail(
                    "ADD from a URL needs the network; download the file into the "
                    "build context and COPY it instead"
                )
            found = self.match_context(source)
            if not found:
                raise self.fail(
                    f"{keyword} failed: file not found in build context or excluded by "
                    f".dockerignore: stat {source}: file does not exist"
                )
            matches.extend(found)
        if (len(sources) > 1 or len(matches) > 1) and not dest_is_dir:
            raise self.fail(
                f"When using {keyword} with more than one source file, the "
                "destination must be a directory and end with a /"
            )
        mode = int(flags["chmod"], 8) if flags.get("chmod") else None
        copied = 0
        for relative in matches:
            origin = self.context / relative
            if origin.is_dir():
                copied += self.copy_tree(relative, self.host(dest_path), mode)
            elif add and tarfile.is_tarfile(origin):
                target = self.host(dest_path)
                target.mkdir(parents=True, exist_ok=True)
                with tarfile.open(origin) as archive:
                    archive.extractall(target, filter="data")
                copied += 1
            else:
                target = self.host(dest_path)
                if dest_is_dir or target.is_dir():
                    target = target / origin.name
                self.copy_file(origin, target, mode)
                copied += 1
        self.progress(f" ---> {copied} file(s) copied to {dest_path}")

    def do_add(self, args: str) -> None:
        self.do_copy(args, add=True)

    # -- the build context ----------------------------------------------------------------
    def match_context(self, source: str) -> list[str]:
        relative = posixpath.normpath(source.lstrip("/")) if source not in ("", "/") else "."
        if relative == ".." or relative.startswith("../"):
            raise self.fail(f"forbidden path outside the build context: {source}")
        if not _has_glob(relative):
            path = self.context / relative
            if not (path.exists() or path.is_symlink()) or self.ignore.excluded(relative):
                return []
            return [relative]
        regex = _glob_regex(relative)
        return [rel for rel in self.context_paths() if regex.match(rel)]

    def context_paths(self) -> list[str]:
        paths: list[str] = []
        for folder, dirs, files in os.walk(self.context):
            dirs.sort()
            base = Path(folder).relative_to(self.context).as_posix()
            for name in [*dirs, *sorted(files)]:
                rel = name if base == "." else f"{base}/{name}"
                if not self.ignore.excluded(rel):
                    paths.append(rel)
        return paths

    def copy_tree(self, relative: str, target: Path, mode: int | None) -> int:
        """Copy a folder's contents (not the folder itself) into ``target``, as COPY does."""
        source = self.context / relative
        target.mkdir(parents=True, exist_ok=True)
        count = 0
        for folder, dirs, files in os.walk(source):
            dirs.sort()
            here = Path(folder)
            for name in [*dirs, *files]:
                path = here / name
                rel = path.relative_to(self.context).as_posix()
                if self.ignore.excluded(rel):
                    continue
                destination = target / path.relative_to(source)
                if path.is_symlink():
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    if destination.is_symlink() or destination.is_file():
                        destination.unlink()
                    destination.symlink_to(os.readlink(path))
                    count += 1
                elif path.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                else:
                    # Excluded folders are still walked, so "!" exceptions inside them apply.
                    self.copy_file(path, destination, mode)
                    count += 1
        return count

    @staticmethod
    def copy_file(origin: Path, target: Path, mode: int | None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        shutil.copy2(origin, target)
        if mode is not None:
            target.chmod(mode)


# ----------------------------------------------------------------------------- digests


def snapshot_digest(rootfs: Path, config: Mapping[str, Any]) -> tuple[str, int]:
    """sha256 over the image config and every path, kind, exec bit and content of the snapshot."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True).encode())
    size = 0
    entries: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(rootfs):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            entries.append((path.relative_to(rootfs).as_posix(), path))
    for relative, path in sorted(entries):
        if path.is_symlink():
            digest.update(f"L {relative} {os.readlink(path)}\n".encode())
        elif path.is_dir():
            digest.update(f"D {relative}\n".encode())
        else:
            content = hashlib.sha256(path.read_bytes()).hexdigest()
            executable = "x" if path.stat().st_mode & 0o111 else "-"
            digest.update(f"F {relative} {executable} {content}\n".encode())
            size += path.stat().st_size
    return "sha256:" + digest.hexdigest(), size


# ----------------------------------------------------------------------------- the store

RegistryLookup = Callable[[Reference], str]
"""Given an ECR reference, the digest ECR holds for it (raises LookupError when none)."""


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
            interpreter = _Interpreter(context, dockerfile_path, rootfs, build_args or {}, say)
            config = interpreter.run(instructions, escape)
            digest, size = snapshot_digest(rootfs, config)
            image = self._publish(workspace, digest, size, config)
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        say(f"Successfully built {image.id}")
        for reference in references:
            self._set_ref(reference, image.digest)
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
    def _set_ref(self, reference: Reference, digest: str) -> None:
        with self._lock:
            self._refs[str(reference)] = digest
            self._save_refs()

    def tag(self, source_ref: str, target_ref: str) -> Image:
        """``docker tag``: another name for a local image."""
        image = self.local(source_ref)
        self._set_ref(parse_reference(target_ref), image.digest)
        return image

    def get(self, digest: str) -> Image:
        with self._lock:
            image = self._images.get(digest)
        if image is None:
            raise LookupError(f"no image with digest {digest} in the local cloud's image store")
        return image

    def local(self, ref: str) -> Image:
        """An image by local name, id or digest, as ``docker tag``/``docker push`` find them."""
        text = ref.strip()
        with self._lock:
            try:
                reference = parse_reference(text)
            except ValueError:
                reference = None
            if reference is not None and reference.digest:
                if reference.digest in self._images:
                    return self._images[reference.digest]
            elif reference is not None and str(reference) in self._refs:
                return self._images[self._refs[str(reference)]]
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

    def list(self) -> list[dict[str, Any]]:
        """Every image with its local names, newest first."""
        with self._lock:
            names: dict[str, list[str]] = {}
            for ref, digest in sorted(self._refs.items()):
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

    def push(self, ref: str, ecr_client: Any) -> str:
        """``docker push`` to ECR: records the image in the repository; returns its digest."""
        from botocore.exceptions import ClientError

        try:
            reference = parse_reference(ref)
        except ValueError as exc:
            raise PushError(str(exc)) from None
        if reference.digest:
            raise PushError(f"cannot push a digest reference: {ref} (push a tag)")
        try:
            image = self.local(str(reference))
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
        self._set_ref(reference, image.digest)
        return image.digest


def basic_auth(username: str, password: str) -> str:
    """The ``auth`` value docker keeps in config.json."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()
