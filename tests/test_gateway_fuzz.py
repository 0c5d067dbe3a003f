"""Property-based HTTP fuzzing (schemathesis) of a live gateway against its own
``/openapi.json``, on SQLite and PostgreSQL: no request may produce a server error,
and every response must match the documented status codes, content types and schemas.

The ledger behind it holds footprints (one with a reference period ending in year
9999), grants and enrolled orgs, and each request goes out as the auditor, a buyer,
a supplier, with a bogus token or with none, so authenticated routes are exercised
past the 401. Besides schemathesis's own cases, every operation gets cases with one
parameter (path, query, a JSON body member, or the Basic-auth client id) replaced by
a hostile value: NUL and control characters, dates at the edges of the calendar,
integers beyond 64 bits.

The budget is ``CARBONLEDGER_FUZZ_EXAMPLES`` examples per operation and kind (small by
default; ``make test-reliability`` runs the larger twin in ``tests/reliability``).
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import grpc_fuzz_support as fz
from tests.fuzz_settings import budget, fuzz_settings
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_support import environment

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HOSTILE = [
    "\x00",
    "a\x00b",
    PRODUCT + "\x00",
    "\x01\x1f\x7f",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+14:00",
    "0000-01-01T00:00:00Z",
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    "1" * 5_000,
    "",
    "%00",
    "\u202e\ufeff",
    "x" * 10_000,
]


def _populate(env: Any) -> tuple[dict[str, dict[str, str]], dict[str, list[Any]]]:
    """Footprints and grants on the ledger; the request headers of each identity, and
    real values for parameters (so cases find data, not only 404s)."""
    fid, _ = env.footprint(SUPPLIER, PRODUCT)
    fid2, _ = env.footprint(SUPPLIER, PRODUCT + "-2")
    fid3, _ = env.footprint(SUPPLIER, PRODUCT + "-far", ref_end="9999-12-31T00:00:00Z")
    env.grant(SUPPLIER, BUYER, "detail", footprintId=fid)
    env.grant(SUPPLIER, BUYER, "summary", productId=PRODUCT + "-2")
    client_id, secret = env.credentials(BUYER)
    basic = f"{client_id}:{secret}".encode()
    moment = "2025-06-01T00:00:00Z"
    known: dict[str, list[Any]] = {
        "id": [fid, fid2, fid3],
        "productId": [PRODUCT, PRODUCT + "-2", PRODUCT + "-far"],
        "companyId": [SUPPLIER],
        "org": [SUPPLIER, BUYER],
        "seq": list(range(env.server.store.tree_size())),
        "tree_size": [env.server.store.tree_size()],
        "first": [1, 2],
        "second": [env.server.store.tree_size()],
        "validOn": [moment],
        "validAfter": [moment],
        "validBefore": [moment],
        "grant_type": ["client_credentials"],
    }
    identities = {
        "auditor": {"Authorization": f"Bearer {env.token(AUDITOR)}"},
        "buyer": {"Authorization": f"Bearer {env.token(BUYER)}"},
        "supplier": {"Authorization": f"Bearer {env.token(SUPPLIER)}"},
        "bogus token": {"Authorization": "Bearer not.a.token"},
        "nobody": {},
        # For /auth/token: the real client, a wrong secret, a NUL in the client id.
        "basic": {"Authorization": f"Basic {base64.b64encode(basic).decode()}"},
        "basic wrong": {"Authorization": "Basic " + base64.b64encode(b"c:wrong").decode()},
        "basic nul": {"Authorization": "Basic " + base64.b64encode(b"c\x00:x").decode()},
    }
    return identities, known


def _operations(url: str) -> list[Any]:
    loaded = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = []
    for result in loaded.get_all_operations():
        ok = getattr(result, "ok", None)
        assert ok is not None, f"the schema has an invalid operation: {result}"
        operations.append(ok())
    return operations


@st.composite
def _cases(draw: st.DrawFn, operation: Any, known: dict[str, list[Any]], hostile: bool) -> Any:
    """A schemathesis case with some parameters set to real values (from ``known``)
    and, if ``hostile``, one path, query or body member set to a hostile value."""
    case = draw(operation.as_strategy())
    names = [p["name"] for p in operation.definition.raw.get("parameters", [])]
    form = case.body if isinstance(case.body, dict) else None
    for name in names + list(form or {}):
        if name in known and draw(st.booleans()):
            value = draw(st.sampled_from(known[name]))
            if name in (case.path_parameters or {}):
                case.path_parameters[name] = value
            elif form is not None and name in form:
                case.body = {**case.body, name: value}
            elif name != "authorization":
                case.query = {**(case.query or {}), name: value}
    if not hostile:
        return case
    places = [("path", name) for name in (case.path_parameters or {})]
    places += [("query", name) for name in names if name != "authorization"]
    if isinstance(case.body, dict):
        places += [("body", path) for path in fz.json_paths(case.body)]
    if not places:
        return case
    where, name = draw(st.sampled_from(places))
    # An empty path segment is another URL (``/3/footprints/`` is the listing).
    value = draw(st.sampled_from([v for v in HOSTILE if v or where != "path"]))
    if where == "path":
        case.path_parameters[name] = value
    elif where == "query":
        case.query = {**(case.query or {}), name: value}
    else:
        case.body = copy.deepcopy(case.body)
        fz.set_at(case.body, name, value)
    return case


def fuzz_gateway(data_dir: Path, db_url: str, examples: int) -> dict[str, int]:
    """Fuzz every operation of a live gateway; return how many responses had each
    ``METHOD path status``. Raises with every operation's failure listed."""
    calls: dict[str, int] = {}
    failures: list[str] = []
    # Bad logins are part of the fuzz: the throttle must not hide what follows them.
    with environment(data_dir, db_url, login_failures_per_minute=100_000) as env:
        identities, known = _populate(env)
        operations = _operations(env.url)
        assert len(operations) >= 12
        for operation in operations:
            login = operation.path == "/auth/token"
            who = [k for k in identities if k.startswith("basic") == login or k == "nobody"]
            for kind, cases in (
                ("schema", _cases(operation, known, hostile=False)),
                ("hostile", _cases(operation, known, hostile=True)),
            ):

                @given(case=cases, identity=st.sampled_from(who))
                @fuzz_settings(examples, data_dir / "hypothesis")
                def run(case: Any, identity: str) -> None:
                    headers = identities[identity]
                    if case.headers and "Authorization" in headers:
                        case.headers.pop("authorization", None)
                    try:
                        response = case.call_and_validate(headers=headers, checks=CHECKS)
                    except (Exception, FailureGroup) as exc:
                        exc.add_note(f"sent as: {identity}")
                        raise
                    key = f"{case.method} {case.path} {response.status_code}"
                    calls[key] = calls.get(key, 0) + 1

                try:
                    run()
                except (Exception, FailureGroup) as exc:  # every operation's failure is reported
                    notes = "\n".join(getattr(exc, "__notes__", []))
                    failures.append(
                        f"[{operation.method.upper()} {operation.path}, {kind}] {exc}\n{notes}"
                    )
    assert not failures, "\n\n".join(failures)
    return calls


def test_no_server_errors_and_documented_responses(tmp_path: Path, db_url: str) -> None:
    calls = fuzz_gateway(tmp_path, db_url, budget(25))
    # The fuzzer reached the handlers, not only the validation layer.
    assert sum(n for key, n in calls.items() if key.endswith(" 200")) >= 40, calls
    assert any(key.endswith(" 400") for key in calls), calls
    # Logins reached the credential check (a real client's 200 or a wrong secret's 401).
    assert any(key in ("POST /auth/token 200", "POST /auth/token 401") for key in calls), calls
