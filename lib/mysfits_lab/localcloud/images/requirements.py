"""``pip install`` in RUN lines, checked against the local cloud's own Python.

A local task runs the image's command with this interpreter, so instead of installing anything
the builder compares each requirement with what is installed here.
"""

from __future__ import annotations

import importlib.metadata
import posixpath
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RequirementCheck:
    """Requirement specifiers sorted by how this interpreter meets them."""

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


def pip_installs(text: str) -> list[tuple[list[str], list[str]]]:
    """(requirement files, direct specifiers) of each ``pip install`` in a RUN shell line."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return []  # unbalanced quotes: nothing we can read, so nothing to check
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
    installs: list[tuple[list[str], list[str]]] = []
    for words in commands:
        after = _is_pip(words)
        if after is not None:
            installs.append(_pip_arguments(words[after:]))
    return installs


def requirement_lines(path: Path, seen: set[Path] | None = None) -> list[str]:
    """The requirement specifiers of a requirements file, nested ``-r`` files included."""
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
            lines.extend(requirement_lines(path.parent / nested[1], seen))
        elif not line.startswith("-"):
            lines.append(line)
    return lines


def check_requirements(specs: Iterable[str]) -> RequirementCheck:
    """Compare requirement specifiers with what this interpreter has installed."""
    from packaging.requirements import InvalidRequirement, Requirement

    result = RequirementCheck()
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
