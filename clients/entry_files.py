"""Entry files as ``submit`` and ``factors publish`` read them: JSON entry objects whose
quantities are decimal strings, completed with the envelope the signer gives them.

A file that is not one entry object or a JSON array of them is a local file that
cannot be used (exit 2), refused before anything is sent.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from clients.cli_errors import CommandFailed, ExitCode


def entry_objects(path: Path) -> list[dict[str, Any]]:
    """The entry objects of one file (one object, or a JSON array of them)."""

    def refuse_float(text: str) -> object:
        raise CommandFailed(
            f"{path}: the number {text} must be a decimal string (quantities are strings)",
            ExitCode.USAGE,
        )

    try:
        loaded = json.loads(path.read_bytes(), parse_float=refuse_float)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise CommandFailed(f"{path}: not valid JSON ({exc})", ExitCode.USAGE) from None
    objects = loaded if isinstance(loaded, list) else [loaded]
    if not all(isinstance(obj, dict) for obj in objects):
        raise CommandFailed(
            f"{path}: expected an entry object or a JSON array of them", ExitCode.USAGE
        )
    return objects


def signing_org(objects: list[tuple[Path, dict[str, Any]]], given: str | None) -> str:
    """The org that signs every entry: ``--org`` when given, else the one ``org`` the
    entries name. An entry naming another org than the signer, or entries naming
    several orgs, are refused before anything is sent (the ledger would refuse them
    after the others were recorded)."""
    named = {obj["org"] for _, obj in objects if "org" in obj}
    if given is not None:
        for path, obj in objects:
            if obj.get("org", given) != given:
                raise CommandFailed(
                    f"{path}: the entry's org {obj['org']!r} is not the signer {given!r}",
                    ExitCode.USAGE,
                )
        return given
    if len(named) != 1 or not all("org" in obj for _, obj in objects):
        raise CommandFailed(
            "give --org URN: the entries do not all name one org",
            ExitCode.USAGE,
        )
    org = named.pop()
    if not isinstance(org, str):
        raise CommandFailed(f"the entries' org {org!r} is not a URN string", ExitCode.USAGE)
    return org


def complete_entry(obj: dict[str, Any], org: str) -> dict[str, Any]:
    """``obj`` with the envelope filled in: ``org``, and a fresh random ``entryId`` when
    it has none. The entry id makes a submission idempotent: resubmitting the same
    entry (same id, same bytes) answers the first receipt again."""
    return {"entryId": str(uuid.uuid4()), **obj, "org": org}
