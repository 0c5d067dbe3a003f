"""Entry bytes must be RFC 8785 canonical, float-free JSON objects."""

from __future__ import annotations

import json

import orjson
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical import canonicalize, parse_canonical
from ledger.errors import MalformedEntryError

# Any text but U+0000, which entries may not hold (ledger.json_limits).
storable = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(storable),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(storable, max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(storable, max_size=8), json_values, max_size=6))
def test_canonical_bytes_parse_and_others_do_not(obj: dict[str, object]) -> None:
    data = rfc8785.dumps(obj)
    assert parse_canonical(data) == obj
    assert canonicalize(obj) == data
    pretty = json.dumps(obj, indent=1, ensure_ascii=True).encode()
    if pretty != data:
        with pytest.raises(MalformedEntryError, match="canonical"):
            parse_canonical(pretty)


def test_the_fast_check_escapes_every_bmp_character_as_rfc8785_does() -> None:
    # parse_canonical accepts bytes equal to orjson's sorted output without asking
    # rfc8785; that is sound only while the two agree on every string they can meet.
    characters = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(characters), 256):
        run = characters[start : start + 256]
        obj = {c + "k": c for c in run} | {"all": "".join(run), "n": [-(2**53) + 1, True, None]}
        assert orjson.dumps(obj, option=orjson.OPT_SORT_KEYS) == rfc8785.dumps(obj)


class _Label(str):
    pass


@pytest.mark.parametrize(
    "obj",
    [
        {"tuple": ("x", 1)},
        {"subclass": _Label("x")},
        {"float": 1.5},
        {"astral": {"\U0001f600": "1", "\uff61": "2"}},
        {"nested": [{"b": None, "a": [True, -(2**53) + 1]}]},
    ],
)
def test_canonicalize_writes_what_rfc8785_writes_on_any_input(obj: dict[str, object]) -> None:
    assert canonicalize(obj) == rfc8785.dumps(obj)


def test_canonicalize_refuses_what_it_always_refused() -> None:
    with pytest.raises(MalformedEntryError, match="safe range"):
        canonicalize({"big": 2**53})
    with pytest.raises(rfc8785.CanonicalizationError):
        canonicalize({"lone": "\ud800"})


def test_keys_outside_the_bmp_sort_by_utf16_code_units() -> None:
    # U+1F600 sorts before U+FF61 in UTF-16 (surrogate 0xD83D) but after it by code point.
    obj = {"\U0001f600": "1", "\uff61": "2"}
    data = rfc8785.dumps(obj)
    assert data.index("\U0001f600".encode()) < data.index("\uff61".encode())
    assert parse_canonical(data) == obj
    python_order = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with pytest.raises(MalformedEntryError):
        parse_canonical(python_order.encode())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":{"b":[1,2.5]}}', "a.b[1]: JSON numbers with a fraction"),
        (b'{"a":1e3}', "a: JSON numbers"),
        (b'{"a":1,"a":2}', "duplicate member 'a'"),
        (b'{"a":NaN}', "NaN is not valid JSON"),
        (b"[1]", "must be a JSON object"),
        (b'{"a":"\xff"}', "not valid UTF-8"),
        (b'{"a":9007199254740993}', "safe range"),
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a":"\\ud800"}', "not valid Unicode"),
    ],
)
def test_bad_bytes_are_refused_naming_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(MalformedEntryError) as err:
        parse_canonical(data)
    assert message in str(err.value)
