"""Hypothesis strategies for fuzzing the gRPC ledger (used by ``tests/test_grpc_fuzz.py``
and its larger-budget twin under ``tests/reliability``). No tests here.

What a hostile client can put in a request, in three layers:

* field values at the edges: 64-bit integers, NUL and control characters, empty and
  huge bytes, calendar-edge dates;
* entry bytes that look like entries: real entries of every kind mutated at one place
  (a NUL in a URN, a huge integer, nested arrays thousands deep), JSON-ish junk,
  numbers beyond Python's digit limit, entries signed by an enrolled org's key so
  they get past the signature check and reach validation and the commit;
* request tokens: valid ones, ones for another method, and JWTs correctly signed by an
  enrolled key whose header and claims have wrong types (a string ``iat``, a list ``kid``);
* raw bytes for the serialized request: malformed protobuf (overlong varints, wrong
  wire types, truncated lengths, invalid UTF-8 in string fields).
"""

from __future__ import annotations

import base64
import copy
import json
import time
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from clients.sdk import OrgSigner, new_entry
from ledger._pb.carbonledger.v1 import ledger_pb2 as pb
from ledger.canonical import canonicalize
from tests import carbon_builders as cb

U64_EDGES = [0, 1, 2, 3, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1]
I64_EDGES = [-(2**63), -(2**31), -1, 0, 1, 2**31 - 1, 2**63 - 1]
HOSTILE_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "urn:pact:company:customcode:fuzzer\x00",
    "\x01\x07\x1b\x7f",
    "\u2028\u2029\ufeff",
    "\U0010ffff\U0001d518",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "x" * 10_000,
    "../" * 40,
    "%00",
    "' OR 1=1 --",
]
DEEP_NESTING = [64, 1_000, 5_000, 100_000]
_NESTED = "nested-placeholder-1f3a9c"  # ASCII: the same in canonical and plain JSON


def text_values() -> SearchStrategy[str]:
    """Strings a protobuf or JSON string can carry (no lone surrogates), hostile first."""
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    )


def byte_values() -> SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from([b"", b"\x00" * 32, b"\xff" * 64, b"{}", b"null", b"x" * 300_000]),
        st.binary(max_size=80),
    )


def uint64s() -> SearchStrategy[int]:
    return st.one_of(st.sampled_from(U64_EDGES), st.integers(0, 40), st.integers(0, 2**64 - 1))


def json_values() -> SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from([2**64, -(2**63) - 1, 2**63]),
        st.floats(allow_nan=False, allow_infinity=False),
        text_values(),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(text_values(), inner, max_size=3)
        ),
        max_leaves=8,
    )


# -- entries ------------------------------------------------------------------


def _templates(org: str, product: str) -> list[dict[str, Any]]:
    """Valid entries of several kinds for ``org`` (a supplier and verifier), to mutate;
    footprints more often, as they reach the most rules and tables."""
    footprint = cb.footprint_entry(org, product)
    return [
        footprint,
        footprint,
        footprint,
        cb.grant(org, "urn:pact:company:customcode:pack-maker", product_id=product),
        cb.retirement(org, "I-REC", "FZ-000001", "FZ-000010"),
        cb.attestation(org, footprint["entryId"]),
        new_entry("org.enroll", org, orgId=org + ":sub", name="sub", roles=["buyer"]),
    ]


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every member path in a JSON value (objects and arrays), the root excluded."""
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    found: list[tuple[Any, ...]] = []
    for key, child in items:
        found.append((*prefix, key))
        found.extend(json_paths(child, (*prefix, key)))
    return found


def get_at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def set_at(value: Any, path: tuple[Any, ...], new: Any) -> None:
    get_at(value, path[:-1])[path[-1]] = new


def _encode(entry: Any) -> bytes:
    """Canonical bytes when the value has them, plain JSON otherwise (huge numbers)."""
    try:
        data = canonicalize(entry)
    except Exception:
        data = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode()
    return data


@st.composite
def mutated_entries(draw: st.DrawFn, org: str, *, nul_in_footprint: bool = False) -> bytes:
    """A real entry with fresh ids, changed at one place (or not at all); with
    ``nul_in_footprint``, a footprint with a NUL in one of its stored URNs."""
    product = f"urn:pact:product:fuzzer:{draw(st.integers(0, 10**9))}"
    templates = _templates(org, product)
    entry = copy.deepcopy(templates[0] if nul_in_footprint else draw(st.sampled_from(templates)))
    entry["entryId"] = str(draw(st.uuids(version=4)))
    if "footprint" in entry:
        entry["footprint"]["id"] = str(draw(st.uuids(version=4)))
    hows = ["none", "nul-in-urn", "nul", "replace", "deep", "delete"]
    how = "nul-in-urn" if nul_in_footprint else draw(st.sampled_from(hows))
    paths = json_paths(entry)
    if how == "nul-in-urn":  # one the signer does not have to match: it reaches storage
        urns = [p for p in paths if str(get_at(entry, p)).startswith("urn:") and p[-1] != "org"]
        paths = [p for p in urns if p[:2] != ("footprint", "companyIds")] or paths
    path = draw(st.sampled_from(paths))
    old = get_at(entry, path)
    if how in ("nul", "nul-in-urn") and isinstance(old, str):
        cut = draw(st.integers(0, len(old)))
        set_at(entry, path, old[:cut] + "\x00" + old[cut:])
    elif how == "replace":
        set_at(entry, path, draw(json_values()))
    elif how == "delete" and isinstance(get_at(entry, path[:-1]), dict):
        del get_at(entry, path[:-1])[path[-1]]
    elif how == "deep":
        set_at(entry, path, _NESTED)
        depth = draw(st.sampled_from(DEEP_NESTING))
        nested = ("[" * depth + "]" * depth).encode()
        return _encode(entry).replace(json.dumps(_NESTED).encode(), nested)
    return _encode(entry)


def entry_bytes(org: str) -> SearchStrategy[bytes]:
    """Anything in the ``entry`` field, from nearly valid entries to junk."""
    junk_json = json_values().map(lambda v: json.dumps(v).encode())
    deep = st.sampled_from(DEEP_NESTING).map(lambda n: b"[" * n + b"]" * n)
    huge_number = st.just(b'{"type":"footprint","n":' + b"1" * 5_000 + b"}")
    mutated = mutated_entries(org)
    return st.one_of(
        mutated, mutated, mutated, mutated, junk_json, deep, huge_number, byte_values()
    )


def submit_requests(signer: OrgSigner) -> SearchStrategy[Message]:
    """SubmitRequests signed by ``signer`` (so they reach validation) or forged."""

    def signed(data: bytes, how: str, junk: bytes) -> Message:
        key_id = signer.key_id if how != "junk-key" else junk
        signature = signer.private_key.sign(data) if how == "signed" else junk
        return pb.SubmitRequest(entry=data, key_id=key_id, signature=signature)

    return st.builds(
        signed,
        entry_bytes(signer.org),
        st.sampled_from(["signed", "signed", "signed", "junk-signature", "junk-key"]),
        byte_values(),
    )


# -- request messages from their descriptors -------------------------------

_SCALARS: dict[int, SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_UINT64: uint64s(),
    FieldDescriptor.TYPE_FIXED64: uint64s(),
    FieldDescriptor.TYPE_UINT32: st.sampled_from([0, 1, 2**31, 2**32 - 1]),
    FieldDescriptor.TYPE_INT64: st.sampled_from(I64_EDGES) | st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_STRING: text_values(),
    FieldDescriptor.TYPE_BYTES: byte_values(),
}


def messages(
    descriptor: Descriptor, overrides: dict[str, SearchStrategy[Any]] | None = None
) -> SearchStrategy[Message]:
    """Any message of this type: each field unset or an edge value of its type."""
    overrides = overrides or {}
    cls = GetMessageClass(descriptor)

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        values: dict[str, Any] = {}
        for oneof in descriptor.oneofs:  # at most one member of each oneof is set
            chosen = draw(st.sampled_from([None, *oneof.fields]))
            if chosen is not None:
                values[chosen.name] = draw(overrides.get(chosen.name, _SCALARS[chosen.type]))
        for field in descriptor.fields:
            if field.containing_oneof is None and draw(st.booleans()):
                values[field.name] = draw(overrides.get(field.name, _SCALARS[field.type]))
        return cls(**values)

    return build()


def cosignature_lines() -> SearchStrategy[str]:
    """``— <name> <base64(key id ‖ timestamp ‖ signature)>`` with hostile parts."""
    timestamps = st.sampled_from(U64_EDGES).map(lambda t: t.to_bytes(8, "big"))
    body = st.builds(
        lambda k, t, s: k + t + s,
        st.binary(min_size=4, max_size=4),
        timestamps,
        st.binary(min_size=64, max_size=64),
    )
    raw = body | st.binary(max_size=100)
    return (
        st.builds(
            lambda name, data: f"\u2014 {name} {base64.b64encode(data).decode()}",
            text_values(),
            raw,
        )
        | text_values()
    )


# -- raw request bytes ------------------------------------------------------

MALFORMED_PROTOBUF = [
    b"\x08" + b"\xff" * 9 + b"\x7f",  # a varint beyond 2^64
    b"\x08" + b"\xff" * 10 + b"\x01",  # an 11-byte varint
    b"\x08" + b"\xff" * 9 + b"\x01",  # -1 as a 64-bit varint: 2^64-1 in field 1
    b"\x18" + b"\x80" * 9 + b"\x01",  # -2^63 as a varint in field 3
    b"\x08",  # a tag without its value
    b"\x12\xff\xff\xff\xff\x0fab",  # a length far past the end
    b"\x0a\x05ab",  # a truncated length-delimited field
    b"\x0b",  # an unmatched start-group
    b"\x0f",  # wire type 7
    b"\x00\x00",  # field number 0
    b"\x12\x02\xff\xfe",  # invalid UTF-8 in field 2 (a string in several requests)
    b"\x12\x02\xc0\x80",  # overlong UTF-8 NUL
    b"\x0a\x01\x00" * 10_000,  # a repeated field, many times
]


def raw_requests() -> SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from(MALFORMED_PROTOBUF),
        st.binary(max_size=64),
        st.lists(st.sampled_from(MALFORMED_PROTOBUF) | st.binary(max_size=8), max_size=4).map(
            b"".join
        ),
    )


# -- request tokens ------------------------------------------------------------


@dataclass(frozen=True)
class Now:
    """A claim value resolved when the token is made: now plus ``offset`` seconds."""

    offset: int


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _resolve(value: Any) -> Any:
    return int(time.time()) + value.offset if isinstance(value, Now) else value


def forged_token(signer: OrgSigner, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A JWT correctly signed by ``signer``'s key with whatever header and claims."""
    header = {k: _resolve(v) for k, v in header.items()}
    claims = {k: _resolve(v) for k, v in claims.items()}
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = signer.private_key.sign(signing_input.encode())
    return f"{signing_input}.{_b64url(signature)}"


def metadata(signers: list[OrgSigner], method_path: str) -> SearchStrategy[list[tuple[str, str]]]:
    """The ``authorization`` metadata of a call: mostly a valid token (so the call
    reaches the method's work), else none, one for another method, garbage, or a
    token correctly signed by an enrolled key with one header or claim member wrong
    (of another type, a number as a string, missing)."""

    @st.composite
    def forged(draw: st.DrawFn) -> str:
        signer = draw(st.sampled_from(signers))
        header: dict[str, Any] = {"alg": "EdDSA", "typ": "JWT", "kid": signer.key_id.hex()}
        claims: dict[str, Any] = {
            "iss": signer.org,
            "aud": method_path,
            "iat": Now(0),
            "exp": Now(60),
            "jti": draw(st.uuids()).hex,
        }
        part = draw(st.sampled_from([header, claims, claims]))
        key = draw(st.sampled_from(sorted(part)))
        good = _resolve(part[key])
        wrong = draw(
            st.one_of(
                st.just(str(good)),
                st.just(str(good)),
                st.just(float(good)) if isinstance(good, int) else st.just([good]),
                st.sampled_from(U64_EDGES + I64_EDGES),
                json_values(),
                st.just(_MISSING),
            )
        )
        if wrong is _MISSING:
            del part[key]
        else:
            part[key] = wrong
        return forged_token(signer, header, claims)

    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
    valid = st.sampled_from(signers).map(lambda s: s.request_token(method_path))
    other_method = st.sampled_from(signers).map(lambda s: s.request_token("/other/Method"))
    token = st.one_of(valid, valid, valid, other_method, forged(), forged(), printable)
    prefix = st.sampled_from(["Bearer "] * 4 + ["", "bearer "])
    with_token = st.builds(lambda p, t: [("authorization", p + t)], prefix, token)
    return st.one_of(with_token, with_token, with_token, with_token, st.just([]))


_MISSING = object()
