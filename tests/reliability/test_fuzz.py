"""The HTTP and gRPC fuzzers with a larger budget (``CARBONLEDGER_FUZZ_EXAMPLES``,
which ``make test-reliability`` sets; 300 examples per operation and kind without it).
Same properties as the quick runs in ``tests/``: no server error, only documented
statuses, and no effect on a concurrent legitimate submitter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz_settings import budget
from tests.test_gateway_fuzz import fuzz_gateway
from tests.test_grpc_fuzz import fuzz_ledger

pytestmark = pytest.mark.reliability
LARGE = 300


@pytest.mark.timeout(3600)
def test_gateway_fuzzing_at_a_larger_budget(tmp_path: Path, db_url: str) -> None:
    calls = fuzz_gateway(tmp_path, db_url, budget(LARGE))
    assert sum(n for key, n in calls.items() if key.endswith(" 200")) >= 200, calls


@pytest.mark.timeout(3600)
def test_grpc_fuzzing_at_a_larger_budget(tmp_path: Path, db_url: str) -> None:
    counts = fuzz_ledger(tmp_path, db_url, budget(LARGE))
    assert counts.get("Submit OK", 0) >= 5, counts
