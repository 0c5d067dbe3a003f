"""The stateful rules of carbon-data entries, written once against ``CarbonView``.

Stateless rules (shapes, PACT v3 field rules) live in the entry models. Here
is what needs the log so far: a footprint names only company ids bound to its
signer; footprint immutability and one active footprint per owner, product,
company and batch; citations of a product resolved through the company's
owner; citing another org's product or footprint only under its owner's live
grant; predecessor deprecation; references to footprints, factors and
activity batches that exist; units that convert; serials retired once, only
from registry accounts the retiring org holds, only those the registry issued
to that account, and for its own footprints only;
attestations of existing footprints by an org other than the one that declared
them; grants by owners only; sites (``ledger.rules.sites``).

No rule is an oracle: a refusal that involves another organisation's data says
that a conflict or a missing permission exists, naming the submitter's own
field, never that data's ids, sequence numbers, units or owner. Where "it does
not exist" and "it is not yours" would both refuse, the two read the same (one
error class, so one gRPC status, and one message built from the submitter's own
values): see ``_not_owned``.
"""

from __future__ import annotations

from ledger.entries import Entry
from ledger.entries.carbon.activity import ActivityBatch
from ledger.entries.carbon.attestation import Attestation
from ledger.entries.carbon.common import epoch_us
from ledger.entries.carbon.factors import FactorsPublish
from ledger.entries.carbon.footprint import FactorRef, Footprint, FootprintDeprecate, Input
from ledger.entries.carbon.grants import Grant, GrantRevoke
from ledger.entries.carbon.instruments import InstrumentRetire, split_serial
from ledger.entries.carbon.targets import Target
from ledger.errors import (
    ConflictError,
    MalformedEntryError,
    PermissionDeniedError,
    UnknownReferenceError,
)
from ledger.rules.attestation import attested_footprint, check_attestation
from ledger.rules.identity import IdentityState
from ledger.rules.periods import check_not_future
from ledger.rules.sites import apply_site_rules, check_site_rules
from ledger.rules.view import CarbonView, FactorFacts, FootprintFacts, GrantFacts, SerialSpan
from ledger.units import convertible


def check_carbon(entry: Entry, identity: IdentityState, view: CarbonView, at_us: int) -> None:
    """Raise an ``EntryRejectedError`` naming the field unless ``entry`` may be recorded in a
    record stamped ``at_us`` (UTC microseconds, signed into the leaf)."""
    check_not_future(entry, at_us)
    check_site_rules(entry, view, at_us)
    if isinstance(entry, Footprint):
        _check_footprint(entry, identity, view, at_us)
    elif isinstance(entry, FootprintDeprecate):
        _owned_active_footprint(entry.footprintId, entry.org, view, "footprintId")
    elif isinstance(entry, FactorsPublish):
        seq = view.factor_set_seq(entry.setId, entry.version)
        if seq is not None:
            raise ConflictError(
                f"factor set {entry.setId} version {entry.version} was published at seq {seq}; "
                "versions are immutable, publish a new version",
                field="version",
            )
    elif isinstance(entry, InstrumentRetire):
        _check_account(entry, identity)
        _check_beneficiary_footprints(entry, view)
        if view.overlapping_retirement(_span(entry)) is not None:
            # The earlier retirement may be another org's: its seq is not named.
            raise ConflictError(
                f"serials {entry.serials.first}..{entry.serials.last} of {entry.registry} overlap "
                "serials already retired; a serial is retired once",
                field="serials",
            )
    elif isinstance(entry, Attestation):
        check_attestation(entry, view, at_us)
    elif isinstance(entry, Grant):
        _check_grant(entry, view)
    elif isinstance(entry, GrantRevoke):
        grant = view.grant(entry.grantId)
        if grant is None or grant.grantor != entry.org:
            raise _not_owned("grant", entry.grantId, entry.org, "grantId")
        if grant.revoked_seq is not None:
            raise ConflictError(f"grant already revoked at seq {grant.revoked_seq}", "grantId")
    # A ``target`` has no stateful rule: it is the buyer's own statement and opens
    # nothing of the supplier's (inventories need the supplier's grant), and refusing
    # one that names no enrolled supplier would tell buyers who is enrolled.


def apply_carbon(entry: Entry, seq: int, leaf_hash: bytes, view: CarbonView) -> None:
    """Record what ``entry`` (already checked) changes in the view."""
    apply_site_rules(entry, seq, leaf_hash, view)
    if isinstance(entry, Footprint):
        fp = entry.footprint
        for predecessor in fp.precedingPfIds or ():
            view.deprecate_footprint(predecessor, seq)
        view.add_footprint(
            FootprintFacts(
                footprint_id=fp.id,
                entry_id=entry.entryId,
                seq=seq,
                leaf_hash=leaf_hash,
                org_id=entry.org,
                product_ids=tuple(fp.productIds),
                company_ids=tuple(fp.companyIds),
                batch_id=entry.composition.batchId,
                declared_unit=fp.pcf.declaredUnitOfMeasurement,
            )
        )
    elif isinstance(entry, FootprintDeprecate):
        view.deprecate_footprint(entry.footprintId, seq)
    elif isinstance(entry, FactorsPublish):
        factors = [
            FactorFacts(entry.setId, entry.version, f.key, f.unit, f.value) for f in entry.factors
        ]
        view.add_factor_set(entry.setId, entry.version, seq, factors)
    elif isinstance(entry, InstrumentRetire):
        view.add_retirement(
            _span(entry), seq, entry.org, tuple(entry.beneficiary.footprintIds or ())
        )
    elif isinstance(entry, Attestation):
        target = attested_footprint(entry, view)
        view.add_attestation(entry.entryId, target.footprint_id, seq, entry.org)
    elif isinstance(entry, Grant):
        view.add_grant(grant_facts(entry, seq))
    elif isinstance(entry, GrantRevoke):
        view.revoke_grant(entry.grantId, seq)
    elif isinstance(entry, ActivityBatch):
        view.add_activity_batch(entry.entryId, entry.org, seq)
    elif isinstance(entry, Target):
        view.add_target(entry.entryId, seq, entry.org, entry.supplier)


def grant_facts(entry: Grant, seq: int) -> GrantFacts:
    """What the rules and readers keep of a ``grant`` recorded at ``seq``."""
    return GrantFacts(
        entry.entryId,
        seq,
        entry.org,
        entry.grantee,
        entry.footprintId,
        entry.productId,
        entry.level,
        epoch_us(entry.validFrom) if entry.validFrom else None,
        epoch_us(entry.validUntil) if entry.validUntil else None,
        inventory=entry.inventory is not None,
    )


def _span(entry: InstrumentRetire) -> SerialSpan:
    prefix, _, width = split_serial(entry.serials.first)
    first = entry.serials.first[-width:]
    last = entry.serials.last[-width:]
    return SerialSpan(entry.registry, prefix, width, first, last)


def _check_account(entry: InstrumentRetire, identity: IdentityState) -> None:
    """Serials are retired only from a registry account the operator bound to the
    retiring org, or anyone could retire another holder's serials first and block
    the holder's own retirement for good; and only serials the registry issued to
    that account (``registry.account`` ``serialRanges``), or an org could retire
    another holder's serials from its own account. Checked before the retirements,
    so a prober learns nothing about retirements of serials it does not hold; each
    refusal is the same whether the account or serials are another's or nobody's."""
    if identity.account_holder(entry.registry, entry.accountId) != entry.org:
        raise PermissionDeniedError(
            f"{entry.org} holds no account {entry.accountId} at {entry.registry}; an org "
            "retires serials only from registry accounts the operator bound to it",
            field="accountId",
        )
    if not identity.issued_to(entry.registry, entry.accountId, entry.serials):
        # One message whether the serials are another account's or nobody's.
        raise PermissionDeniedError(
            f"serials {entry.serials.first}..{entry.serials.last} were not all issued to "
            f"account {entry.accountId} at {entry.registry}; an org retires only serials "
            "the registry issued to its own account",
            field="serials",
        )


def _check_beneficiary_footprints(entry: InstrumentRetire, view: CarbonView) -> None:
    """A retirement lowers the footprints it names, so it may name only the retiring
    org's own. The refusal is the same whether the footprint is another org's or does
    not exist, so it reveals neither existence nor owner."""
    for index, footprint_id in enumerate(entry.beneficiary.footprintIds or ()):
        found = view.footprint(footprint_id)
        if found is None or found.org_id != entry.org:
            raise _not_owned(
                "footprint",
                footprint_id,
                entry.org,
                f"beneficiary.footprintIds[{index}]",
                "a retirement names footprints of the retiring org only",
            )


def _not_owned(
    kind: str, object_id: str, org: str, field: str, why: str = ""
) -> UnknownReferenceError:
    """The one refusal for "``object_id`` does not exist" and "it is another org's".

    Both are ``UnknownReferenceError`` (gRPC ``FAILED_PRECONDITION``) with a message
    made only of what the submitter sent (the id, its own org, the field), so probing
    an id tells nothing about whether, or whose, it is."""
    reason = f"no {kind} {object_id} of {org} on the ledger"
    return UnknownReferenceError(f"{reason}; {why}" if why else reason, field=field)


def _owned_active_footprint(
    footprint_id: str, org: str, view: CarbonView, field: str
) -> FootprintFacts:
    found = view.footprint(footprint_id)
    if found is None or found.org_id != org:
        raise _not_owned("footprint", footprint_id, org, field, "an org names its own footprints")
    if not found.active:
        raise ConflictError(f"footprint {footprint_id} is already deprecated", field=field)
    return found


def _check_companies(entry: Footprint, identity: IdentityState) -> None:
    """A supplier declares only for companies the operator bound to it: naming another
    company's id would make the footprint that company's (it would block the company's
    own declaration and answer citations of its products). The refusal is the same
    whether the id is another org's or nobody's, so it names no owner."""
    for index, company in enumerate(entry.footprint.companyIds):
        if identity.company_owner(company) != entry.org:
            raise PermissionDeniedError(
                f"company id {company} is not one of {entry.org}'s company ids; an org "
                "declares footprints only for the company ids the operator bound to it",
                field=f"footprint.companyIds[{index}]",
            )


def _check_footprint(
    entry: Footprint, identity: IdentityState, view: CarbonView, at_us: int
) -> None:
    fp = entry.footprint
    _check_companies(entry, identity)
    existing = view.footprint(fp.id)
    if existing is not None and existing.org_id == entry.org:
        raise ConflictError(
            f"footprint {fp.id} was recorded at seq {existing.seq}; footprints are immutable, "
            "record a new one naming it in precedingPfIds",
            field="footprint.id",
        )
    if existing is not None:
        # Footprint ids are unique across the ledger, so the conflict itself must be
        # told; whose footprint holds the id, and when it was recorded, are not.
        raise ConflictError(
            f"footprint id {fp.id} is taken; footprint ids are unique across the ledger, "
            "choose another",
            field="footprint.id",
        )
    preceding = set(fp.precedingPfIds or ())
    for index, predecessor in enumerate(fp.precedingPfIds or ()):
        _owned_active_footprint(predecessor, entry.org, view, f"footprint.precedingPfIds[{index}]")
    batch = entry.composition.batchId
    for index, product in enumerate(fp.productIds):
        for company in fp.companyIds:
            active = view.active_footprint(entry.org, product, company, batch)
            if active is not None and active.footprint_id not in preceding:
                raise ConflictError(
                    f"{product} of {company}{f' batch {batch}' if batch else ''} already has "
                    f"active footprint {active.footprint_id} (seq {active.seq}); list it in "
                    "precedingPfIds to supersede it",
                    field=f"footprint.productIds[{index}]",
                )
    for index, item in enumerate(entry.composition.inputs):
        _check_input(item, entry.org, identity, view, at_us, f"composition.inputs[{index}]")
    for index, own in enumerate(entry.composition.ownEmissions):
        for f_index, ref in enumerate(own.factors or ()):
            _factor(ref, view, f"composition.ownEmissions[{index}].factors[{f_index}]")
        for b_index, batch_id in enumerate(own.activityBatches or ()):
            if view.activity_batch_org(batch_id) != entry.org:
                raise UnknownReferenceError(
                    f"no activity batch {batch_id} of {entry.org} on the ledger",
                    field=f"composition.ownEmissions[{index}].activityBatches[{b_index}]",
                )


def cited_footprint(
    product_id: str, company_id: str, identity: IdentityState, view: CarbonView
) -> FootprintFacts | None:
    """The footprint an input citing ``(product_id, company_id)`` names now: the active
    one (not of a batch) of the org the company id is bound to. Another org's footprint
    naming the company (possible only from before the operator rebound the id) is not it."""
    owner = identity.company_owner(company_id)
    if owner is None:
        return None
    return view.active_footprint(owner, product_id, company_id, None)


def _check_input(
    item: Input, org: str, identity: IdentityState, view: CarbonView, at_us: int, path: str
) -> None:
    """An input citing a product or footprint must have the owner's consent (see
    ``_cited_with_consent``); when the cited footprint is recorded, its unit must convert.
    The refusal names the cited footprint's id and unit only when it is the citing org's own."""
    if item.factor is not None:
        factor = _factor(item.factor, view, f"{path}.factor")
        target_unit, what = factor.unit, f"{factor.unit!r}, the unit of factor {factor.key}"
    else:
        upstream = _cited_with_consent(item, org, identity, view, at_us, path)
        if upstream is None:
            return
        target_unit = upstream.declared_unit
        what = (
            f"{target_unit!r}, the unit of footprint {upstream.footprint_id}"
            if upstream.org_id == org
            else "the declared unit of the footprint this input cites"
        )
    if not convertible(item.unit, target_unit):
        raise MalformedEntryError(
            f"unit {item.unit!r} cannot be converted to {what}", field=f"{path}.unit"
        )


def _cited_with_consent(
    item: Input, org: str, identity: IdentityState, view: CarbonView, at_us: int, path: str
) -> FootprintFacts | None:
    """The footprint ``item`` cites now (None if not recorded yet), once citing it is allowed.

    Citing puts the cited footprint, its total and its upstream into the citing org's
    computed footprints, so another org's product or footprint is cited only while its
    owner's grant (footprint or product line, any level) is live at ``at_us``, the
    record's signed timestamp. An org's own products may be cited before they are
    recorded (that is how recycling loops close); a ``footprintId`` not recorded yet has
    no owner to consent. Every refusal is one message made of the submitter's values, so
    it tells nothing about whether the footprint, product or company exists, or whose."""
    if item.footprintId is not None:
        cited = view.footprint(item.footprintId)
        owner = cited.org_id if cited is not None else None
        products = cited.product_ids if cited is not None else ()
        subject = f"footprint {item.footprintId}"
    else:
        assert item.productId is not None and item.companyId is not None
        owner = identity.company_owner(item.companyId)
        cited = cited_footprint(item.productId, item.companyId, identity, view)
        products = (item.productId,)
        subject = f"product {item.productId} of company {item.companyId}"
    if owner == org:
        return cited
    footprint_id = cited.footprint_id if cited is not None else None
    if owner is None or view.live_grant(org, owner, footprint_id, products, at_us) is None:
        raise PermissionDeniedError(
            f"{org} holds no live grant covering {subject}; an org cites its own products, "
            "or another org's under that owner's grant",
            field=path,
        )
    return cited


def _factor(ref: FactorRef, view: CarbonView, path: str) -> FactorFacts:
    if view.factor_set_seq(ref.setId, ref.version) is None:
        raise UnknownReferenceError(
            f"factor set {ref.setId} version {ref.version} is not published", field=path
        )
    factor = view.factor(ref.setId, ref.version, ref.key)
    if factor is None:
        raise UnknownReferenceError(
            f"factor set {ref.setId} {ref.version} has no factor {ref.key!r}", field=f"{path}.key"
        )
    return factor


def _check_grant(entry: Grant, view: CarbonView) -> None:
    """The grantee need not be enrolled (yet): the grant opens nothing until it is, and
    refusing one would tell the grantor who is enrolled."""
    if entry.footprintId is not None:
        found = view.footprint(entry.footprintId)
        if found is None or found.org_id != entry.org:
            raise _not_owned(
                "footprint",
                entry.footprintId,
                entry.org,
                "footprintId",
                "only the owner grants access to a footprint",
            )
    elif entry.productId is not None and not view.has_declared(entry.org, entry.productId):
        raise PermissionDeniedError(
            f"{entry.org} has declared no footprint for {entry.productId}", field="productId"
        )
