"""Text a request may hand to the database: no control character (U+0000-U+001F,
U+007F) and no lone surrogate. PostgreSQL cannot store U+0000 and fails the statement
(a 500), SQLite would store it, and no identifier, URN or date-time holds any of them.
Checked in every parameter by ``gateway.request_guard`` and in JSON bodies through
``PlainText``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def control_character(text: str) -> str | None:
    """What is wrong with ``text`` (its first control character or lone surrogate,
    and where), or None if it may reach the database."""
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"contains {kind} (U+{ord(char):04X}) at position {found.start()}"


def address_problem(path: str, query: Iterable[tuple[str, str]]) -> str | None:
    """What ``control_character`` refuses in a request's decoded path or query parameters
    (names and values), named; None if neither holds any. Checked on every route and on
    requests no route answers (404, 405), so no address echoes one back."""
    if problem := control_character(path):
        return f"the path {problem}"
    for name, value in query:
        if problem := control_character(name):
            return f"a query parameter name {problem}"
        if problem := control_character(value):
            return f"query parameter {name} {problem}"
    return None


def _plain(text: str) -> str:
    problem = control_character(text)
    if problem is not None:
        raise ValueError(problem)
    return text


PlainText = Annotated[str, AfterValidator(_plain)]
"""A string from a request body that may reach the database (see the module docstring)."""
