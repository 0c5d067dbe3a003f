"""Which other organisations' footprints an organisation's citations may follow.

A citation puts the cited footprint's total into the citing organisation's own computed
footprints, and through them its value. The ledger's rules accept a citation of another
organisation's product or footprint only under that owner's live grant, but a citation
of a product keeps resolving to the owner's newest footprint of it, so without a second
rule the citer's totals would keep moving with upstream data its grant no longer covers
(a revoked or expired grant). This module is that rule, decided once per event so that
every replay of the same log reaches the same answer, whatever the wall clock says:

* an organisation's own footprints are always followed;
* a footprint of another organisation is followed by a citer once it has been *shared*
  with it, which happens when
  - the footprint is recorded while a grant covering it (its id, or one of its products)
    to the citer is live (``GrantFacts.live_at`` at the footprint's record time);
  - such a grant is recorded while live, for footprints active at that moment;
  - the citer records a footprint citing it (the rules checked a live grant then).

Sharing is never withdrawn: what an owner once shared stays followed after the grant
ends, but nothing the owner records afterwards is, and a citation whose footprint was
replaced by one not shared becomes a gap, reported exactly as "nothing active" so that it
tells nothing about the owner's newer data.
"""

from __future__ import annotations

from collections.abc import Iterable

from graph.model import FootprintDeclaration
from ledger.entries.carbon.grants import Grant, GrantRevoke
from ledger.rules.carbon import grant_facts
from ledger.rules.view import GrantFacts


class Sharing:
    """Grants between organisations and the footprints they shared, in log order.

    ``at_us`` (the record's signed timestamp, UTC microseconds) may be None when entries
    are replayed without records (a draft chain): grant windows are then not applied.
    """

    def __init__(self) -> None:
        # live grants by entry id, and by (grantor, footprint id) and (grantor, product id)
        self._grants: dict[str, GrantFacts] = {}
        self._by_footprint: dict[tuple[str | None, str], list[GrantFacts]] = {}
        self._by_product: dict[tuple[str | None, str], list[GrantFacts]] = {}
        self._shared: set[tuple[str | None, str]] = set()  # (citer org, footprint id)

    def follows(self, citer_org: str | None, footprint: FootprintDeclaration) -> bool:
        """Whether ``citer_org``'s citations may resolve to ``footprint``."""
        return footprint.org_id == citer_org or (citer_org, footprint.id) in self._shared

    def share(self, citer_org: str | None, footprints: Iterable[FootprintDeclaration]) -> None:
        """Record that ``citer_org`` cited ``footprints`` under a grant the rules checked."""
        for footprint in footprints:
            if footprint.org_id != citer_org:
                self._shared.add((citer_org, footprint.id))

    def footprint_recorded(self, footprint: FootprintDeclaration, at_us: int | None) -> None:
        """Share a newly recorded footprint with every grantee whose grant is live now."""
        grants = list(self._by_footprint.get((footprint.org_id, footprint.id), ()))
        for product in footprint.product_ids:
            grants += self._by_product.get((footprint.org_id, product), ())
        for grant in grants:
            if _live(grant, at_us):
                self._shared.add((grant.grantee, footprint.id))

    def grant_recorded(
        self, grant: Grant, at_us: int | None, covered: Iterable[FootprintDeclaration]
    ) -> bool:
        """Index a footprint or product grant and, if it is live now, share ``covered``
        (the grantor's active footprints it names). Returns whether anything new was
        shared: the grantee's citations then need resolving again."""
        if grant.inventory is not None:
            return False
        facts = grant_facts(grant, seq=-1)  # followed by entry id; the position is not needed
        self._grants[facts.entry_id] = facts
        if facts.footprint_id is not None:
            self._by_footprint.setdefault((facts.grantor, facts.footprint_id), []).append(facts)
        if facts.product_id is not None:
            self._by_product.setdefault((facts.grantor, facts.product_id), []).append(facts)
        if not _live(facts, at_us):
            return False
        new = {(facts.grantee, footprint.id) for footprint in covered} - self._shared
        self._shared |= new
        return bool(new)

    def grant_revoked(self, revoke: GrantRevoke) -> None:
        """End a grant: footprints recorded from now on are no longer shared through it."""
        facts = self._grants.pop(revoke.grantId, None)
        if facts is None:
            return
        for index, key in (
            (self._by_footprint, facts.footprint_id),
            (self._by_product, facts.product_id),
        ):
            if key is not None:
                index[(facts.grantor, key)].remove(facts)


def _live(grant: GrantFacts, at_us: int | None) -> bool:
    """Revoked grants are dropped from the indexes, so only the window is left to check."""
    return at_us is None or grant.live_at(at_us)
