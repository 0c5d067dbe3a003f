"""PACT events (CloudEvents, structured mode) and the persisted callback outbox
(the endpoints are in ``gateway.events_api``).

``RequestCreatedEvent`` starts an asynchronous request. If footprints matching
its criteria are visible to the requester, a ``RequestFulfilledEvent`` is queued
at once; if it names only products no one can ever declare (``urn:pact:null``)
a ``RequestRejectedEvent`` is; otherwise the request stays open for the
supplier, is re-examined periodically, and is fulfilled when a matching
footprint becomes visible. Queued events are rows of ``gw_callback``: a worker
in each gateway process claims due rows with a lease, authenticates at the
requester's token endpoint with the credentials registered for it, POSTs the
event, and on failure retries with exponential backoff (abandoning after 72 h
by default). A restart loses nothing; several processes never deliver one row
concurrently.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Connection, func, insert, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.callback_credentials import callback_secret, has_callback
from gateway.context import GatewayContext
from gateway.errors import bad_request
from gateway.filters import Filters, parse_instant
from gateway.footprints import Directory, FootprintAccess
from gateway.pact_v2 import servable, to_v2
from gateway.tables import AsyncRequestRow, CallbackCredentialRow, CallbackRow

log = logging.getLogger(__name__)

_AR = AsyncRequestRow.__table__  # type: ignore[attr-defined]
_CB = CallbackRow.__table__  # type: ignore[attr-defined]
_CC = CallbackCredentialRow.__table__  # type: ignore[attr-defined]

NULL_PRODUCT = "urn:pact:null"
V3 = "org.wbcsd.pact.ProductFootprint.{}.3"
V3_TYPES = {
    "created": V3.format("RequestCreatedEvent"),
    "fulfilled": V3.format("RequestFulfilledEvent"),
    "rejected": V3.format("RequestRejectedEvent"),
    "published": V3.format("PublishedEvent"),
}
V2_TYPES = {
    "created": "org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1",
    "fulfilled": "org.wbcsd.pathfinder.ProductFootprintRequest.Fulfilled.v1",
    "rejected": "org.wbcsd.pathfinder.ProductFootprintRequest.Rejected.v1",
    "published": "org.wbcsd.pathfinder.ProductFootprint.Published.v1",
}
MAX_PFS = 100
#: Open requests per requester: each is examined again whenever the log grows.
MAX_OPEN_REQUESTS = 100


def _now_us() -> int:
    return time.time_ns() // 1000


# -- criteria ------------------------------------------------------------------------


def _criteria_json(filters: Filters) -> str:
    def iso(d: datetime | None) -> str | None:
        return d.isoformat() if d else None

    return json.dumps(
        {
            "productId": filters.product_ids,
            "companyId": filters.company_ids,
            "geography": filters.geography,
            "classification": filters.classification,
            "validOn": iso(filters.valid_on),
            "validAfter": iso(filters.valid_after),
            "validBefore": iso(filters.valid_before),
            "status": filters.status,
        }
    )


def _filters_of(criteria: str) -> Filters:
    c = json.loads(criteria)
    return Filters(
        product_ids=c["productId"],
        company_ids=c["companyId"],
        geography=c["geography"],
        classification=c["classification"],
        valid_on=parse_instant(c["validOn"]) if c["validOn"] else None,
        valid_after=parse_instant(c["validAfter"]) if c["validAfter"] else None,
        valid_before=parse_instant(c["validBefore"]) if c["validBefore"] else None,
        status=c["status"],
    )


def never_servable(filters: Filters) -> bool:
    return bool(filters.product_ids) and all(
        p.strip().lower() == NULL_PRODUCT for p in filters.product_ids
    )


# -- the outbox ------------------------------------------------------------------------


class Outbox:
    """Answers asynchronous requests and delivers queued events (one worker thread)."""

    def __init__(
        self,
        context: GatewayContext,
        footprints: FootprintAccess,
        directory: Directory,
    ) -> None:
        self.context = context
        self.db = context.db
        self.footprints = footprints
        self.directory = directory
        self.source = "//carbonledger/3/events"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reexamine = 0.0
        # Where the next re-examination pass starts (created_us, request_id): passes
        # walk through all open requests, a batch at a time, so requests that never
        # match cannot keep the newer ones from being examined.
        self._reexamine_after: tuple[int, str] = (-1, "")

    # -- answering ------------------------------------------------------------

    def answer(
        self, requester: str, event_id: str, version: int, filters: Filters
    ) -> tuple[str, dict[str, Any]] | None:
        """("fulfilled"|"rejected", event) for a request, or None to keep it open."""
        roles = self.directory.roles_of(requester) or frozenset()
        found, _ = self.footprints.list(requester, roles, filters, after_seq=-1, limit=MAX_PFS)
        docs = [self.footprints.document(v) for v in found]
        if version == 2:
            docs = [to_v2(d) for d in docs if servable(d)]
        types = V2_TYPES if version == 2 else V3_TYPES
        if docs:
            data: dict[str, Any] = {"requestEventId": event_id, "pfs": docs}
            return "fulfilled", self._event(types["fulfilled"], data)
        if never_servable(filters):
            code = "NoSuchFootprint" if version == 2 else "NotFound"
            error = {"code": code, "message": "no footprint can ever match this product id"}
            return "rejected", self._event(
                types["rejected"], {"requestEventId": event_id, "error": error}
            )
        return None

    def _event(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": type_,
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": self.source,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": data,
        }

    def request(self, requester: str, event_id: str, version: int, filters: Filters) -> None:
        """Record a RequestCreatedEvent (idempotent per requester and event id)."""
        with self.db.read() as conn:
            seen = conn.execute(
                select(_AR.c.request_id).where(
                    _AR.c.requester == requester, _AR.c.event_id == event_id
                )
            ).first()
            if seen is not None:
                return
            open_now = conn.execute(
                select(func.count())
                .select_from(_AR)
                .where(_AR.c.requester == requester, _AR.c.state == "open")
            ).scalar_one()
            if open_now >= MAX_OPEN_REQUESTS:
                raise bad_request(
                    f"{requester} has {open_now} open requests, the most one requester may "
                    "have; send more once some are fulfilled or rejected"
                )
            if not has_callback(conn, requester):
                raise bad_request(
                    f"no events endpoint is registered for {requester}; "
                    "the ledger operator registers one with `carbonledger clients callback`"
                )
        outcome = self.answer(requester, event_id, version, filters)
        now = _now_us()
        with self.db.write_engine.begin() as conn:
            conn.execute(
                insert(_AR).values(
                    request_id=str(uuid.uuid4()),
                    event_id=event_id,
                    requester=requester,
                    criteria=json.dumps({"v": version, "filters": _criteria_json(filters)}),
                    state=outcome[0] if outcome else "open",
                    created_us=now,
                )
            )
            if outcome:
                self._queue(conn, requester, outcome[1], now)
        if outcome:
            self._wake.set()

    @staticmethod
    def _queue(conn: Connection, requester: str, event: dict[str, Any], now: int) -> None:
        conn.execute(
            insert(_CB).values(
                callback_id=str(uuid.uuid4()),
                requester=requester,
                event=json.dumps(event),
                state="pending",
                attempts=0,
                next_attempt_us=now,
                lease_until_us=0,
                last_error=None,
                created_us=now,
            )
        )

    def reexamine(self) -> None:
        """Answer open requests that can now be fulfilled: the next batch of
        ``reexamine_batch``, oldest first, wrapping around after the newest."""
        batch = self.context.reexamine_batch
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    _AR.c.request_id,
                    _AR.c.event_id,
                    _AR.c.requester,
                    _AR.c.criteria,
                    _AR.c.created_us,
                )
                .where(
                    _AR.c.state == "open",
                    tuple_(_AR.c.created_us, _AR.c.request_id) > self._reexamine_after,
                )
                .order_by(_AR.c.created_us, _AR.c.request_id)
                .limit(batch)
            ).all()
        last = rows[-1] if len(rows) == batch else None
        self._reexamine_after = (last.created_us, last.request_id) if last else (-1, "")
        for row in rows:
            try:
                stored = json.loads(row.criteria)
                outcome = self.answer(
                    row.requester, row.event_id, stored["v"], _filters_of(stored["filters"])
                )
            except SQLAlchemyError:
                raise  # the database, not this request: the pass is retried
            except Exception as exc:  # one request must not stall the others
                log.warning(
                    "open request %s could not be re-examined (%s: %s); the others go on",
                    row.request_id,
                    type(exc).__name__,
                    exc,
                )
                continue
            if outcome is None:
                continue
            with self.db.write_engine.begin() as conn:
                claimed = conn.execute(
                    update(_AR)
                    .where(_AR.c.request_id == row.request_id, _AR.c.state == "open")
                    .values(state=outcome[0])
                ).rowcount
                if claimed == 1:
                    self._queue(conn, row.requester, outcome[1], _now_us())

    # -- delivering -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="gateway-outbox", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        with httpx.Client(
            timeout=self.context.callback_timeout, verify=self.context.callback_verify
        ) as client:
            while not self._stop.is_set():
                try:
                    if time.monotonic() - self._last_reexamine >= self.context.reexamine_interval:
                        self._last_reexamine = time.monotonic()
                        self.reexamine()
                    while self.deliver_due(client):
                        pass
                except Exception:  # keep the worker alive; the rows stay queued
                    log.exception("callback outbox pass failed")
                self._wake.wait(self.context.poll_interval)
                self._wake.clear()

    def deliver_due(self, client: httpx.Client) -> bool:
        """Claim and deliver one due callback; False when none is due."""
        now = _now_us()
        with self.db.read() as conn:
            row = conn.execute(
                select(_CB.c.callback_id)
                .where(
                    _CB.c.state == "pending",
                    _CB.c.next_attempt_us <= now,
                    _CB.c.lease_until_us <= now,
                )
                .order_by(_CB.c.next_attempt_us)
                .limit(1)
            ).first()
        if row is None:
            return False
        lease = now + int((self.context.callback_timeout * 3 + 5) * 1_000_000)
        with self.db.write_engine.begin() as conn:
            claimed = conn.execute(
                update(_CB)
                .where(
                    _CB.c.callback_id == row.callback_id,
                    _CB.c.state == "pending",
                    _CB.c.lease_until_us <= now,
                )
                .values(lease_until_us=lease)
            ).rowcount
            if claimed != 1:
                return True
            item = conn.execute(
                select(_CB.c.requester, _CB.c.event, _CB.c.attempts, _CB.c.created_us).where(
                    _CB.c.callback_id == row.callback_id
                )
            ).one()
            creds = conn.execute(select(_CC).where(_CC.c.org_id == item.requester)).first()
        error = self._post(client, creds, item.event)
        with self.db.write_engine.begin() as conn:
            if error is None:
                values: dict[str, Any] = {"state": "delivered", "last_error": None}
            else:
                attempts = item.attempts + 1
                delay = min(self.context.retry_base * 2 ** (attempts - 1), self.context.retry_max)
                next_at = _now_us() + int(delay * 1_000_000)
                expired = next_at - item.created_us > self.context.give_up_after * 1_000_000
                values = {
                    "state": "failed" if expired else "pending",
                    "attempts": attempts,
                    "next_attempt_us": next_at,
                    "last_error": error[:1000],
                }
                log.warning(
                    "callback to %s failed (%s); attempt %d", item.requester, error, attempts
                )
            conn.execute(
                update(_CB)
                .where(_CB.c.callback_id == row.callback_id)
                .values(lease_until_us=0, **values)
            )
        return True

    def _post(self, client: httpx.Client, creds: Any, event: str) -> str | None:
        if creds is None:
            return "no callback credentials registered"
        try:
            secret = callback_secret(self.context.data_dir, creds)
            token = client.post(
                creds.token_url,
                data={"grant_type": "client_credentials"},
                auth=(creds.client_id, secret),
            )
            if token.status_code != 200:
                return f"token endpoint answered {token.status_code}"
            access = token.json().get("access_token")
            if not isinstance(access, str):
                return "token endpoint gave no access_token"
            version = 2 if json.loads(event)["type"].startswith("org.wbcsd.pathfinder") else 3
            answer = client.post(
                f"{creds.events_url}/{version}/events",
                content=event.encode(),
                headers={
                    "Content-Type": "application/cloudevents+json",
                    "Authorization": f"Bearer {access}",
                },
            )
        except (httpx.HTTPError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"
        if not 200 <= answer.status_code < 300:
            return f"events endpoint answered {answer.status_code}"
        return None
