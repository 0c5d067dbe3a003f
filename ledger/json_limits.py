"""What an entry's JSON may hold besides being canonical: bounded nesting, storable strings.

Both limits exist so that one submitter's bytes can only fail that submission.
Deep nesting makes recursive parsers and serialisers (the standard library's,
``rfc8785``, pydantic) raise ``RecursionError`` deep inside the checks; a
U+0000 in a string is valid JSON that PostgreSQL's ``text`` cannot hold, so it
would fail the database statement, and with it every entry of the group
commit, on one backend and not on the other. Both are refused here, before any
model or database sees them, naming the JSON path, identically on every backend.
(Lone surrogates, the other strings no backend can store, are refused by the
canonical check as "not valid Unicode".)
"""

from __future__ import annotations

from itertools import chain, compress, repeat
from operator import is_
from typing import Any

from ledger.errors import MalformedEntryError

# Containers (objects and arrays) an entry may nest, the top-level object included.
# Real entries nest a few levels (a footprint entry: 4); 32 leaves room to grow.
MAX_DEPTH = 32

# How a U+0000 appears in JSON bytes: it must be escaped, and has no other escape.
_ESCAPED_NUL = b"\\u0000"
_OPENERS = (b"[", b"{")


def check_json_limits(obj: Any, data: bytes) -> None:
    """Refuse ``obj`` (parsed from ``data``) if it nests deeper than ``MAX_DEPTH`` or
    holds a string with U+0000, naming the path.

    Memchr-speed scans of ``data`` spare most entries any walk: a document with at
    most ``MAX_DEPTH`` brackets cannot nest deeper, and one without the escape
    ``\\u0000`` holds no U+0000. Others (a batch of 1,000 meter readings) get
    the depth measured level by level in C-speed passes (under 1 ms for such a
    batch), and the slower walk that names the path runs only to refuse.
    """
    deep = sum(map(data.count, _OPENERS)) > MAX_DEPTH and _deeper_than_limit(obj)
    nul = _ESCAPED_NUL in data
    if deep or nul:
        _walk(obj, "", 1, find_nul=nul)


def _deeper_than_limit(obj: Any) -> bool:
    """Whether ``obj`` (of exact ``dict`` and ``list`` containers, as ``json.loads``
    makes them) nests deeper than ``MAX_DEPTH``: one level of containers at a time,
    each pass over all their members in C (``map``, ``compress``)."""
    dicts: list[Any] = [obj] if type(obj) is dict else []
    lists: list[Any] = [obj] if type(obj) is list else []
    for _ in range(MAX_DEPTH):
        members = [*chain.from_iterable(map(dict.values, dicts)), *chain.from_iterable(lists)]
        kinds = list(map(type, members))
        dicts = list(compress(members, map(is_, kinds, repeat(dict))))
        lists = list(compress(members, map(is_, kinds, repeat(list))))
        if not dicts and not lists:
            return False
    return True


def _walk(value: Any, path: str, depth: int, *, find_nul: bool) -> None:
    if isinstance(value, str):
        if find_nul and "\x00" in value:
            raise MalformedEntryError("strings may not contain U+0000 (NUL)", field=path or "$")
        return
    if not isinstance(value, dict | list):
        return
    if depth > MAX_DEPTH:
        raise MalformedEntryError(_too_deep(), field=path or "$")
    if isinstance(value, dict):
        for key, item in value.items():
            if find_nul and "\x00" in key:
                raise MalformedEntryError(
                    f"member name {key!r} contains U+0000 (NUL)", field=path or "$"
                )
            item_path = f"{path}.{key}" if path else key
            _walk(item, item_path, depth + 1, find_nul=find_nul)
    else:
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1, find_nul=find_nul)


def too_deep_error(text: str) -> MalformedEntryError:
    """The refusal of a document too deep for the parser itself, naming where it
    first nests deeper than ``MAX_DEPTH``.

    The parser gave up (``RecursionError``), so there is no object to walk: this
    scans the text, following member names and array positions. It runs only
    for such documents, which are refused anyway.
    """
    frames: list[list[Any]] = []  # per open container: [opening bracket, index or key]
    key = ""
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char == '"':
            close = at + 1
            while close < end and text[close] != '"':
                close += 2 if text[close] == "\\" else 1
            key, at = text[at + 1 : close], close + 1
            continue
        if char in "[{":
            if len(frames) >= MAX_DEPTH:
                break
            frames.append([char, 0 if char == "[" else ""])
        elif char in "]}" and frames:
            frames.pop()
        elif char == "," and frames and frames[-1][0] == "[":
            frames[-1][1] += 1
        elif char == ":" and frames:
            frames[-1][1] = key
        at += 1
    path = ""
    for opener, position in frames:
        path = (
            f"{path}[{position}]" if opener == "[" else (f"{path}.{position}" if path else position)
        )
    return MalformedEntryError(_too_deep(), field=path or "$")


def _too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels of objects and arrays"
