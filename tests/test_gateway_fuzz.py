"""Property-based HTTP fuzzing (schemathesis) of a live gateway against its own
``/openapi.json``: no request may produce a server error, and every response must
match the documented status codes, content types and schemas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.store.database import sqlite_url
from tests.ledger_fixtures import AUDITOR, BUYER, SUPPLIER
from tests.test_gateway_support import environment

PRODUCT = "urn:pact:product:recycler-a:lfp-280ah"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with environment(tmp, sqlite_url(tmp)) as env:
        fid, _ = env.footprint(SUPPLIER, PRODUCT)
        env.footprint(SUPPLIER, PRODUCT + "-2")
        env.grant(SUPPLIER, BUYER, "detail", footprintId=fid)
        yield {
            "url": env.url,
            "headers": {"Authorization": f"Bearer {env.token(AUDITOR)}"},
        }


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _operations(url: str) -> list[Any]:
    loaded = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = []
    for result in loaded.get_all_operations():
        ok = getattr(result, "ok", None)
        assert ok is not None, f"the schema has an invalid operation: {result}"
        operations.append(ok())
    return operations


def test_no_server_errors_and_documented_responses(live: dict[str, Any]) -> None:
    operations = _operations(live["url"])
    assert len(operations) >= 12
    calls: dict[str, int] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            response = case.call_and_validate(headers=live["headers"], checks=CHECKS)
            key = f"{case.method} {case.path} {response.status_code}"
            calls[key] = calls.get(key, 0) + 1

        run()
    # The fuzzer reached the handlers, not only the validation layer.
    assert sum(n for key, n in calls.items() if key.endswith(" 200")) >= 40, calls
    assert any(key.endswith(" 400") for key in calls), calls
