"""Text a request may hand to the database: no control character (U+0000-U+001F,
U+007F) and no lone surrogate. PostgreSQL cannot store U+0000 and fails the statement
(a 500), SQLite would store it, and no identifier, URN or date-time holds any of them.
Checked in every parameter by ``gateway.request_guard`` and in JSON bodies through
``PlainText``."""

from __future__ import annotations

import re
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


def _plain(text: str) -> str:
    problem = control_character(text)
    if problem is not None:
        raise ValueError(problem)
    return text


PlainText = Annotated[str, AfterValidator(_plain)]
"""A string from a request body that may reach the database (see the module docstring)."""
