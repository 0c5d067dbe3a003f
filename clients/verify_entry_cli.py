"""``carbonledger verify-entry``: a buyer's spot check of one entry, without the log.

Registered on the ``carbonledger`` group in ``clients/cli.py``. Its failures name the
cause in one line, in the user's terms (docs/api.md, "CLI exit codes"): credentials
the gateway refused, an entry the client may not read (a footprint shared at summary
level needs the owner's detail grant), or a gateway that does not answer. The text
verdict says exactly what the JSON one says: whether the signer's key was proven in
the log, given by the user, or only named by the gateway.

With ``--write-proof`` it also saves the entry's C2SP tlog-proof bundle; with
``--proof`` it checks such a bundle offline instead (``clients.proof_bundle_verdict``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from clients.audit.checkpoints import CheckpointFailure, check_policy
from clients.audit.spotcheck import SpotCheck, SpotCheckFailure, verify_entry_document
from clients.audit_cli import ledger_verifier, read_policy
from clients.cli_errors import CommandFailed, ExitCode, failure_of, server_said
from clients.cli_params import optional_gateway_client_options
from clients.gateway_session import gateway_session
from clients.proof_bundle_verdict import bundle_verdict, print_bundle_verdict
from ledger.keys import read_public_key_argument
from ledger.note import NoteError


class EntryNotVisible(Exception):
    """The gateway answered 404 for the entry: absent, or not readable by this client."""


@click.command("verify-entry")
@optional_gateway_client_options
@click.option("--ledger-key", required=True, help="The ledger's vkey (or a file holding it).")
@click.option("--signer-key", help="Signer's public key, if the gateway does not prove it.")
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Verify this .tlog-proof bundle offline instead (no gateway).",
)
@click.option(
    "--write-proof",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also fetch the entry's .tlog-proof bundle, verify it and write it here.",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A C2SP tlog-policy file the checkpoint must satisfy (witness quorum).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.argument("seq", type=int, required=False)
def verify_entry(
    gateway: str | None,
    ledger_key: str,
    client_id: str | None,
    client_secret: str | None,
    signer_key: str | None,
    proof_file: Path | None,
    write_proof: Path | None,
    policy_file: Path | None,
    as_json: bool,
    seq: int | None,
) -> None:
    """Prove one entry in the signed tree and check its signature, without the log:
    SEQ through the gateway, or a .tlog-proof bundle offline (--proof)."""
    verifier = ledger_verifier(ledger_key)
    try:
        public = read_public_key_argument(signer_key) if signer_key else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--signer-key") from None
    policy = read_policy(policy_file, verifier) if policy_file else None
    if proof_file is not None:
        if gateway is not None or write_proof is not None:
            raise click.UsageError("--proof verifies offline: give no --gateway or --write-proof")
        verdict = bundle_verdict(proof_file.read_bytes(), verifier, policy, public, seq)
        print_bundle_verdict(verdict, as_json)
        return
    if gateway is None or client_id is None or client_secret is None or seq is None:
        raise click.UsageError(
            "give SEQ with --gateway, --client-id and --client-secret, or --proof FILE"
        )
    try:
        note, document = fetch_entry_documents(gateway, client_id, client_secret, seq)
        result = verify_entry_document(note, document, verifier, public)
        if policy is not None:
            check_policy(note, policy, verifier)
        if write_proof is not None:
            bundle = fetch_proof_bundle(gateway, client_id, client_secret, seq)
            verdict = bundle_verdict(bundle.encode(), verifier, policy, public, seq)
            if not verdict["ok"]:
                print_bundle_verdict(verdict, as_json)  # exits 1
            write_proof.write_text(bundle)
    except (SpotCheckFailure, NoteError, CheckpointFailure) as exc:
        reason = exc.failure.reason if isinstance(exc, CheckpointFailure) else str(exc)
        out: dict[str, Any] = {"ok": False, "seq": seq, "reason": reason}
        click.echo(json.dumps(out) if as_json else f"FAILED: {reason}")
        sys.exit(1)
    except EntryNotVisible as exc:
        raise CommandFailed(_not_visible(seq, client_id, str(exc)), ExitCode.REFUSED) from None
    except httpx.HTTPStatusError as exc:
        raise _refused(exc, gateway, client_id) from None
    except httpx.TransportError as exc:
        raise CommandFailed(
            f"cannot reach the gateway at {gateway} ({exc}); is it running? Give its URL "
            "with --gateway",
            ExitCode.UNREACHABLE,
        ) from None
    except ValueError as exc:
        raise failure_of(exc, gateway) or CommandFailed(str(exc), ExitCode.REFUSED) from None
    source = _key_source(result, public is not None)
    out = {
        "ok": True,
        "seq": result.seq,
        "treeSize": result.checkpoint.size,
        "type": result.entry.get("type"),
        "org": result.entry.get("org"),
        "signerKeyProvenInLog": result.key_proven,
        "signerKeySource": source,
    }
    click.echo(json.dumps(out) if as_json else _verdict(out))


def _key_source(result: SpotCheck, given: bool) -> str:
    if result.key_proven:
        return "log"
    return "given" if given else "gateway"


_KEY_SOURCES = {
    "log": "the key the log introduced for its org (proven in the same tree)",
    "given": "the key given with --signer-key",
    "gateway": "the key the gateway named, which is not proven in the log (give "
    "--signer-key, or audit the log, to pin it)",
}


def _verdict(out: dict[str, Any]) -> str:
    return (
        f"OK: seq {out['seq']} ({out['type']} by {out['org']}) is in the signed tree of size "
        f"{out['treeSize']}; its signature verifies with {_KEY_SOURCES[out['signerKeySource']]}"
    )


def _not_visible(seq: int, client_id: str, said: str) -> str:
    return (
        f"entry {seq} is not visible to client {client_id}: there is no such entry, or its "
        "org may not read it (verify-entry reads the entry itself: a footprint shared at "
        f"summary level needs the owner's detail-level grant) (404 {said})"
    )


def _refused(exc: httpx.HTTPStatusError, gateway: str, client_id: str) -> CommandFailed:
    """The gateway's refusal, named by its cause; the server's own words follow."""
    if exc.response.status_code == httpx.codes.UNAUTHORIZED:
        return CommandFailed(
            f"the gateway at {gateway} did not accept client {client_id}: wrong client id "
            f"or secret, or a revoked client (401 {server_said(exc.response)})",
            ExitCode.CREDENTIALS,
        )
    return failure_of(exc, gateway) or CommandFailed(str(exc), ExitCode.REFUSED)


def fetch_entry_documents(
    gateway: str,
    client_id: str,
    client_secret: str,
    seq: int,
    transport: httpx.BaseTransport | None = None,
) -> tuple[str, dict[str, Any]]:
    """The checkpoint note, then the entry document proven against that checkpoint's size
    (``EntryNotVisible`` when the gateway answers 404 for it)."""
    with gateway_session(gateway, client_id, client_secret, transport=transport) as http:
        note = http.get("/v1/checkpoint")
        note.raise_for_status()
        size = note.text.split("\n")[1]
        entry = http.get(f"/v1/entries/{seq}", params={"treeSize": size})
        if entry.status_code == httpx.codes.NOT_FOUND:
            raise EntryNotVisible(server_said(entry))
        entry.raise_for_status()
        document = entry.json()
    if not isinstance(document, dict):
        raise ValueError("the entry document is not a JSON object")
    return note.text, document


def fetch_proof_bundle(
    gateway: str,
    client_id: str,
    client_secret: str,
    seq: int,
    transport: httpx.BaseTransport | None = None,
) -> str:
    """The entry's .tlog-proof bundle (``GET /v1/entries/{seq}/proof``)."""
    with gateway_session(gateway, client_id, client_secret, transport=transport) as http:
        answer = http.get(f"/v1/entries/{seq}/proof")
        answer.raise_for_status()
        return answer.text
