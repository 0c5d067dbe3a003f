"""Decimal fields of the C2SP text formats: canonical, and bounded before ``int()``.

Sizes and indices are uint64 (at most 20 digits). Bounding the length first keeps
a hostile number from reaching ``int()``, which refuses strings over 4300 digits
with a ``ValueError`` no caller expects (and is quadratic below that).
"""

from __future__ import annotations

import re

UINT64_DIGITS = 20
_CANONICAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)


def parse_decimal(text: str, max_digits: int = UINT64_DIGITS) -> int | None:
    """``text`` as a canonical decimal (no sign, no leading zero) of at most
    ``max_digits`` digits, or None: the caller raises its format's own error."""
    if len(text) > max_digits or not _CANONICAL.fullmatch(text):
        return None
    return int(text)


def shown(text: str, limit: int = 40) -> str:
    """``text`` for an error message: repr, at most ``limit`` characters of it."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")
