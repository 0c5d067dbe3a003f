"""c2sp.org/tlog-policy: which logs and which witness quorum make a checkpoint valid.

Lines (``#`` comments and blank lines ignored, fields separated by spaces/tabs)::

    log <vkey> [<url>]                    Ed25519 note key (type 0x01)
    witness <name> <vkey> [<url>]         Ed25519 cosignature/v1 key (type 0x04)
    group <name> all|any|<k> <name>...    k of the named witnesses or groups
    quorum <name>|none                    exactly once

A name must be defined before it is used, so groups cannot be circular; the same
public key may not appear twice among the logs or among the witnesses. A
checkpoint satisfies the policy when a listed log signed it and the quorum
cosigned it (``TlogPolicy.check``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from ledger.note.cosignature import CosignatureVerifier
from ledger.note.decimal import parse_decimal, shown
from ledger.note.errors import (
    InvalidPolicyError,
    NoteError,
    PolicyNotSatisfiedError,
    UnverifiedNoteError,
)
from ledger.note.signed_note import NoteVerifier, Verifier, open_note

NONE = "none"
"""The predefined quorum name that requires no cosignature."""

MAX_ENTRIES = 32
"""At most this many logs, witnesses and groups each (the spec's recommended minimum)."""

_K = TypeVar("_K", NoteVerifier, CosignatureVerifier)
_WHITESPACE = re.compile(r"[ \t]+")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Group:
    """At least ``threshold`` of ``members`` (witness or group names) must have witnessed."""

    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class TlogPolicy:
    logs: tuple[NoteVerifier, ...]
    witnesses: dict[str, CosignatureVerifier]
    groups: dict[str, Group]
    quorum: str

    @classmethod
    def parse(cls, text: str) -> TlogPolicy:
        """Parse a policy file; raises :class:`InvalidPolicyError` naming the bad line."""
        if _FORBIDDEN.search(text):
            raise InvalidPolicyError("a policy may contain no control character but tab")
        parsed = _Parser()
        for number, raw in enumerate(text.split("\n"), 1):
            fields = _WHITESPACE.split(raw.strip(" \t"))
            if fields[0] and not fields[0].startswith("#"):
                try:
                    parsed.line(fields)
                except NoteError as exc:
                    raise InvalidPolicyError(f"policy line {number}: {exc}") from None
        return parsed.policy()

    def check(self, note: str, known_logs: Sequence[NoteVerifier] = ()) -> tuple[str, ...]:
        """The names of the witnesses that cosigned ``note``, once it is known to be
        signed by a log of the policy and cosigned by its quorum; else
        :class:`PolicyNotSatisfiedError` (or the note's own ``NoteError``). A policy
        that lists no logs accepts ``known_logs``: the caller knows its log from
        elsewhere (the spec's case for an empty set of logs)."""
        logs = self.logs or tuple(known_logs)
        verifiers: Sequence[Verifier] = [*logs, *self.witnesses.values()]
        try:
            opened = open_note(note, verifiers)
        except UnverifiedNoteError:
            raise PolicyNotSatisfiedError(
                "the checkpoint is not signed by a log of the policy"
            ) from None
        signed = {(s.name, s.key_hash) for s in opened.verified_signatures}
        if not any((log.name, log.key_hash) in signed for log in logs):
            raise PolicyNotSatisfiedError("the checkpoint is not signed by a log of the policy")
        cosigned = tuple(
            name for name, w in self.witnesses.items() if (w.name, w.key_hash) in signed
        )
        if not self._witnessed(self.quorum, set(cosigned)):
            raise self._unmet(cosigned)
        return cosigned

    def _unmet(self, cosigned: tuple[str, ...]) -> PolicyNotSatisfiedError:
        """The refusal of a checkpoint cosigned only by ``cosigned`` (policy names, in
        policy order): ``quorum 2-of-3 not met: cosigned by w1; missing w2, w3``. An
        unmet member group is named with its own threshold and what it misses, so the
        reader sees which witnesses to ask for. (The page's ``policy.js`` words it the
        same way; ``tests/data/tlog_policy_vectors.json`` holds them to it.)"""
        have = set(cosigned)
        group = self.groups.get(self.quorum)
        missing: tuple[str, ...]
        if group is None:
            what, missing = self.quorum, (self.quorum,)
        else:
            what = f"{group.threshold}-of-{len(group.members)}"
            missing = tuple(m for m in group.members if not self._witnessed(m, have))
        by = ", ".join(cosigned) or "no witness of the policy"
        named = ", ".join(self._missing(m, have) for m in missing)
        return PolicyNotSatisfiedError(
            f"quorum {what} not met: cosigned by {by}; missing {named}", cosigned, missing
        )

    def _missing(self, name: str, cosigned: set[str]) -> str:
        """``name``, and for a group its threshold and its unmet members."""
        group = self.groups.get(name)
        if group is None:
            return name
        inner = (m for m in group.members if not self._witnessed(m, cosigned))
        return (
            f"{name} ({group.threshold}-of-{len(group.members)}: "
            f"missing {', '.join(self._missing(m, cosigned) for m in inner)})"
        )

    def _witnessed(self, name: str, cosigned: set[str]) -> bool:
        if name == NONE:
            return True
        group = self.groups.get(name)
        if group is None:
            return name in cosigned
        return sum(self._witnessed(m, cosigned) for m in group.members) >= group.threshold


class _Parser:
    """The state of a policy read line by line."""

    def __init__(self) -> None:
        self.logs: list[NoteVerifier] = []
        self.witnesses: dict[str, CosignatureVerifier] = {}
        self.groups: dict[str, Group] = {}
        self.quorum: str | None = None
        self._keys: set[tuple[str, bytes]] = set()

    def line(self, fields: list[str]) -> None:
        keyword, args = fields[0], fields[1:]
        if keyword == "log" and len(args) in (1, 2):
            self.logs.append(self._key("log", NoteVerifier.from_vkey(args[0])))
        elif keyword == "witness" and len(args) in (2, 3):
            self._name(args[0])
            self.witnesses[args[0]] = self._key("witness", CosignatureVerifier.from_vkey(args[1]))
        elif keyword == "group" and len(args) >= 3:
            self._group(args[0], args[1], args[2:])
        elif keyword == "quorum" and len(args) == 1:
            if self.quorum is not None:
                raise InvalidPolicyError("a policy has exactly one quorum line")
            if args[0] != NONE and not self._defined(args[0]):
                raise InvalidPolicyError(f"quorum {args[0]!r} is not defined above it")
            self.quorum = args[0]
        else:
            raise InvalidPolicyError(f"unknown line or wrong number of fields: {keyword!r}")
        if max(len(self.logs), len(self.witnesses), len(self.groups)) > MAX_ENTRIES:
            raise InvalidPolicyError(f"more than {MAX_ENTRIES} logs, witnesses or groups")

    def policy(self) -> TlogPolicy:
        if self.quorum is None:
            raise InvalidPolicyError("the policy has no quorum line")
        return TlogPolicy(tuple(self.logs), self.witnesses, self.groups, self.quorum)

    def _key(self, kind: str, key: _K) -> _K:
        raw = key.raw_key
        if (kind, raw) in self._keys:
            raise InvalidPolicyError(f"the same {kind} key is listed twice ({key.name})")
        self._keys.add((kind, raw))
        return key

    def _group(self, name: str, threshold: str, members: list[str]) -> None:
        self._name(name)
        for member in members:
            if member == NONE or not self._defined(member):
                raise InvalidPolicyError(f"group member {member!r} is not defined above it")
        if len(set(members)) != len(members):
            raise InvalidPolicyError(f"group {name!r} lists a member twice")
        if threshold in ("all", "any"):
            k = len(members) if threshold == "all" else 1
        elif 1 <= (parsed := parse_decimal(threshold) or 0) <= len(members):
            k = parsed
        else:
            raise InvalidPolicyError(f"group {name!r} threshold {shown(threshold)} is not 1..n")
        self.groups[name] = Group(k, tuple(members))

    def _name(self, name: str) -> None:
        if name == NONE or self._defined(name):
            raise InvalidPolicyError(f"the name {name!r} is reserved or already defined")

    def _defined(self, name: str) -> bool:
        return name in self.witnesses or name in self.groups
