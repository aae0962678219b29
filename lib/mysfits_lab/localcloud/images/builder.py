"""The Dockerfile interpreter: builds an image's snapshot folder and config, and its digest.

COPY/ADD put files from the build context into the snapshot; the other instructions set the
image config. RUN lines are recorded, not executed (there is no container engine): their
``pip install`` requirements are checked against the local Python instead (``requirements.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shlex
import sys
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .context import BuildContext, DockerIgnore, copy_file
from .dockerfile import Instruction, exec_form, process_word, split_words
from .errors import BuildError
from .requirements import RequirementCheck, check_requirements, pip_installs, requirement_lines

# The PATH of every official base image; only used to expand "$PATH" in ENV lines.
_BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

Progress = Callable[[str], None]


class Interpreter:
    """Executes a Dockerfile against a fresh snapshot folder."""

    def __init__(
        self,
        context: Path,
        dockerfile: Path,
        rootfs: Path,
        build_args: Mapping[str, str],
        progress: Progress,
    ):
        self.dockerfile, self.rootfs = dockerfile, rootfs
        self.context = BuildContext(context, DockerIgnore.for_build(context, dockerfile))
        self.build_args = dict(build_args)
        self.progress = progress
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
        argv = exec_form(args)
        return argv if argv is not None else [*self.shell, args]

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
        shell = exec_form(args)
        if not shell:
            raise self.fail(
                'SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/bash", "-c"]'
            )
        self.shell = shell

    def do_stopsignal(self, args: str) -> None:
        self.config["stop_signal"] = self.word(args)

    def do_volume(self, args: str) -> None:
        volumes = exec_form(args)
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
        argv = exec_form(args)
        # The shell form starts with RUN's own flags (--mount, --network, --security): dropped.
        text = shlex.join(argv) if argv is not None else re.sub(r"^(?:--\S+\s+)+", "", args.strip())
        self.config["run"].append(text)
        checked = self._check_pip(text)
        if not checked:
            self.progress(" ---> recorded, not executed: the local cloud has no container engine")

    def _check_pip(self, text: str) -> bool:
        installs = pip_installs(text)
        for files, specs in installs:
            for file in files:
                specs.extend(self._requirements_file(file))
            self._report(check_requirements(specs), ", ".join(files) or "the command line")
        return bool(installs)

    def _requirements_file(self, file: str) -> list[str]:
        expanded = process_word(file, self.variables, self.escape)
        path = self.host(self.container_path(expanded))
        if not path.is_file():
            raise self.fail(
                f"RUN pip install: Could not open requirements file: [Errno 2] No such "
                f"file or directory: {expanded!r} (COPY it into the image first)"
            )
        return requirement_lines(path)

    def _report(self, check: RequirementCheck, source: str) -> None:
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
        argv = exec_form(args)
        if argv is not None:
            words = [process_word(w, self.variables, self.escape) for w in argv]
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
            try:
                found = self.context.match(source)
            except ValueError as exc:
                raise self.fail(str(exc)) from None
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
            origin = self.context.root / relative
            if origin.is_dir():
                copied += self.context.copy_tree(relative, self.host(dest_path), mode)
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
                copy_file(origin, target, mode)
                copied += 1
        self.progress(f" ---> {copied} file(s) copied to {dest_path}")

    def do_add(self, args: str) -> None:
        self.do_copy(args, add=True)


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
