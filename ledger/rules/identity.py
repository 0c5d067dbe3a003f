"""Who may sign what: the identity state derived from the log, and the rules over it.

The same code runs in the sequencer (before an entry is accepted) and in the
auditor (replaying the log from sequence 0), so both derive the same key set
and reach the same verdicts. Sequence 0 is the trust root: the operator's
self-signed ``org.enroll``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from ledger.entries import Entry, KeyRevoke, KeyRotate, OrgEnroll
from ledger.entries.carbon.activity import KeyAdd
from ledger.entries.carbon.instruments import SerialRange
from ledger.entries.identity import OrgCompanies, RegistryAccount
from ledger.errors import (
    UNVERIFIED_SIGNATURE,
    ConflictError,
    PermissionDeniedError,
    RevokedKeyError,
    SignatureError,
    UnknownKeyError,
    UnknownReferenceError,
)
from ledger.keys import decode_public_key, key_id
from ledger.rules.issuance import BlockKey, IssuedBlocks, block_of

COLLECTOR = "collector"
COLLECTED_TYPE = "activity.batch"


@lru_cache(maxsize=8192)
def _public_key(text: str) -> tuple[bytes, bytes]:
    """The raw public key a base64 member names, and its key id. Remembered: the
    rules check an entry's new key and then apply it, and each decode builds a
    ``cryptography`` key object; for a batch of enrolments that was one of the
    sequencer's larger per-entry costs."""
    public = decode_public_key(text)
    return public, key_id(public)


@dataclass(frozen=True, slots=True)
class KeyState:
    key_id: bytes
    public_key: bytes
    org_id: str
    added_seq: int
    ended_seq: int | None = None  # first seq at which the key is no longer valid
    ended_by: str | None = None  # "rotated" | "revoked" | "revoked with its org's signing key"
    purpose: str = "signing"  # "collector" keys sign activity.batch entries only

    @property
    def active(self) -> bool:
        return self.ended_seq is None

    def check_may_sign(self, entry_type: str) -> None:
        """Raise unless this key's purpose covers signing an ``entry_type`` entry.

        A collector key sits on an edge device at a site, far less guarded than
        the org's signing key, so what it can do is kept to the one thing it is
        for: metered readings.
        """
        if self.purpose == COLLECTOR and entry_type != COLLECTED_TYPE:
            raise PermissionDeniedError(self._collector_only(), field="keyId")

    def check_may_read(self) -> None:
        """Raise unless this key may authenticate reads (gRPC request tokens).

        Only the org's signing key reads: a stolen collector must not become a
        way to stream everything its org may see.
        """
        if self.purpose == COLLECTOR:
            raise PermissionDeniedError(self._collector_only(), field="authorization")

    def _collector_only(self) -> str:
        return (
            f"key {self.key_id.hex()} is a {COLLECTOR} key: it signs {COLLECTED_TYPE} entries "
            "only and never authenticates reads"
        )


@dataclass(frozen=True, slots=True)
class OrgState:
    org_id: str
    name: str
    roles: frozenset[str]
    enrolled_seq: int
    signing_key: bytes | None  # key id of the current signing key
    company_ids: frozenset[str] = frozenset()  # the companies it declares footprints for


@dataclass
class IdentityState:
    """Orgs and keys as of ``size`` applied records.

    Readers share one state while the sequencer works on the next (``fork``): key and
    org states are frozen and replaced, never changed, and a fork copies the maps it
    shares only when it first changes them, so a batch without identity entries
    copies nothing and one with them copies five flat maps (not their contents).
    A ``sealed`` state (published to readers) refuses every change.
    """

    orgs: dict[str, OrgState] = field(default_factory=dict)
    keys: dict[bytes, KeyState] = field(default_factory=dict)
    # company id -> the one org that may declare footprints for it
    company_owners: dict[str, str] = field(default_factory=dict)
    # (registry, account id) -> the one org that retires instruments from it
    account_holders: dict[tuple[str, str], str] = field(default_factory=dict)
    # (registry, prefix, width) -> the serial blocks the registry issued, by account
    issued: dict[BlockKey, IssuedBlocks] = field(default_factory=dict)
    size: int = 0
    _borrowed: bool = field(default=False, repr=False, compare=False)
    _sealed: bool = field(default=False, repr=False, compare=False)

    def fork(self) -> IdentityState:
        """A state equal to this one that can advance without changing it (O(1))."""
        return IdentityState(
            self.orgs,
            self.keys,
            self.company_owners,
            self.account_holders,
            self.issued,
            self.size,
            _borrowed=True,
        )

    def seal(self) -> IdentityState:
        """This state, from now on unchangeable (``apply`` raises); fork it to advance."""
        self._sealed = True
        return self

    def advance_to(self, size: int) -> None:
        """Say that the records up to ``size`` are applied (the rest had no identity
        entry)."""
        self._check_unsealed()
        self.size = size

    def _check_unsealed(self) -> None:
        if self._sealed:
            raise RuntimeError("a sealed identity state never changes; fork it")

    def _own_maps(self) -> None:
        """Copy the maps shared with the state this one was forked from, once."""
        self._check_unsealed()
        if self._borrowed:
            self.orgs = dict(self.orgs)
            self.keys = dict(self.keys)
            self.company_owners = dict(self.company_owners)
            self.account_holders = dict(self.account_holders)
            self.issued = dict(self.issued)
            self._borrowed = False

    def public_key_for(self, kid: bytes, entry: Entry | None = None) -> bytes | None:
        """The public key to verify a signature by ``kid`` with, if one is known.

        At sequence 0 the key is the one the genesis enrolment itself carries.
        """
        key = self.keys.get(kid)
        if key is not None:
            return key.public_key
        if self.size == 0 and isinstance(entry, OrgEnroll):
            return decode_public_key(entry.publicKey)
        return None

    def named_key(self, kid: bytes, entry: Entry) -> KeyState:
        """The key a submission's key id names, active or ended, to verify its
        signature with before ``resolve_signer`` says anything about the key's org or
        state: a submitter that does not hold the key learns neither whose it is nor
        when it ended (that would be an oracle on another org's identity entries)."""
        if self.size == 0:
            return self._genesis_signer(kid, entry)
        key = self.keys.get(kid)
        if key is None:
            raise SignatureError(UNVERIFIED_SIGNATURE, field="signature")
        return key

    def resolve_signer(self, kid: bytes, entry: Entry) -> KeyState:
        """The key state behind a submission's key id, or the reason it cannot sign.
        Its refusals name the key's org and end, so call it only once the signature
        verified with ``named_key``."""
        if self.size == 0:
            return self._genesis_signer(kid, entry)
        key = self.keys.get(kid)
        if key is None:
            raise UnknownKeyError(f"key {kid.hex()} is not enrolled on this ledger", field="keyId")
        if not key.active:
            raise RevokedKeyError(
                f"key {kid.hex()} of {key.org_id} was {key.ended_by} at seq {key.ended_seq}",
                field="keyId",
            )
        if key.org_id != entry.org:
            raise PermissionDeniedError(
                f"key {kid.hex()} belongs to {key.org_id}, not to {entry.org}", field="org"
            )
        key.check_may_sign(entry.type)
        return key

    def _genesis_signer(self, kid: bytes, entry: Entry) -> KeyState:
        if not (
            isinstance(entry, OrgEnroll)
            and entry.orgId == entry.org
            and "operator" in entry.roles
            and key_id(decode_public_key(entry.publicKey)) == kid
        ):
            raise PermissionDeniedError(
                "sequence 0 must be the operator's self-signed org.enroll", field="type"
            )
        return KeyState(kid, decode_public_key(entry.publicKey), entry.org, added_seq=0)

    def company_owner(self, company_id: str) -> str | None:
        """The org bound to ``company_id`` (the only one that declares its footprints)."""
        return self.company_owners.get(company_id)

    def account_holder(self, registry: str, account_id: str) -> str | None:
        """The org the operator bound the registry account to (the only one that
        retires serials from it)."""
        return self.account_holders.get((registry, account_id))

    def issued_to(self, registry: str, account_id: str, serials: SerialRange) -> bool:
        """Whether the registry issued every serial of ``serials`` to the account."""
        key, first, last = block_of(registry, serials)
        blocks = self.issued.get(key)
        return blocks is not None and blocks.covers(account_id, first, last)

    def roles_of(self, org_id: str) -> frozenset[str]:
        org = self.orgs.get(org_id)
        return org.roles if org else frozenset()

    def authorize(self, entry: Entry, signer: KeyState) -> None:
        """Raise unless ``signer`` may record ``entry`` now (roles and identity rules)."""
        roles = self.roles_of(signer.org_id) if self.size else frozenset({"operator"})
        if entry.signer_roles and not roles & entry.signer_roles:
            needed = " or ".join(sorted(entry.signer_roles))
            raise PermissionDeniedError(
                f"{entry.type} must be signed by an org with role {needed}; "
                f"{signer.org_id} has {', '.join(sorted(roles)) or 'no roles'}",
                field="type",
            )
        if isinstance(entry, OrgEnroll):
            self._check_enroll(entry)
        elif isinstance(entry, OrgCompanies):
            if entry.orgId not in self.orgs:
                raise UnknownReferenceError(f"{entry.orgId} is not enrolled", field="orgId")
            self._check_companies_free(entry.orgId, entry.companyIds, "companyIds")
        elif isinstance(entry, RegistryAccount):
            if entry.orgId not in self.orgs:
                raise UnknownReferenceError(f"{entry.orgId} is not enrolled", field="orgId")
            self._check_serials_free(entry)
        elif isinstance(entry, KeyRotate | KeyRevoke):
            self._check_key_change(entry, roles)
        elif isinstance(entry, KeyAdd):
            if _public_key(entry.publicKey)[1] in self.keys:
                raise ConflictError("this public key is already enrolled", field="publicKey")

    def _check_enroll(self, entry: OrgEnroll) -> None:
        if entry.orgId in self.orgs:
            raise ConflictError(f"{entry.orgId} is already enrolled", field="orgId")
        if _public_key(entry.publicKey)[1] in self.keys:
            raise ConflictError("this public key is already enrolled", field="publicKey")
        field_name = "companyIds" if entry.companyIds is not None else "orgId"
        self._check_companies_free(entry.orgId, entry.company_ids, field_name)

    def _check_companies_free(self, org_id: str, company_ids: Sequence[str], path: str) -> None:
        """A company id is bound to one org at most, or two orgs could declare (and
        supersede) footprints of the same company's products. The refusal says that a
        conflict exists, not which org holds the id."""
        for index, company in enumerate(company_ids):
            owner = self.company_owners.get(company)
            if owner is not None and owner != org_id:
                where = path if path == "orgId" else f"{path}[{index}]"
                raise ConflictError(
                    f"company id {company} is already bound to another organisation; "
                    "a company id belongs to one organisation at most",
                    field=where,
                )

    def _check_serials_free(self, entry: RegistryAccount) -> None:
        """A serial is issued to one account at most, or two holders could retire it
        (the first would block the other for good). The account's own earlier ranges
        are replaced, so they do not conflict; the refusal names no other account."""
        for index, serials in enumerate(entry.serialRanges):
            key, first, last = block_of(entry.registry, serials)
            blocks = self.issued.get(key)
            if blocks is not None and blocks.overlaps_other(entry.accountId, first, last):
                raise ConflictError(
                    f"serials {serials.first}..{serials.last} of {entry.registry} overlap "
                    "serials issued to another account; a registry issues a serial once",
                    field=f"serialRanges[{index}]",
                )

    def _issue(self, entry: RegistryAccount) -> None:
        """Make ``entry.serialRanges`` the account's blocks, replacing the ones it had."""
        for key, blocks in list(self.issued.items()):
            if key[0] == entry.registry and entry.accountId in blocks.accounts:
                self.issued[key] = blocks.without(entry.accountId)
        added: dict[BlockKey, list[tuple[int, int]]] = {}
        for serials in entry.serialRanges:
            key, first, last = block_of(entry.registry, serials)
            added.setdefault(key, []).append((first, last))
        for key, numbers in added.items():
            self.issued[key] = self.issued.get(key, IssuedBlocks()).plus(entry.accountId, numbers)

    def _check_key_change(self, entry: KeyRotate | KeyRevoke, roles: frozenset[str]) -> None:
        if entry.orgId != entry.org and "operator" not in roles:
            raise PermissionDeniedError(
                f"only {entry.orgId} itself or the operator may change its keys", field="orgId"
            )
        if entry.orgId not in self.orgs:
            raise UnknownReferenceError(f"{entry.orgId} is not enrolled", field="orgId")
        if isinstance(entry, KeyRotate):
            if _public_key(entry.newPublicKey)[1] in self.keys:
                raise ConflictError("this public key is already enrolled", field="newPublicKey")
            return
        target = self.keys.get(bytes.fromhex(entry.keyId))
        if target is None or target.org_id != entry.orgId:
            raise UnknownReferenceError(f"{entry.orgId} has no key {entry.keyId}", field="keyId")
        if not target.active:
            raise ConflictError(
                f"key {entry.keyId} already ended at seq {target.ended_seq}", field="keyId"
            )

    def apply(self, entry: Entry, seq: int) -> None:
        """Advance the state past ``entry`` (already authorised) at ``seq``."""
        self._check_unsealed()
        if isinstance(entry, OrgEnroll):
            self._own_maps()
            public, kid = _public_key(entry.publicKey)
            self.keys[kid] = KeyState(kid, public, entry.orgId, added_seq=seq)
            self.orgs[entry.orgId] = OrgState(
                entry.orgId, entry.name, frozenset(entry.roles), seq, kid
            )
            self._bind_companies(entry.orgId, entry.company_ids)
        elif isinstance(entry, OrgCompanies):
            self._own_maps()
            self._bind_companies(entry.orgId, entry.companyIds)
        elif isinstance(entry, RegistryAccount):
            self._own_maps()
            self.account_holders[(entry.registry, entry.accountId)] = entry.orgId
            self._issue(entry)
        elif isinstance(entry, KeyRotate):
            self._own_maps()
            org = self.orgs[entry.orgId]
            if org.signing_key is not None:
                self._end_key(org.signing_key, seq, "rotated")
            public, kid = _public_key(entry.newPublicKey)
            self.keys[kid] = KeyState(kid, public, entry.orgId, added_seq=seq)
            self.orgs[entry.orgId] = replace(org, signing_key=kid)
        elif isinstance(entry, KeyAdd):
            self._own_maps()
            public, kid = _public_key(entry.publicKey)
            self.keys[kid] = KeyState(
                kid, public, entry.orgId, added_seq=seq, purpose=entry.purpose
            )
        elif isinstance(entry, KeyRevoke):
            self._own_maps()
            kid = bytes.fromhex(entry.keyId)
            self._end_key(kid, seq, "revoked")
            org = self.orgs[entry.orgId]
            if org.signing_key == kid:
                self.orgs[entry.orgId] = replace(org, signing_key=None)
                self._end_collector_keys(entry.orgId, seq)
        self.size = seq + 1

    def _bind_companies(self, org_id: str, company_ids: Sequence[str]) -> None:
        """Make ``company_ids`` the org's companies, releasing the ones it had."""
        org = self.orgs[org_id]
        for company in org.company_ids:
            del self.company_owners[company]
        self.orgs[org_id] = replace(org, company_ids=frozenset(company_ids))
        for company in company_ids:
            self.company_owners[company] = org_id

    def _end_collector_keys(self, org_id: str, seq: int) -> None:
        """A revoked signing key is presumed compromised, and whoever held it could
        have added collector keys of their own; so the org's collector keys end with
        it and the org registers its collectors again under its new key. (A rotation
        is routine and leaves collector keys alone.)"""
        ending = [
            key.key_id
            for key in self.keys.values()
            if key.org_id == org_id and key.purpose == COLLECTOR and key.active
        ]
        for kid in ending:
            self._end_key(kid, seq, "revoked with its org's signing key")

    def _end_key(self, kid: bytes, seq: int, how: str) -> None:
        self.keys[kid] = replace(self.keys[kid], ended_seq=seq, ended_by=how)
