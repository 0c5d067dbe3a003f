"""The committed generated code in ledger/_pb must be what proto/ produces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_is_current(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "proto" / "generate.py"), str(tmp_path)], check=True)
    fresh = {
        p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "ledger/_pb").rglob("*.py*")
    }
    committed = {
        p.relative_to(ROOT): p.read_bytes()
        for p in (ROOT / "ledger/_pb").rglob("*.py*")
        if "__pycache__" not in p.parts
    }
    assert fresh, "the generator produced nothing"
    stale = sorted(
        str(k) for k in fresh.keys() | committed.keys() if fresh.get(k) != committed.get(k)
    )
    assert not stale, f"run `make proto`: stale generated files {stale}"
