"""The build context as COPY/ADD see it: ``.dockerignore`` rules, glob matching and copying."""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from collections.abc import Iterable
from pathlib import Path


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


class BuildContext:
    """The context folder with its ``.dockerignore`` applied (paths relative, slash-separated)."""

    def __init__(self, root: Path, ignore: DockerIgnore):
        self.root, self.ignore = root, ignore

    def match(self, source: str) -> list[str]:
        """The context paths a COPY source names (globs expanded, excluded paths left out).

        Raises ValueError for a source outside the context.
        """
        relative = posixpath.normpath(source.lstrip("/")) if source not in ("", "/") else "."
        if relative == ".." or relative.startswith("../"):
            raise ValueError(f"forbidden path outside the build context: {source}")
        if not _has_glob(relative):
            path = self.root / relative
            if not (path.exists() or path.is_symlink()) or self.ignore.excluded(relative):
                return []
            return [relative]
        regex = _glob_regex(relative)
        return [rel for rel in self.paths() if regex.match(rel)]

    def paths(self) -> list[str]:
        paths: list[str] = []
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            base = Path(folder).relative_to(self.root).as_posix()
            for name in [*dirs, *sorted(files)]:
                rel = name if base == "." else f"{base}/{name}"
                if not self.ignore.excluded(rel):
                    paths.append(rel)
        return paths

    def copy_tree(self, relative: str, target: Path, mode: int | None) -> int:
        """Copy a folder's contents (not the folder itself) into ``target``, as COPY does."""
        source = self.root / relative
        target.mkdir(parents=True, exist_ok=True)
        count = 0
        for folder, dirs, files in os.walk(source):
            dirs.sort()
            here = Path(folder)
            for name in [*dirs, *files]:
                path = here / name
                rel = path.relative_to(self.root).as_posix()
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
                    copy_file(path, destination, mode)
                    count += 1
        return count


def copy_file(origin: Path, target: Path, mode: int | None) -> None:
    """Copy one file into the snapshot, replacing a symlink there rather than following it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink():
        target.unlink()
    shutil.copy2(origin, target)
    if mode is not None:
        target.chmod(mode)
