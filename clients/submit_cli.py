"""``carbonledger submit``: sign entry files and submit them on one stream.

Registered on the ``carbonledger`` group in ``clients/cli.py``. Each recorded
entry is reported with its entry id, which is what makes a resubmission
idempotent: an entry submitted again with the same ``entryId`` and bytes is
answered with its first receipt instead of being recorded twice. On a terminal a
progress bar (tqdm, on stderr) shows how many entries were answered.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from clients.cli_errors import read_private_key
from clients.cli_params import ledger_option
from clients.entry_files import complete_entry, entry_objects, signing_org
from clients.sdk import LedgerClient, OrgSigner, Rejected
from ledger.receipt import Receipt


@click.command()
@click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="The signing organisation's Ed25519 private key file.",
)
@click.option(
    "--org",
    "org_id",
    help="The signing organisation's URN (default: the org the entries name).",
)
@ledger_option()
@click.option("--json", "as_json", is_flag=True, help="One JSON receipt per line.")
@click.option(
    "-q", "--quiet", is_flag=True, help="Print only each recorded entry's seq (for scripts)."
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
def submit(
    key_path: Path,
    org_id: str | None,
    ledger: str,
    as_json: bool,
    quiet: bool,
    files: tuple[Path, ...],
) -> None:
    """Sign and submit entry files; report each entry as the ledger records it.

    Each file holds one entry object (or a JSON array of them), with or without
    `org` and `entryId`. A missing entryId is filled in with a random one, printed
    with the receipt: keep it in the file to make a resubmission idempotent.
    """
    if as_json and quiet:
        raise click.UsageError("--json and --quiet are alternatives")
    objects = [(path, obj) for path in files for obj in entry_objects(path)]
    org = signing_org(objects, org_id)
    signer = OrgSigner(org, read_private_key(key_path))
    entries = [complete_entry(obj, org) for _, obj in objects]
    types = {str(entry["entryId"]): str(entry.get("type")) for entry in entries}
    signed = [signer.sign(entry) for entry in entries]
    failures = 0
    progress = tqdm(
        total=len(signed), unit="entry", file=sys.stderr, disable=not sys.stderr.isatty()
    )
    with progress, LedgerClient(ledger) as client:
        for result in client.submit_batches(signed):
            progress.update()
            if isinstance(result, Rejected):
                failures += 1
                progress.write(f"rejected {result.entry_id}: {result}", file=sys.stderr)
            else:
                line = _receipt_line(result, types[result.entry_id], as_json, quiet)
                progress.write(line, file=sys.stdout)
    if failures:
        raise SystemExit(1)


def _receipt_line(receipt: Receipt, entry_type: str, as_json: bool, quiet: bool) -> str:
    if as_json:
        return json.dumps(receipt.to_json())
    if quiet:
        return str(receipt.seq)
    was = "was already recorded" if receipt.duplicate else "recorded"
    return f"seq {receipt.seq}: {entry_type} {receipt.entry_id} {was}"
