"""Dockerfile text: instructions, word splitting, and Docker's quote and variable processing."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction and the line it starts on (for error messages)."""

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


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form argument (``["a", "b"]``), or None for the shell form."""
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
