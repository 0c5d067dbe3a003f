"""A trickle of appends during a gateway load run: entries built and signed before any
timing, submitted at a steady rate by a process of their own (a client, as a supplier's
or verifier's would be), each touching a footprint being read.

They cycle through three kinds, each over the next footprint being read:

* an attestation of it (its evidence changes: its detail answers are computed anew);
* a downstream org's footprint citing it (a new footprint; its own result is unchanged);
* a successor of the upstream footprint it cites (its result is recomputed: the citation
  re-resolves to the successor).
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Any

from entries import footprint

from clients.sdk import LedgerClient, OrgSigner, SignedEntry, new_entry
from clients.sdk.client import Rejected

VERIFIER = "urn:pact:company:customcode:bench-verifier"
DOWNSTREAM = "urn:pact:company:customcode:bench-downstream"


@dataclass
class Read:
    """A footprint being read: its product and entry id, and the upstream footprint it
    cites (product, current footprint id)."""

    product: str
    entry_id: str
    upstream_product: str
    upstream_id: str


@dataclass
class Signers:
    supplier: OrgSigner
    upstream: OrgSigner
    verifier: OrgSigner
    downstream: OrgSigner
    reads: list[Read] = field(default_factory=list)


def consents(signers: Signers, read: Read) -> list[SignedEntry]:
    """The supplier's grants that let the trickle touch ``read``: the verifier reads it
    in detail (it attests what it read), the downstream org may cite it."""
    supplier = signers.supplier
    return [
        supplier.sign(
            new_entry(
                "grant", supplier.org, grantee=VERIFIER, productId=read.product, level="detail"
            )
        ),
        supplier.sign(
            new_entry(
                "grant", supplier.org, grantee=DOWNSTREAM, productId=read.product, level="summary"
            )
        ),
    ]


def trickle_entries(signers: Signers, count: int) -> list[SignedEntry]:
    """``count`` entries, signed now, cycling through the kinds over the reads."""
    out: list[SignedEntry] = []
    for k in range(count):
        read = signers.reads[(k // 3) % len(signers.reads)]
        kind = k % 3
        if kind == 0:
            attestation = new_entry(
                "attestation",
                VERIFIER,
                footprintEntryId=read.entry_id,
                standard="ISO14067",
                assuranceLevel="limited",
                boundary="cradle-to-gate",
                validFrom="2025-01-01T00:00:00Z",
                validUntil="2030-01-01T00:00:00Z",
            )
            out.append(signers.verifier.sign(attestation))
        elif kind == 1:
            line = {"productId": read.product, "companyId": signers.supplier.org}
            citing = footprint(
                DOWNSTREAM,
                f"urn:pact:product:bench-downstream:assembly-{k}",
                [{**line, "amount": "3", "unit": "kilogram"}],
            )
            out.append(signers.downstream.sign(citing))
        else:
            successor = footprint(
                signers.upstream.org, read.upstream_product, [], preceding=[read.upstream_id]
            )
            read.upstream_id = successor["footprint"]["id"]
            out.append(signers.upstream.sign(successor))
    return out


def _submit(target: str, entries: list[SignedEntry], rate: float, stop: Any, out: Any) -> None:
    """Submit ``entries`` at ``rate`` per second until they run out or ``stop`` is set."""
    recorded, refused = 0, []
    started = time.perf_counter()
    with LedgerClient(target) as client:
        for k, entry in enumerate(entries):
            if stop.is_set():
                break
            delay = started + k / rate - time.perf_counter()
            if delay > 0 and stop.wait(delay):  # the schedule, not a synchronisation
                break
            try:
                client.submit(entry)
                recorded += 1
            except Rejected as e:
                refused.append(str(e))
    out.put((recorded, time.perf_counter() - started, refused[:3]))


class Trickle:
    """``with Trickle(target, entries, rate) as t:`` submits while the block runs;
    afterwards ``t.rate`` is the rate achieved and ``t.recorded`` the entries recorded."""

    def __init__(self, target: str, entries: list[SignedEntry], rate: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._out = ctx.Queue()
        self._proc = ctx.Process(
            target=_submit, args=(target, entries, rate, self._stop, self._out)
        )
        self.recorded = 0
        self.rate = 0.0

    def __enter__(self) -> Trickle:
        self._proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        recorded, elapsed, refused = self._out.get(timeout=60)
        self._proc.join()
        if refused:
            raise SystemExit(f"trickle entries refused: {refused}")
        self.recorded, self.rate = recorded, recorded / elapsed
