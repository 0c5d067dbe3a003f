"""The fuzzers' budget and Hypothesis settings (shared by the HTTP and gRPC fuzzers
and their larger-budget twins in ``tests/reliability``). No tests here.

``CARBONLEDGER_FUZZ_EXAMPLES`` sets the examples per operation and kind; without it
each test uses its own default (small in ``tests/``, large under ``tests/reliability``;
``make test-reliability`` sets it). Examples found failing are kept in a directory
under the test's temporary directory, never in the worktree.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

EXAMPLES_ENV = "CARBONLEDGER_FUZZ_EXAMPLES"
PROFILE = "carbonledger-fuzz"

# Calls go to a live server: no per-example deadline, and the health checks about
# slow or filtered generation do not apply to a fuzzer's large, varied inputs.
settings.register_profile(PROFILE, deadline=None, suppress_health_check=list(HealthCheck))


def budget(default: int) -> int:
    """Examples per operation and kind: ``CARBONLEDGER_FUZZ_EXAMPLES`` or ``default``."""
    return int(os.environ.get(EXAMPLES_ENV) or default)


def fuzz_settings(examples: int, database: Path) -> settings:
    return settings(
        settings.get_profile(PROFILE),
        max_examples=examples,
        database=DirectoryBasedExampleDatabase(database),
    )
