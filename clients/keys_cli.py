"""``carbonledger keys``, ``ledger-key`` and ``witness-key``: key files and the C2SP
vkeys that name them.

Registered on the ``carbonledger`` group in ``clients/cli.py``. The two vkey commands
print the key alone on stdout, so that a script can keep it
(``VKEY=$(carbonledger ledger-key)``) without parsing a banner.
"""

from __future__ import annotations

from pathlib import Path

import click

from clients.cli_errors import read_private_key
from clients.cli_params import data_dir_option, existing_data_dir
from ledger.datadir import DEFAULT_ORIGIN
from ledger.keys import new_private_key, save_private_key
from ledger.note import CosignatureSigner, NoteError, NoteSigner


@click.group()
def keys() -> None:
    """Ed25519 key files."""


@keys.command("new")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Private key file (PKCS#8 PEM, 0600); FILE.pub gets the public key.",
)
def keys_new(out: Path) -> None:
    """Create a key pair and print the public key (base64)."""
    if out.exists():
        raise click.ClickException(f"{out} exists; refusing to overwrite a key")
    click.echo(save_private_key(new_private_key(), out))


@click.command("ledger-key")
@data_dir_option("The ledger's data directory (holds ledger.key).")
@click.option(
    "--origin",
    default=DEFAULT_ORIGIN,
    show_default=True,
    help="The checkpoint origin `serve` was given (it names the key).",
)
def ledger_key(data_dir: Path | None, origin: str) -> None:
    """Print the ledger's vkey, the key auditors, witnesses and verify-entry pin (the
    `ledger-key:` line of `serve`), read from the data directory."""
    key = read_private_key(existing_data_dir(data_dir).ledger_key_path)
    try:
        click.echo(NoteSigner(origin, key).vkey)
    except NoteError as exc:
        raise click.BadParameter(str(exc), param_hint="--origin") from None


@click.command("witness-key")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The witness's Ed25519 private key file (carbonledger keys new).",
)
@click.option("--name", default="witness", show_default=True, help="The witness key's name.")
def witness_key(key_file: Path, name: str) -> None:
    """Print the witness's cosignature vkey: what the operator gives `serve --witness`
    (and what `witness` prints as `witness-key:`)."""
    try:
        click.echo(CosignatureSigner(name, read_private_key(key_file)).vkey)
    except NoteError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from None
