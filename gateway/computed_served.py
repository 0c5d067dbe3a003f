"""Computed footprints as served: each viewer's answer rendered once and held across the
appends that do not reach it.

Computing an answer costs the viewer's access to every footprint its breakdowns are cut
by (``graph.cut``), the cut itself and the evidence, several database round trips in
all, on a worker thread. A held answer is served on the event loop with no database work
beyond the log size every read shares (``LogSizeProbe``), as long as

* no grant window edge the viewer's access answers rest on has passed, and
* nothing the log took in since it was computed reaches it: no entry changed the
  engine result or the evidence of a footprint it rests on, and no grant to the viewer
  or revocation was recorded (``gateway.computed_journal``).

Otherwise it is computed anew, exactly as on a first request: visibility through the
access policy with its index checks, the engine's result cut for the viewer, evidence
read verified. Missing, hidden and uncomputable footprints are never held, so they cost
the same look-ups every time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from fastapi.concurrency import run_in_threadpool

from gateway.computed import ComputedFootprints
from gateway.footprints import FootprintAccess, Lru, Visible
from graph.cut import Level

#: Answers held (viewer, footprint pairs); the least recently served go first.
HELD_ANSWERS = 20000


class ViewerAccess:
    """One viewer's access level to each footprint id, asked once per id through the
    access policy (a ``graph.cut.Disclosure``), and until when all the answers hold."""

    def __init__(
        self,
        footprints: FootprintAccess,
        org: str,
        roles: frozenset[str],
        known: Mapping[str, Level | None] | None = None,
        valid_until: float = math.inf,
    ) -> None:
        """``known``: levels answered earlier that still hold until ``valid_until``."""
        self._footprints = footprints
        self._org = org
        self._roles = roles
        self.levels: dict[str, Level | None] = dict(known or {})
        self.valid_until = valid_until

    def visible(self, footprint_id: str) -> Visible | None:
        """The footprint as the viewer may see it (None: hidden or missing)."""
        answer = self._footprints.access(self._org, self._roles, footprint_id)
        return self._held(footprint_id, answer)

    def ask_ahead(self, footprint_ids: Sequence[str]) -> None:
        """Answer those of ``footprint_ids`` not asked yet, together
        (``FootprintAccess.access_all``): a walk of the supply graph asks for each
        frontier of footprints at once (``graph.cut.AsksAhead``)."""
        new = [fid for fid in dict.fromkeys(footprint_ids) if fid not in self.levels]
        if new:
            answers = self._footprints.access_all(self._org, self._roles, new)
            for fid, answer in zip(new, answers, strict=True):
                self._held(fid, answer)

    def _held(self, footprint_id: str, answer: tuple[Visible | None, float]) -> Visible | None:
        found, valid_until = answer
        self.valid_until = min(self.valid_until, valid_until)
        self.levels[footprint_id] = None if found is None else cast(Level, found.level)
        return found

    def __call__(self, footprint_id: str) -> Level | None:
        if footprint_id not in self.levels:
            self.visible(footprint_id)
        return self.levels[footprint_id]


@dataclass(frozen=True, slots=True)
class _Held:
    size: int  # a log size the answer is known to hold at
    body: bytes
    engine_id: str  # the footprint's id as the engine holds it
    levels: Mapping[str, Level | None]  # the viewer's access the breakdowns were cut by
    valid_until: float  # seconds since the epoch: the next grant window edge

    @property
    def rests_on(self) -> frozenset[str]:
        """The footprints whose result, evidence or access the answer used."""
        return frozenset(self.levels) | {self.engine_id}


class ServedComputed:
    """``GET /v1/footprints/{id}/computed`` bodies per (viewer org, roles, footprint)."""

    def __init__(
        self,
        computed: ComputedFootprints,
        footprints: FootprintAccess,
        render: Callable[[dict[str, Any]], bytes],
    ) -> None:
        self._computed = computed
        self._footprints = footprints
        self._render = render
        self._held = Lru(HELD_ANSWERS)
        # The advance of the engine in flight, shared by the reads waiting for it.
        self._advancing: tuple[int, asyncio.Future[Any]] | None = None

    async def body(self, org: str, roles: frozenset[str], footprint_id: str) -> bytes | None:
        """The rendered computed footprint as of a log size queried after this call
        began, or None for a footprint that is missing, hidden or not computed. Raises
        as ``ComputedFootprints.result`` does."""
        size = await self._footprints.log_size()
        key = (org, roles, footprint_id)
        held: _Held | None = self._held.get(key)
        if held is None or time.time() >= held.valid_until:
            return await run_in_threadpool(self._fresh, key, size, None)
        if held.size >= size:
            return held.body
        await self._caught_up(size)
        journal = self._computed.journal
        if journal.untouched(held.size, size, held.rests_on, org):
            self._held.put(key, replace(held, size=size))
            return held.body
        # The result or evidence changed; the viewer's access may still hold.
        access_holds = journal.untouched(held.size, size, frozenset(), org)
        return await run_in_threadpool(self._fresh, key, size, held if access_holds else None)

    async def _caught_up(self, size: int) -> None:
        """Wait until the engine has taken in the log's first ``size`` entries: one
        worker thread does it for every read that waits meanwhile."""
        if self._computed.size >= size:
            return
        if self._advancing is None or self._advancing[0] < size or self._advancing[1].done():
            work = run_in_threadpool(self._computed.catch_up, size)
            self._advancing = (size, asyncio.ensure_future(work))
        await asyncio.shield(self._advancing[1])

    def _fresh(
        self, key: tuple[str, frozenset[str], str], size: int, access_of: _Held | None
    ) -> bytes | None:
        """Compute, render and hold the answer (on a worker thread), with the viewer's
        access answers of ``access_of`` when they still hold."""
        org, roles, footprint_id = key
        if access_of is None:
            viewer = ViewerAccess(self._footprints, org, roles)
            visible = viewer.visible(footprint_id)
            if visible is None:
                return None
            engine_id = visible.ref.footprint_id
        else:
            viewer = ViewerAccess(
                self._footprints, org, roles, access_of.levels, access_of.valid_until
            )
            engine_id = access_of.engine_id
        result = self._computed.result(engine_id, viewer, size=size)
        if result is None:
            return None
        body = self._render(result)
        self._held.put(key, _Held(size, body, engine_id, viewer.levels, viewer.valid_until))
        return body
