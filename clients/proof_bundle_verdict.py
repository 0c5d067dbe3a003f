"""``verify-entry``'s verdict on a ``.tlog-proof`` bundle, checked offline with the
ledger's vkey, an optional C2SP tlog-policy and an optional signer key
(``ledger.entry_proof``): the same members in text and JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ledger.entry_proof import EntryProofError, open_entry_proof
from ledger.note import NoteVerifier
from ledger.note.tlog_policy import TlogPolicy


def bundle_verdict(
    bundle: bytes,
    ledger: NoteVerifier,
    policy: TlogPolicy | None,
    signer: bytes | None,
    seq: int | None,
) -> dict[str, Any]:
    """The verdict on ``bundle``; ``seq``, when given, must be the one it proves."""
    try:
        proven = open_entry_proof(bundle.decode("utf-8"), ledger, policy, signer)
    except (EntryProofError, UnicodeDecodeError) as exc:
        return {"ok": False, "seq": seq, "reason": f"the bundle does not verify: {exc}"}
    if seq is not None and proven.record.seq != seq:
        return {"ok": False, "seq": seq, "reason": f"the bundle is of seq {proven.record.seq}"}
    entry = proven.entry_object()
    return {
        "ok": True,
        "seq": proven.record.seq,
        "treeSize": proven.checkpoint.size,
        "type": entry.get("type"),
        "org": entry.get("org"),
        "cosigners": list(proven.cosigners),
        "signatureChecked": proven.signature_checked,
    }


def print_bundle_verdict(out: dict[str, Any], as_json: bool) -> None:
    """Print a verdict; exit 1 if it is a failure."""
    if not out["ok"]:
        click.echo(json.dumps(out) if as_json else f"FAILED: {out['reason']}")
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(out))
        return
    line = (
        f"OK: seq {out['seq']} ({out['type']} by {out['org']}) is in the signed tree of size "
        f"{out['treeSize']}"
    )
    if out["cosigners"]:
        line += f", cosigned by {', '.join(out['cosigners'])}"
    if out["signatureChecked"]:
        click.echo(f"{line}; its signature verifies with the key given with --signer-key")
    else:
        click.echo(f"{line}; its signature was not checked (give --signer-key)")
