"""The v2.3 ListFootprints ``$filter``: the OData v4 subset PACT Tech Specs 2.3 names.

* ``eq``, ``lt``, ``le``, ``gt``, ``ge`` between a literal and one of ``created``,
  ``updated``, ``productCategoryCpc``, ``pcf/geographyCountry``,
  ``pcf/referencePeriodStart``, ``pcf/referencePeriodEnd``;
* ``and``, and parentheses;
* ``companyIds/any(x:x eq '…')`` and ``productIds/any(…)`` (the lambda only ``eq``).

The spec lets a host that filters refuse a statement it does not support with
``NotImplemented``: any other operator (``or``, ``not``, ``ne``, functions) or property
is ``Unsupported``. Text that is not such a statement at all is ``Malformed``
(``BadRequest``). The predicate is evaluated on the v2.3 document the caller would
be served; dates compare as instants (a literal may be quoted or bare), other values
as case-insensitive strings, as the v3 filters do; a missing value satisfies no
comparison.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from gateway.filters import parse_instant

Predicate = Callable[[dict[str, Any]], bool]

MAX_LENGTH = 4096
MAX_NESTING = 32
PROPERTIES: dict[str, tuple[str, ...]] = {
    "created": ("created",),
    "updated": ("updated",),
    "productCategoryCpc": ("productCategoryCpc",),
    "pcf/geographyCountry": ("pcf", "geographyCountry"),
    "pcf/referencePeriodStart": ("pcf", "referencePeriodStart"),
    "pcf/referencePeriodEnd": ("pcf", "referencePeriodEnd"),
}
INSTANTS = frozenset({"created", "updated", "pcf/referencePeriodStart", "pcf/referencePeriodEnd"})
COLLECTIONS = frozenset({"companyIds", "productIds"})
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_TOKEN = re.compile(
    r"[ \t\r\n]*(?:(?P<open>\()|(?P<close>\))|(?P<str>'(?:[^']|'')*')|(?P<word>[^ \t\r\n()']+))"
)


class FilterError(ValueError):
    """A ``$filter`` that cannot be applied."""


class Unsupported(FilterError):
    """OData this host does not evaluate (answered ``NotImplemented``)."""


class Malformed(FilterError):
    """Not a ``$filter`` statement (answered ``BadRequest``)."""


Token = tuple[str, str]
_T = TypeVar("_T")


def parse(text: str) -> Predicate:
    """The predicate of a ``$filter`` statement; Unsupported or Malformed."""
    if len(text) > MAX_LENGTH:
        raise Malformed(f"$filter is longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text))
    predicate = parser.expression()
    rest = parser.peek()
    if rest is not None:
        if rest[0] == "word" and rest[1] in ("or", "not"):
            raise Unsupported(f"$filter: {rest[1]!r} is not supported (only 'and')")
        raise Malformed(f"$filter: unexpected {rest[1]!r}")
    return predicate


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    position, end = 0, len(text.rstrip(" \t\r\n"))
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise Malformed(f"$filter: cannot read {text[position:].strip()[:40]!r}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    if not tokens:
        raise Malformed("$filter is empty")
    return tokens


def _value(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = doc
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class _Parser:
    """Recursive descent over the tokens, nesting bounded by ``MAX_NESTING``."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise Malformed("$filter ends too early")
        self.position += 1
        return token

    def expect(self, kind: str) -> None:
        token = self.take()
        if token[0] != kind:
            raise Malformed(f"$filter: expected {'(' if kind == 'open' else ')'}, not {token[1]!r}")

    def expression(self) -> Predicate:
        terms = [self.term()]
        while self.peek() == ("word", "and"):
            self.take()
            terms.append(self.term())
        return lambda doc: all(term(doc) for term in terms)

    def parenthesised(self, inner: Callable[[], _T]) -> _T:
        """``inner`` after an opening parenthesis (already taken), then the closing one."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise Malformed(f"$filter nests more than {MAX_NESTING} parentheses")
        found = inner()
        self.expect("close")
        self.depth -= 1
        return found

    def term(self) -> Predicate:
        kind, text = self.take()
        if kind == "open":
            return self.parenthesised(self.expression)
        if kind != "word":
            raise Malformed(f"$filter: expected a property, not {text!r}")
        if text.endswith("/any"):
            return self.any_equal(text.removesuffix("/any"))
        return self.comparison(text)

    def literal(self) -> str:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "word":
            return text
        raise Malformed(f"$filter: expected a value, not {text!r}")

    def comparison(self, name: str) -> Predicate:
        kind, op = self.take()
        if kind == "open":
            raise Unsupported(f"$filter: function {name}() is not supported")
        if kind != "word":
            raise Malformed(f"$filter: expected an operator after {name!r}, not {op!r}")
        if op not in OPERATORS:
            raise Unsupported(f"$filter: operator {op!r} is not supported")
        if name not in PROPERTIES:
            raise Unsupported(f"$filter: property {name!r} cannot be filtered on")
        path, compare, value = PROPERTIES[name], OPERATORS[op], self.literal()
        if name in INSTANTS:
            try:
                moment = parse_instant(value)
            except ValueError:
                raise Malformed(f"$filter: {value!r} is not an RFC 3339 date-time") from None
            return lambda doc: _instant_holds(_value(doc, path), compare, moment)
        wanted = value.lower()
        return lambda doc: _text_holds(_value(doc, path), compare, wanted)

    def any_equal(self, collection: str) -> Predicate:
        if collection not in COLLECTIONS:
            raise Unsupported("$filter: any() is supported on companyIds and productIds only")
        self.expect("open")
        kind, head = self.take()
        variable, colon, rest = head.partition(":")
        if kind != "word" or not colon or not variable:
            raise Malformed(f"$filter: expected 'name:' opening {collection}/any(…)")
        if rest:
            self.tokens.insert(self.position, ("word", rest))
        wanted = self.lambda_body(variable)
        after = self.peek()
        if after is not None and after[0] == "word" and after[1] in ("and", "or", "not"):
            raise Unsupported(f"$filter: any() takes one eq comparison, not {after[1]!r}")
        self.expect("close")
        return lambda doc: wanted in {str(v).lower() for v in doc.get(collection) or ()}

    def lambda_body(self, variable: str) -> str:
        kind, text = self.take()
        if kind == "open":
            return self.parenthesised(lambda: self.lambda_body(variable))
        if (kind, text) != ("word", variable):
            raise Unsupported(f"$filter: any() may only compare {variable!r} with eq")
        if self.take() != ("word", "eq"):
            raise Unsupported("$filter: any() supports only eq")
        return self.literal().lower()


def _instant_holds(value: Any, compare: Callable[[Any, Any], bool], moment: datetime) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return compare(parse_instant(value), moment)
    except ValueError:
        return False


def _text_holds(value: Any, compare: Callable[[Any, Any], bool], wanted: str) -> bool:
    return isinstance(value, str) and compare(value.lower(), wanted)
