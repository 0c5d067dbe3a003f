"""Check 11: the PACT view a gateway serves, compared with the replay value by value.

An insider who edits a derived row while the gateway runs changes what
buyers are served (a footprint hidden, its status flipped, another leaf
hash) without touching the log. The auditor's org (role ``auditor``) is shown
every footprint at ``detail`` level, so the gateway must serve exactly the
replay's footprints, each as the gateway's own document builder renders the
verified entry with the replay's facts (``gateway.footprints.build_document``:
code, which no database change alters). Footprints recorded after the audited
checkpoint are not compared. Both sides come in seq order and are merged, so
neither is held in memory.

Where the documents come from (HTTP, paginated) is ``clients.audit.gateway_source``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from clients.audit.model import Check, Failure
from clients.audit.source import RecordSource
from gateway.footprints import build_document
from ledger.read.footprints import FootprintListing, FootprintRef
from ledger.record import Record, entry_hash

MAX_FIELDS = 5
_PAGE = 1000


@dataclass(frozen=True)
class Expected:
    seq: int
    footprint_id: str
    document: dict[str, Any] | None  # None: the record read does not give the replay's leaf


def expected_documents(replica: Connection, source: RecordSource, size: int) -> Iterator[Expected]:
    """The replay's footprints below ``size`` in seq order, each rendered from its record."""
    for ref in _footprints_below(replica, size):
        found = [r for batch in source.batches(ref.seq, ref.seq + 1) for r in batch]
        document = None
        if len(found) == 1:
            r = found[0]
            record = Record(
                r.seq, r.timestamp_us, r.prev_chain_hash, entry_hash(r.entry), r.key_id, r.signature
            )
            if record.leaf_hash() == ref.leaf_hash:
                document = build_document(json.loads(r.entry), ref, "detail")
        yield Expected(ref.seq, ref.footprint_id, document)


def _footprints_below(replica: Connection, size: int) -> Iterator[FootprintRef]:
    listing, after = FootprintListing(), -1
    while True:
        page = listing.page(replica, after_seq=after, limit=_PAGE)
        for ref in page:
            if ref.seq >= size:
                return
            yield ref
        if len(page) < _PAGE:
            return
        after = page[-1].seq


def served_check(
    documents: Iterable[dict[str, Any]],
) -> Callable[[Connection, RecordSource, int], Iterator[Failure]]:
    """Check 11 over ``documents`` (as served), for ``run_audit``'s ``served``."""

    def check(replica: Connection, source: RecordSource, size: int) -> Iterator[Failure]:
        return compare_served(expected_documents(replica, source, size), documents, size)

    return check


def _served_seq(doc: dict[str, Any]) -> int:
    for extension in doc.get("extensions") or []:
        data = extension.get("data") if isinstance(extension, dict) else None
        if isinstance(data, dict) and isinstance(data.get("seq"), int):
            return int(data["seq"])
    return -1


def compare_served(
    expected: Iterable[Expected], served: Iterable[dict[str, Any]], size: int
) -> Iterator[Failure]:
    """Every footprint hidden, added or altered in ``served``, named with its id and field."""
    want_iter = iter(expected)
    have_iter = (d for d in served if _served_seq(d) < size)
    want, have = next(want_iter, None), next(have_iter, None)
    while want is not None or have is not None:
        have_seq = _served_seq(have) if have is not None else None
        if have is None or (want is not None and have_seq is not None and want.seq < have_seq):
            assert want is not None
            yield Failure(
                Check.SERVED,
                f"footprint {want.footprint_id} is not served to the auditor",
                want.seq,
            )
            want = next(want_iter, None)
        elif want is None or (have_seq is not None and have_seq < want.seq):
            yield Failure(
                Check.SERVED,
                f"footprint {have.get('id')!r} is served at seq {have_seq}, where the log "
                "gives no footprint",
                have_seq if have_seq is not None and have_seq >= 0 else None,
            )
            have = next(have_iter, None)
        else:
            yield from _compare_one(want, have)
            want, have = next(want_iter, None), next(have_iter, None)


def _compare_one(want: Expected, have: dict[str, Any]) -> Iterator[Failure]:
    if want.document is None:
        yield Failure(
            Check.SERVED,
            f"footprint {want.footprint_id}: the record read now is not the one audited",
            want.seq,
        )
        return
    altered = differences_shown(want.document, have)
    if altered is not None:
        yield Failure(
            Check.SERVED, f"footprint {want.footprint_id} is served altered: {altered}", want.seq
        )


def differences_shown(want: Any, have: Any) -> str | None:
    """The first ``MAX_FIELDS`` fields served otherwise than the log gives, for a
    failure message, or None when the two agree."""
    paths = list(field_differences(want, have))
    if not paths:
        return None
    shown = "; ".join(
        f"field {p}: served {shown_value(s)}, log gives {shown_value(w)}"
        for p, w, s in paths[:MAX_FIELDS]
    )
    more = f" (and {len(paths) - MAX_FIELDS} more)" if len(paths) > MAX_FIELDS else ""
    return shown + more


_ABSENT = object()


def field_differences(want: Any, have: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, wanted, served) for each leaf value that differs."""
    if isinstance(want, dict) and isinstance(have, dict):
        for key in list(want) + [k for k in have if k not in want]:
            yield from field_differences(
                want.get(key, _ABSENT), have.get(key, _ABSENT), f"{path}.{key}" if path else key
            )
    elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            yield from field_differences(w, h, f"{path}[{i}]")
    elif want != have:
        yield path, want, have


def shown_value(value: Any) -> str:
    if value is _ABSENT:
        return "nothing"
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
