"""X-Ray filter expressions (GetTraceSummaries' ``FilterExpression``): the part of the language
a learner types, parsed into a small tree and evaluated against a trace's ``Facts``.

Supported::

    ok  error  fault  throttle  partial          alone, negated (!fault) or = true/false
    responsetime  duration  http.status          = != < <= > >= a number
    http.url  http.method  http.useragent  http.clientip
                                                 = != CONTAINS BEGINSWITH ENDSWITH "text"
    annotation.<key>                             alone (true), or compared with a value
    service()  service("name")  service(id(name: "name", type: "AWS::Lambda"))
                                                 optionally followed by { expression }, which
                                                 then holds for one of that service's calls
    expression AND expression, OR, !, ( ... )    (&& and || too; AND binds tighter)

Anything else is an ``InvalidRequestException`` naming what and where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...edge import ServiceError

MAX_LENGTH = 2000
MAX_NESTING = 32

BOOLEAN_FIELDS = ("ok", "error", "fault", "throttle", "partial")
NUMBER_FIELDS = ("responsetime", "duration", "http.status")
STRING_FIELDS = ("http.url", "http.method", "http.useragent", "http.clientip")
ORDER_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
TEXT_OPERATORS = ("=", "!=", "CONTAINS", "BEGINSWITH", "ENDSWITH")


@dataclass
class Facts:
    """What a filter can ask of a trace (or of one call to a service): ``fields`` by keyword
    (``None`` when unknown), and each service's calls."""

    fields: dict[str, Any]
    services: dict[tuple[str, str | None], list[Facts]] = field(default_factory=dict)


class FilterError(ServiceError):
    def __init__(self, message: str, position: int):
        where = f"Invalid filter expression at position {position}"
        super().__init__("InvalidRequestException", f"{where}: {message}")


# -- tokens --------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<op>!=|<=|>=|&&|\|\||[=<>])
      | (?P<punct>[(){}!,:])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, op, punct, word, end
    text: str
    position: int

    @property
    def upper(self) -> str:
        return self.text.upper()


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].isspace():
            break
        match = _TOKEN.match(text, position)
        if not match or match.lastgroup is None:
            start = len(text) - len(text[position:].lstrip())
            what = text[start]
            if what == '"':
                raise FilterError("a string is not closed", start)
            raise FilterError(f"unexpected {what!r}", start)
        kind = match.lastgroup
        found.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    found.append(_Token("end", "", len(text)))
    return found


# -- the tree ------------------------------------------------------------------------------
class Expression:
    def matches(self, facts: Facts) -> bool:
        raise NotImplementedError


@dataclass
class And(Expression):
    left: Expression
    right: Expression

    def matches(self, facts: Facts) -> bool:
        return self.left.matches(facts) and self.right.matches(facts)


@dataclass
class Or(Expression):
    left: Expression
    right: Expression

    def matches(self, facts: Facts) -> bool:
        return self.left.matches(facts) or self.right.matches(facts)


@dataclass
class Not(Expression):
    inner: Expression

    def matches(self, facts: Facts) -> bool:
        return not self.inner.matches(facts)


@dataclass
class Compare(Expression):
    field: str
    operator: str  # one of ORDER_OPERATORS or TEXT_OPERATORS; "" for a bare keyword
    value: Any = True

    def matches(self, facts: Facts) -> bool:
        actual = facts.fields.get(self.field)
        if actual is None:
            return False
        return _compare(actual, self.operator or "=", self.value)


@dataclass
class Service(Expression):
    name: str | None  # None: any service
    type: str | None = None
    inner: Expression | None = None

    def matches(self, facts: Facts) -> bool:
        for (name, kind), calls in facts.services.items():
            if self.name is not None and name != self.name:
                continue
            if self.type is not None and kind != self.type:
                continue
            if self.inner is None or any(self.inner.matches(call) for call in calls):
                return True
        return False


def _compare(actual: Any, operator: str, value: Any) -> bool:
    if isinstance(value, bool) or isinstance(actual, bool):
        equal = isinstance(actual, bool) and isinstance(value, bool) and actual == value
        return equal if operator == "=" else (not equal if operator == "!=" else False)
    if isinstance(value, int | float):
        if not isinstance(actual, int | float):
            return False
        return {
            "=": actual == value,
            "!=": actual != value,
            "<": actual < value,
            "<=": actual <= value,
            ">": actual > value,
            ">=": actual >= value,
        }[operator]
    if not isinstance(actual, str):
        return False
    return {
        "=": actual == value,
        "!=": actual != value,
        "CONTAINS": value in actual,
        "BEGINSWITH": actual.startswith(value),
        "ENDSWITH": actual.endswith(value),
    }.get(operator, False)


# -- the parser ----------------------------------------------------------------------------
def parse(text: str) -> Expression:
    """The expression's tree; ``FilterError`` (an InvalidRequestException) if it is not one
    this cloud understands."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise FilterError("the expression is empty", 0)
    return _Parser(_tokens(text)).parse()


class _Parser:
    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    @property
    def next(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at = min(self.at + 1, len(self.tokens) - 1)
        return token

    def accept(self, *texts: str) -> _Token | None:
        if self.next.kind in ("op", "punct", "word") and self.next.upper in texts:
            return self.take()
        return None

    def expect(self, text: str, after: str) -> None:
        if not self.accept(text):
            found = self._shown()
            raise FilterError(f"expected {text!r} {after}, found {found}", self.next.position)

    def _shown(self) -> str:
        return "the end" if self.next.kind == "end" else repr(self.next.text)

    def parse(self) -> Expression:
        tree = self.or_expression()
        if self.next.kind != "end":
            raise FilterError(f"unexpected {self._shown()}", self.next.position)
        return tree

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise FilterError(f"nested deeper than {MAX_NESTING}", self.next.position)

    def or_expression(self) -> Expression:
        tree = self.and_expression()
        while self.accept("OR", "||"):
            tree = Or(tree, self.and_expression())
        return tree

    def and_expression(self) -> Expression:
        tree = self.unary()
        while self.accept("AND", "&&"):
            tree = And(tree, self.unary())
        return tree

    def unary(self) -> Expression:
        if self.accept("!"):
            self.nested()
            inner = self.unary()
            self.depth -= 1
            return Not(inner)
        return self.primary()

    def primary(self) -> Expression:
        token = self.next
        if self.accept("("):
            self.nested()
            tree = self.or_expression()
            self.expect(")", "to close the '('")
            self.depth -= 1
            return tree
        if token.kind != "word":
            raise FilterError(f"expected a keyword, found {self._shown()}", token.position)
        self.take()
        keyword = token.text.lower()
        if keyword == "service":
            return self.service()
        if keyword in BOOLEAN_FIELDS:
            return self.boolean(keyword)
        if keyword in NUMBER_FIELDS:
            return self.comparison(keyword, ORDER_OPERATORS, "number")
        if keyword in STRING_FIELDS:
            return self.comparison(keyword, TEXT_OPERATORS, "string")
        if keyword.startswith("annotation.") and len(keyword) > len("annotation."):
            name = "annotation." + token.text[len("annotation.") :]
            if self.next.kind == "op" or self.next.upper in TEXT_OPERATORS:
                return self.comparison(name, ORDER_OPERATORS + TEXT_OPERATORS, "any")
            return Compare(name, "")
        raise FilterError(f"unsupported keyword {token.text!r}", token.position)

    def boolean(self, keyword: str) -> Expression:
        operator = self.accept("=", "!=")
        if operator is None:
            return Compare(keyword, "")
        value = self.take()
        if value.kind != "word" or value.text.lower() not in ("true", "false"):
            raise FilterError(f"{keyword} compares with true or false", value.position)
        return Compare(keyword, operator.text, value.text.lower() == "true")

    def comparison(self, keyword: str, operators: tuple[str, ...], kind: str) -> Expression:
        operator = self.take()
        if operator.upper not in operators or operator.kind not in ("op", "word"):
            wanted = ", ".join(operators)
            raise FilterError(f"{keyword} needs one of {wanted}", operator.position)
        value = self.value(keyword, kind)
        if isinstance(value, str) and operator.upper in ("<", "<=", ">", ">="):
            raise FilterError(f"{operator.text} compares numbers", operator.position)
        if not isinstance(value, str) and operator.upper in TEXT_OPERATORS[2:]:
            raise FilterError(f"{operator.text} compares strings", operator.position)
        return Compare(keyword, operator.upper, value)

    def value(self, keyword: str, kind: str) -> Any:
        token = self.take()
        if token.kind == "number" and kind in ("number", "any"):
            number = float(token.text)
            return int(number) if number.is_integer() and "." not in token.text else number
        if token.kind == "string" and kind in ("string", "any"):
            return _unquote(token.text)
        if token.kind == "word" and kind == "any" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        raise FilterError(f"{keyword} compares with a {kind}", token.position)

    def service(self) -> Expression:
        self.expect("(", "after service")
        name: str | None = None
        kind: str | None = None
        if self.next.kind == "string":
            name = _unquote(self.take().text)
        elif self.next.kind == "word" and self.next.text.lower() == "id":
            self.take()
            name, kind = self.service_id()
        self.expect(")", "to close service(")
        inner = None
        if self.accept("{"):
            self.nested()
            inner = self.or_expression()
            self.expect("}", "to close the '{'")
            self.depth -= 1
        return Service(name, kind, inner)

    def service_id(self) -> tuple[str | None, str | None]:
        self.expect("(", "after id")
        found: dict[str, str] = {}
        while True:
            key = self.take()
            if key.kind != "word" or key.text.lower() not in ("name", "type"):
                raise FilterError("id() takes name: and type:", key.position)
            self.expect(":", f"after {key.text}")
            value = self.take()
            if value.kind != "string":
                raise FilterError(f"id() {key.text} is a string", value.position)
            found[key.text.lower()] = _unquote(value.text)
            if not self.accept(","):
                break
        self.expect(")", "to close id(")
        return found.get("name"), found.get("type")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])
