"""Quoting text from outside (a witness's answer, a client's request) for a log line.

Such text may hold newlines that forge log lines, or terminal escapes: it is shown
``ascii()``-escaped, quoted and truncated, so it stays on its line and readable.
"""

from __future__ import annotations

SHOWN_CHARACTERS = 200


def quoted(text: str | bytes, limit: int = SHOWN_CHARACTERS) -> str:
    """``text`` escaped and quoted, at most ``limit`` characters of it, then ``...``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    more = f"...({len(text) - limit} more characters)" if len(text) > limit else ""
    return ascii(text[:limit]) + more
