"""The stateful rules of sites, and the rows they derive (``SiteInput``).

A site URN is enrolled once in the whole log, and its owner is the enrolling org.
Only the owner records what a site's zero-carbon evaluation reads: inventories of
the site, generation readings metered at it, and retirements naming it as
beneficiary or as the generator of the certificates retired. A buyer that pays for
its supplier's certificates or credits has them transferred to the supplier's
registry account (or funds the supplier's own purchase), and the supplier retires
them: a retirement any org could point at another org's site would change (and
invalidate) that site's rating without its owner's word. Refusals that concern
whether a site exists or whose it is read the same for both (``no site … of ORG
on the ledger``), except the enrolment of a taken URN: URNs are unique across the
ledger, so that conflict must be told (not whose).

A site's ``site.attestation`` is by a verifier other than the owner that holds
the owner's live inventory grant: it attests what it has read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from ledger.entries import Entry
from ledger.entries.carbon.activity import ActivityBatch
from ledger.entries.carbon.common import utc_text
from ledger.entries.carbon.instruments import InstrumentRetire
from ledger.entries.carbon.sites import SiteAttestation, SiteEnroll, names_a_site
from ledger.entries.carbon.targets import Inventory
from ledger.errors import ConflictError, PermissionDeniedError, UnknownReferenceError
from ledger.rules.view import CarbonView, GenerationSpan, SiteInput
from ledger.zero_carbon.attestation import attestation_status
from ledger.zero_carbon.gather import SiteReader, evaluate_site


def check_site_rules(entry: Entry, view: CarbonView, at_us: int) -> None:
    """Raise an ``EntryRejectedError`` unless what ``entry`` says about sites holds."""
    if isinstance(entry, SiteEnroll):
        if view.site_owner(entry.site) is not None:
            raise ConflictError(
                f"site {entry.site} is already enrolled; a site URN is enrolled once, "
                "choose another",
                field="site",
            )
    elif isinstance(entry, SiteAttestation):
        _check_site_attestation(entry, view, at_us)
    else:
        for site, field in _sites_named(entry):
            _owned_site(site, entry.org, view, field)
        if isinstance(entry, ActivityBatch) and names_a_site(entry.site):
            _check_generation_once(entry.site, _spans(entry), view)


def _sites_named(entry: Entry) -> Iterator[tuple[str, str]]:
    """The sites an inventory, activity batch or retirement records for, with their
    fields: each must be the signer's own."""
    if isinstance(entry, Inventory):
        if entry.site is not None:
            yield entry.site, "site"
    elif isinstance(entry, ActivityBatch):
        if names_a_site(entry.site):
            yield entry.site, "site"
    elif isinstance(entry, InstrumentRetire):
        if entry.beneficiary.site is not None:
            # ``beneficiary.org`` is the retiring org when a site is named (stateless rule).
            yield entry.beneficiary.site, "beneficiary.site"
        if entry.generator is not None:
            # Naming a site as generator lowers the generation it may count and changes
            # its evaluation: only its owner says its generation was certified.
            yield entry.generator.site, "generator.site"


def site_inputs_of(entry: Entry, seq: int) -> Iterator[tuple[str, SiteInput]]:
    """The (site, row) pairs ``entry``, recorded at ``seq``, adds to the site rows."""
    if isinstance(entry, Inventory) and entry.site is not None:
        yield entry.site, SiteInput(seq, entry.reportingYear, "inventory")
    elif isinstance(entry, ActivityBatch) and names_a_site(entry.site):
        for generated in entry.generation_years:
            yield entry.site, SiteInput(seq, generated, "generation")
    elif isinstance(entry, InstrumentRetire):
        reporting = entry.site_year()
        if entry.beneficiary.site is not None and reporting is not None:
            yield entry.beneficiary.site, SiteInput(seq, reporting, "retirement")
        if entry.generator is not None:
            # The certificates' vintage is the year their MWh were generated.
            yield entry.generator.site, SiteInput(seq, entry.vintage, "generated-certificate")
    elif isinstance(entry, SiteAttestation):
        yield entry.site, SiteInput(seq, entry.year, "attestation")


def apply_site_rules(entry: Entry, seq: int, leaf_hash: bytes, view: CarbonView) -> None:
    """Record what ``entry`` (already checked), recorded at ``seq`` with ``leaf_hash``,
    adds to the site tables."""
    if isinstance(entry, SiteEnroll):
        view.add_site(entry.site, entry.org, seq)
    elif isinstance(entry, ActivityBatch) and names_a_site(entry.site):
        if spans := _spans(entry):
            view.add_generation_spans(entry.site, seq, spans)
    named = False
    for site, facts in site_inputs_of(entry, seq):
        view.add_site_input(site, facts)
        named = True
    if named:
        view.add_site_record(entry, seq, leaf_hash)


def _owned_site(site: str, org: str, view: CarbonView, field: str) -> None:
    """One refusal whether ``site`` is not enrolled or is another org's."""
    if view.site_owner(site) != org:
        raise UnknownReferenceError(
            f"no site {site} of {org} on the ledger; an org records inventories, meter "
            "readings and retirements only for sites it enrolled (site.enroll)",
            field=field,
        )


def _spans(entry: ActivityBatch) -> tuple[GenerationSpan, ...]:
    return tuple(GenerationSpan(*span) for span in entry.generation_spans)


def _check_generation_once(site: str, spans: tuple[GenerationSpan, ...], view: CarbonView) -> None:
    """Refuse generation readings of a meter over time the site's log already has
    generation for from that meter: resubmitted in another batch, they would count
    twice. One probe per meter the batch reads (its spans' hull), none per reading."""
    by_meter: dict[str, list[GenerationSpan]] = {}
    for span in spans:
        by_meter.setdefault(span.meter_id, []).append(span)
    for meter, mine in by_meter.items():
        recorded = view.generation_spans_near(site, meter, mine[0].start_us, mine[-1].end_us)
        for span in mine:
            # ``recorded`` is sorted by start: the last one starting before this span
            # ends is the only candidate (recorded spans of a meter never overlap).
            i = bisect_left(recorded, span.end_us, key=lambda r: r.start_us) - 1
            if i >= 0 and recorded[i].end_us > span.start_us:
                raise UnknownReferenceError(
                    f"meter {meter} already has generation recorded at site {site} over "
                    f"{utc_text(max(span.start_us, recorded[i].start_us))}.."
                    f"{utc_text(min(span.end_us, recorded[i].end_us))}; a generation reading "
                    "is recorded once",
                    field="readings",
                )


def _check_site_attestation(entry: SiteAttestation, view: CarbonView, at_us: int) -> None:
    owner = view.site_owner(entry.site)
    if owner == entry.org:
        raise PermissionDeniedError(
            f"{entry.org} owns site {entry.site}; a verifier cannot rate its own sites",
            field="site",
        )
    if owner is None or view.live_inventory_grant(entry.org, owner, at_us) is None:
        # One refusal for a site that does not exist and one the verifier may not read.
        raise UnknownReferenceError(
            f"no site {entry.site} whose inventories {entry.org} may read is on the ledger; "
            "a verifier rates a site under its owner's live inventory grant",
            field="site",
        )
    _check_rating(entry, view)


def _check_rating(entry: SiteAttestation, view: CarbonView) -> None:
    """A rating states the evaluation of its site-year from the log as it is now: the
    same inputs, level, type and result digest (``ledger.zero_carbon``), so a junk
    rating (bogus inputs or digest) cannot be recorded, and a recorded one is current
    until an input changes."""
    evaluation = evaluate_site(SiteReader(view, view.site_record), entry.site, entry.year)
    status = attestation_status(entry, evaluation)
    if status.current:
        return
    if set(entry.inputs) != set(evaluation.input_ids):
        field = "inputs"
    elif entry.level != evaluation.level:
        field = "level"
    elif evaluation.factory_type is not None and entry.factoryType != evaluation.factory_type:
        field = "factoryType"
    else:
        field = "resultDigest"
    raise UnknownReferenceError(
        f"the rating differs from the evaluation of {entry.site} for {entry.year} from the "
        f"log: {'; '.join(status.reasons)}; a rating states ledger.zero_carbon.evaluate_site "
        "as of its record",
        field=field,
    )
