"""``attestation``: a verifier's word on another org's footprint, given what it has read.

The attested footprint is named by leaf hash, entry id or both; the verifier is another
org than the one that declared it (independence) and holds the owner's live ``detail``
grant for it (it attests what it has read). Every refusal that involves the footprint
is one message, so an attestation is no oracle on which ids name footprints.
"""

from __future__ import annotations

from ledger.entries.carbon.attestation import Attestation
from ledger.errors import PermissionDeniedError, UnknownReferenceError
from ledger.rules.view import CarbonView, FootprintFacts


def check_attestation(entry: Attestation, view: CarbonView, at_us: int) -> None:
    """Raise unless ``entry`` may be recorded in a record stamped ``at_us``."""
    attested = attested_footprint(entry, view)
    _check_independent(entry, attested)
    _check_attestation_access(entry, attested, view, at_us)


def _check_independent(entry: Attestation, attested: FootprintFacts) -> None:
    """An attestation is a third party's word; an org holding both the supplier and
    the verifier role must not vouch for its own footprint."""
    if attested.org_id == entry.org:
        field = "footprintEntryId" if entry.footprintEntryId else "footprintLeafHash"
        raise PermissionDeniedError(
            f"{entry.org} declared this footprint; a verifier cannot attest footprints of "
            "its own organisation",
            field=field,
        )


def attested_footprint(entry: Attestation, view: CarbonView) -> FootprintFacts:
    """The footprint entry the attestation names by leaf hash, entry id or both. One
    refusal for every way of naming none (a missing hash or id, a record that is no
    footprint, two fields naming different footprints): which of them it was would
    tell the verifier what exists under ids it cannot read."""
    by_leaf = (
        view.footprint_by_leaf(bytes.fromhex(entry.footprintLeafHash))
        if entry.footprintLeafHash
        else None
    )
    by_entry = view.footprint_by_entry(entry.footprintEntryId) if entry.footprintEntryId else None
    found = by_leaf or by_entry
    if (
        found is None
        or (entry.footprintLeafHash and by_leaf is None)
        or (entry.footprintEntryId and by_entry is None)
        or (by_leaf and by_entry and by_leaf.footprint_id != by_entry.footprint_id)
    ):
        raise _no_attestable_footprint(entry)
    return found


def _check_attestation_access(
    entry: Attestation, attested: FootprintFacts, view: CarbonView, at_us: int
) -> None:
    """A verifier attests what it has read: it needs the owner's live ``detail`` grant for
    the footprint (or its product line) at the record's timestamp. Without one the
    refusal is the one for a footprint that does not exist, so an attestation is no
    oracle on which leaf hashes and entry ids name footprints."""
    grant = view.live_grant(
        entry.org, attested.org_id, attested.footprint_id, attested.product_ids, at_us, detail=True
    )
    if grant is None:
        raise _no_attestable_footprint(entry)


def _no_attestable_footprint(entry: Attestation) -> UnknownReferenceError:
    named = " and ".join(
        name for name in ("footprintLeafHash", "footprintEntryId") if getattr(entry, name)
    )
    return UnknownReferenceError(
        f"no footprint entry that {entry.org} may read in detail matches the attestation's {named}",
        field="footprintEntryId" if entry.footprintEntryId else "footprintLeafHash",
    )
