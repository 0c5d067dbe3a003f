"""What a record must say for a derived index row that names it to be believed.

The derived tables are not signed, so each read that reaches a record through one checks
the record against the row's claim (``FootprintAccess.indexed_entry``): a row repointed at
another genuine record is refused as tampering rather than served under the wrong name.
Each predicate here is one such claim, over the verified entry's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gateway.filters import Filters
from ledger.read.footprints import FootprintRef

Agrees = Callable[[dict[str, Any]], bool]


def names_filtered(filters: Filters) -> Agrees:
    """Whether a footprint entry names one of the filter's product ids and one of its
    company ids (case-insensitively, as the index matched them)."""

    def named(wanted: list[str], declared: list[str]) -> bool:
        return not wanted or bool({w.lower() for w in wanted} & {d.lower() for d in declared})

    return lambda e: (
        named(filters.product_ids, e["footprint"].get("productIds", []))
        and named(filters.company_ids, e["footprint"].get("companyIds", []))
    )


def deprecates(ref: FootprintRef) -> Agrees:
    """Whether an entry deprecates ``ref``'s footprint: a ``footprint.deprecate`` of it or
    a successor naming it in ``precedingPfIds``, by the same org."""
    fid = ref.footprint_id.lower()
    return lambda e: (
        e.get("org") == ref.org_id
        and (
            (
                e.get("type") == "footprint.deprecate"
                and str(e.get("footprintId", "")).lower() == fid
            )
            or (
                e.get("type") == "footprint"
                and fid in (str(p).lower() for p in e["footprint"].get("precedingPfIds") or ())
            )
        )
    )


def declares(ref: FootprintRef) -> Agrees:
    """Whether an entry is ``ref``'s org's footprint of ``ref``'s id, with ``ref``'s entry
    id (served as ``entryId``), as the index claims."""
    return lambda e: (
        e.get("type") == "footprint"
        and e.get("org") == ref.org_id
        and e.get("entryId") == ref.entry_id
        and str(e["footprint"].get("id", "")).lower() == ref.footprint_id.lower()
    )


def declares_products(product_ids: Iterable[str]) -> Agrees:
    """Whether a footprint entry declares every product id the ``footprint_product`` index
    gives it: a product-line grant reaches a footprint through those rows, so a row given
    another product would open the footprint to that product's grantees."""
    indexed = set(product_ids)
    return lambda e: indexed <= set(e["footprint"].get("productIds", ()))


def attests_to(ref: FootprintRef | None) -> Agrees:
    """Whether an entry is an attestation of ``ref``'s footprint (by entry id and/or leaf
    hash, whichever it names)."""
    mine = (ref.entry_id, ref.leaf_hash.hex()) if ref is not None else (None, None)

    def attests(e: dict[str, Any]) -> bool:
        claims = (e.get("footprintEntryId"), e.get("footprintLeafHash"))
        return e.get("type") == "attestation" and all(
            claim is None or str(claim).lower() == own
            for claim, own in zip(claims, mine, strict=True)
        )

    return attests


def benefits_from(footprint_id: str) -> Agrees:
    """Whether an entry is a retirement naming ``footprint_id`` as beneficiary."""
    return lambda e: (
        e.get("type") == "instrument.retire"
        and footprint_id in ((e.get("beneficiary") or {}).get("footprintIds") or ())
    )


def retired_by(org: str, registry: str, first: str, last: str) -> Agrees:
    """Whether an entry is ``org``'s retirement at ``registry`` of the serials ``first``
    to ``last`` (all served with the answer)."""
    return lambda e: (
        e.get("type") == "instrument.retire"
        and e.get("org") == org
        and e.get("registry") == registry
        and e.get("serials") == {"first": first, "last": last}
    )


def target_of(buyer: str | None, supplier: str) -> Agrees:
    """Whether an entry is a target for ``supplier`` (set by ``buyer``, when given)."""
    return lambda e: (
        e.get("type") == "target"
        and e.get("supplier") == supplier
        and buyer in (None, e.get("org"))
    )


def inventory_of(org: str) -> Agrees:
    """Whether an entry is ``org``'s inventory."""
    return lambda e: e.get("type") == "inventory" and e.get("org") == org
