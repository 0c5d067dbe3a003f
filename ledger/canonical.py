"""Entry bytes: RFC 8785 (JCS) canonical JSON, checked, never re-serialised for storage.

The ledger signs, hashes and stores the exact bytes a client sent. It accepts
them only if they already are the canonical form of the object they encode,
so every party that re-canonicalises the object arrives at the same bytes and
the same hash. Quantities are decimal strings: a JSON number with a fraction
or exponent anywhere is refused, naming its path, because float formatting
would make canonical bytes depend on the implementation.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
import rfc8785

from ledger.errors import MalformedEntryError
from ledger.json_limits import check_json_limits, too_deep_error

# JCS represents integers as IEEE doubles; beyond 2**53 they lose precision.
_MAX_SAFE_INTEGER = 2**53 - 1


class _FloatMarker(Decimal):
    """A parsed JSON number with a fraction or exponent (refused after parsing)."""


def _reject_constant(name: str) -> Any:
    raise MalformedEntryError(f"{name} is not valid JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise MalformedEntryError(f"duplicate member {key!r}")
        obj[key] = value
    return obj


def _find_non_string_quantities(value: Any, path: str) -> None:
    if isinstance(value, _FloatMarker):
        raise MalformedEntryError(
            "JSON numbers with a fraction or exponent are not allowed; "
            'write quantities as decimal strings, e.g. "12.5"',
            field=path or "$",
        )
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_SAFE_INTEGER:
        raise MalformedEntryError("integer outside the JSON safe range", field=path or "$")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _find_non_string_quantities(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_non_string_quantities(item, f"{path}[{index}]")


def canonicalize(obj: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical bytes of ``obj`` (what a client signs).

    An object made only of dicts, lists, strings, safe integers, booleans and null,
    with no key outside the Basic Multilingual Plane (almost every entry), is
    written by orjson, whose sorted output is byte-identical to RFC 8785 for such
    objects (see ``_is_canonical``) and about ten times faster than the ``rfc8785``
    package, which writes everything else. An edge collector signing batches of
    meter readings spends its time here.
    """
    if type(obj) is dict and _is_plain(obj):
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it below, as it always has
    _find_non_string_quantities(obj, "")
    return rfc8785.dumps(obj)


def _is_plain(value: Any) -> bool:
    """Whether ``value`` holds only exact built-in JSON types, safe integers and BMP
    keys: the objects on which orjson and RFC 8785 agree byte for byte."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER)
    if kind is dict:
        return all(
            type(key) is str and (key.isascii() or max(key) <= "\uffff") and _is_plain(item)
            for key, item in value.items()
        )
    if kind is list:
        return all(_is_plain(item) for item in value)
    return False


def parse_canonical(data: bytes) -> dict[str, Any]:
    """Parse entry bytes and insist they are already canonical.

    Raises ``MalformedEntryError`` naming the problem: invalid UTF-8 or JSON,
    duplicate members, a non-object top level, float quantities (with their
    path), nesting or strings beyond ``ledger.json_limits`` (with their path),
    or bytes that differ from their canonical form.

    The common case (canonical bytes of plain values) costs one parse and one
    serialisation in Rust (``_parsed_if_plainly_canonical``); anything else takes
    the standard library's parse, and the slower strict parse that names the exact
    problem runs only for bytes that are going to be refused.
    """
    obj = _parsed_if_plainly_canonical(data)
    if obj is not None:
        return obj
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedEntryError(f"entry is not valid UTF-8 ({exc.reason})") from None
    suspicious = [False]

    def note_float(value: str) -> Any:
        suspicious[0] = True
        return _FloatMarker(value)

    def note_int(value: str) -> Any:
        number = int(value)  # ValueError beyond sys.get_int_max_str_digits(): below
        if abs(number) > _MAX_SAFE_INTEGER:
            suspicious[0] = True
        return number

    try:
        obj = json.loads(
            text, parse_float=note_float, parse_int=note_int, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise MalformedEntryError(f"entry is not valid JSON: {exc.msg} at byte {exc.pos}") from None
    except RecursionError:
        raise too_deep_error(text) from None
    except ValueError:  # an integer with more digits than int() reads
        raise MalformedEntryError(
            f"entry has an integer of more than {sys.get_int_max_str_digits()} digits"
        ) from None
    if not isinstance(obj, dict):
        raise MalformedEntryError("an entry must be a JSON object")
    check_json_limits(obj, data)
    try:
        if not suspicious[0] and _is_canonical(obj, data):
            return obj
        return _parse_strictly(text, data)
    except rfc8785.CanonicalizationError:
        # Valid UTF-8 JSON can still escape a lone surrogate ("\ud800"): not Unicode text.
        raise MalformedEntryError("entry has a string that is not valid Unicode") from None


def _parsed_if_plainly_canonical(data: bytes) -> dict[str, Any] | None:
    """The object ``data`` encodes if it is an object of plain values (``_is_plain``)
    and ``data`` is its canonical form within ``ledger.json_limits``; else None, and
    the full parse decides, naming any problem.

    orjson refuses what the standard library would refuse or mark (invalid UTF-8,
    NaN, integers beyond 64 bits); floats and unsafe integers are not plain;
    duplicate members or any other deviation make the serialisation differ from
    ``data``. Such input is rare and takes the full parse. For plain objects
    orjson's sorted output is RFC 8785 (``_is_canonical``); the limits are checked
    before the walk so that nothing here recurses deeper than ``MAX_DEPTH``.
    """
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict:
        return None
    check_json_limits(obj, data)
    if not _is_plain(obj):
        return None
    try:
        if orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) != data:
            return None
    except orjson.JSONEncodeError:
        return None  # a lone surrogate: the full parse names it
    return obj


def _parse_strictly(text: str, data: bytes) -> dict[str, Any]:
    """The precise refusal: duplicates, floats with their path, or non-canonical bytes."""
    obj = json.loads(
        text,
        parse_float=_FloatMarker,
        parse_constant=_reject_constant,
        object_pairs_hook=_object_without_duplicates,
    )
    _find_non_string_quantities(obj, "")
    if rfc8785.dumps(obj) != data:
        raise MalformedEntryError(
            "entry bytes are not in RFC 8785 canonical form (sorted keys, no whitespace, "
            "minimal escapes); sign canonicalize(entry) instead"
        )
    return dict(obj)


def _is_canonical(obj: dict[str, Any], data: bytes) -> bool:
    """Whether ``data`` is the RFC 8785 form of ``obj``.

    For objects of strings, integers, booleans and null (all an entry may hold
    once floats are refused), orjson's sorted, compact output is byte-identical
    to RFC 8785 (same escapes, checked for every BMP character in
    ``tests/test_canonical.py``) except for the order of keys with characters
    outside the Basic Multilingual Plane (JCS sorts by UTF-16 code units). So
    it decides unless such a key occurs, and the ``rfc8785`` package decides the
    rest. orjson is about ten times faster here than the standard library.
    """
    try:
        fast = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return False  # a lone surrogate: the strict path names it
    if fast == data and (not _has_astral_bytes(data) or not _has_astral_key(obj)):
        return True
    return bool(rfc8785.dumps(obj) == data)


# The lead bytes of the 4-byte UTF-8 sequences (characters outside the BMP).
_ASTRAL_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def _has_astral_bytes(data: bytes) -> bool:
    # Five memchr-speed scans; a regular expression class steps through every byte
    # (0.5 ms for a batch of 1,000 meter readings).
    return any(lead in data for lead in _ASTRAL_LEADS)


def _has_astral_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            any(ord(c) > 0xFFFF for c in key) or _has_astral_key(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_astral_key(item) for item in value)
    return False
