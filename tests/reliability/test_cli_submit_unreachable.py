"""``carbonledger submit`` to a ledger nobody runs: one line and exit code 3.

Slow (about ten seconds): the SDK's stream retries ride out a ledger restart
before giving up, with gRPC's reconnection backoff between attempts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.keys import new_private_key, save_private_key
from tests.test_cli_errors import check_unreachable_ledger

pytestmark = pytest.mark.reliability


def test_submit_to_an_unreachable_ledger_is_one_line(tmp_path: Path) -> None:
    key = tmp_path / "org.key"
    save_private_key(new_private_key(), key)
    command = ["submit", "--key", "{key}", "--org", "urn:x:org", "{entry}"]
    check_unreachable_ledger(command, key, tmp_path)
