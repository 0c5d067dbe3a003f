"""Pushing each new signed checkpoint to the witnesses (c2sp.org/tlog-witness).

One thread per witness configured with a URL (``serve --witness VKEY=URL``). It
wakes when the server signs a checkpoint (``wake``) or every ``interval``, reads
the newest stored checkpoint (it never signs, so it never takes the sequencer's
lock) and POSTs ``add-checkpoint`` with the size this witness last cosigned
(0 at start: unknown). On 409 it resynchronises once from the size the witness
holds, sending the consistency proof from it, unless that size is larger than
the log or one this ledger never signed (the witness holds someone else's
checkpoint: logged loudly). Refusals (400, 403, 404, 409, 422, 5xx) and
network errors are logged at warning with the reason and retried with
exponential backoff up to ``max_backoff``. The cosignature lines returned are
stored through :class:`~ledger.cosignatures.Cosignatures` configured with this
witness's key alone, so each is verified; lines of other keys are ignored (one
log line per push says how many).

The witness is not trusted: its answer is read with a size cap and one deadline
for the whole exchange (``ledger.witness_http``), and whatever it says reaches
the log quoted (``ledger.log_text``). A witness that is down, slow or hostile
delays nothing but its own thread, and stopping the ledger waits for none.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import httpx

from ledger.cosignatures import Cosignatures
from ledger.errors import LedgerError
from ledger.log_text import quoted
from ledger.merkle import MerkleError
from ledger.note import CosignatureVerifier, NoteError, parse_signature_line
from ledger.note.tlog_witness import (
    ADD_CHECKPOINT,
    SIZE_CONTENT_TYPE,
    AddCheckpointRequest,
    parse_size,
    signature_lines,
)
from ledger.store.log import LogStore, SignedCheckpointRow
from ledger.witness_http import (
    Answer,
    BoundedExchanges,
    WitnessTransportError,
    submission_prefix,
)

_LOG = logging.getLogger(__name__)
_MAX_REASON = 500
_WITH_URL = re.compile(r"(?P<vkey>[^=]+)=(?P<url>https?://\S+)")


@dataclass(frozen=True)
class WitnessEndpoint:
    """A configured witness: its cosignature key and, if the ledger pushes to it, its
    submission prefix (``None``: the witness pulls and calls ``AddCosignature``)."""

    key: CosignatureVerifier
    url: str | None = None

    @classmethod
    def parse(cls, value: str) -> WitnessEndpoint:
        """``VKEY`` or ``VKEY=URL`` (vkeys hold no ``=``); raises ``NoteError`` for a bad
        vkey, ``InvalidWitnessURLError`` for a URL with credentials, a query or a fragment."""
        found = _WITH_URL.fullmatch(value.strip())
        if found is None:
            return cls(CosignatureVerifier.from_vkey(value.strip()))
        url = submission_prefix(found["url"])
        return cls(CosignatureVerifier.from_vkey(found["vkey"]), url)


@dataclass(frozen=True)
class WitnessStatus:
    """What an operator needs to see: the last size cosigned, and the failure of the
    current run of failures (cleared by the next cosignature: it reads as now, not
    as history; the log keeps the history)."""

    name: str
    url: str
    cosigned_size: int | None = None
    last_error: str | None = None
    failures: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "url": self.url,
            "cosignedSize": self.cosigned_size,
            "lastError": self.last_error,
            "consecutiveFailures": self.failures,
        }


class PushRefusedError(Exception):
    """The witness did not cosign; the message says what it answered and why."""


class WitnessPusher:
    def __init__(
        self,
        witness: WitnessEndpoint,
        store: LogStore,
        consistency_proof: Callable[[int, int], list[bytes]],
        *,
        interval: float = 1.0,
        first_backoff: float = 1.0,
        max_backoff: float = 300.0,
        timeout: float = 10.0,
        deadline: float = 15.0,
        changed: threading.Condition | None = None,
    ) -> None:
        """``consistency_proof(old, new)``: checked proofs from the stored nodes
        (``VerifiedLog.consistency_proof``). ``timeout``: for connecting and each read;
        ``deadline``: for one whole request and its answer. ``changed``: notified after
        each change of :attr:`status` (what a supervisor waits on instead of polling)."""
        if witness.url is None:
            raise ValueError(f"witness {witness.key.name} has no URL to push to")
        self._key = witness.key
        self._url = witness.url + ADD_CHECKPOINT
        self._store = store
        self._cosignatures = Cosignatures(store, [witness.key])
        self._proof = consistency_proof
        self._interval = interval
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._client = httpx.Client(timeout=timeout)
        self._old_size = 0
        self._status = WitnessStatus(witness.key.name, witness.url)
        self._changed = changed or threading.Condition()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._exchanges = BoundedExchanges(self._client, deadline, self._stopping)
        self._thread = threading.Thread(
            target=self._run, name=f"witness-{witness.key.name}", daemon=True
        )

    @property
    def status(self) -> WitnessStatus:
        with self._lock:
            return self._status

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """A checkpoint was signed: push it now (unless backing off after a failure)."""
        self._wake.set()

    def request_stop(self) -> None:
        """Stop pushing: a request in flight is abandoned at its next chunk."""
        self._stopping.set()
        self._wake.set()

    def stop(self, wait: float = 2.0) -> None:
        """Stop, waiting at most ``wait`` seconds for the thread (a daemon: a witness
        that sends nothing at all cannot hold the process)."""
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(wait)
        self._client.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            failures = self.status.failures
            if failures:
                backoff = min(self._max_backoff, self._first_backoff * 2 ** (failures - 1))
                self._stopping.wait(backoff)
            else:
                self._wake.wait(self._interval)
            self._wake.clear()
            if not self._stopping.is_set():
                self._push_latest()

    def _push_latest(self) -> None:
        try:
            latest = self._store.latest_checkpoint()
            if latest is None or latest.size == self.status.cosigned_size:
                return
            self._push(latest)
        except (
            PushRefusedError,
            WitnessTransportError,
            httpx.HTTPError,
            LedgerError,
            MerkleError,
            NoteError,
        ) as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # the thread must outlive a database outage
            _LOG.exception("witness %s: pushing failed", self._key.name)
            self._failed(f"{type(exc).__name__}: {exc}")

    def _push(self, latest: SignedCheckpointRow) -> None:
        old = self._old_size
        for _ in range(2):  # the first answer may be a 409 naming the size to resend from
            answer = self._post(old, latest)
            if answer.status == 200:
                self._keep(latest.size, signature_lines(answer.body))
                return
            if not _is_size_answer(answer):
                raise PushRefusedError(_described(answer, old, latest.size))
            held = parse_size(answer.body)
            self._check_resync(held, latest.size)
            _LOG.info("witness %s holds size %d: resending from it", self._key.name, held)
            old = self._old_size = held
        raise PushRefusedError(f"answered 409 twice, the second time naming size {old}")

    def _post(self, old: int, latest: SignedCheckpointRow) -> Answer:
        proof = self._proof(old, latest.size) if 0 < old < latest.size else []
        body = AddCheckpointRequest(old, tuple(proof), latest.note).to_body()
        return self._exchanges.post(self._url, body)

    def _check_resync(self, held: int, size: int) -> None:
        """Resending from ``held`` makes sense only for a checkpoint this ledger signed."""
        if held > size:
            raise PushRefusedError(
                f"the witness cosigned size {held}, more than this log's {size}: it holds a "
                "checkpoint this ledger did not sign (another log with our origin?) or "
                "this log was rolled back"
            )
        if held != 0 and not self._cosignatures.was_signed(held):
            raise PushRefusedError(
                f"the witness cosigned size {held}, a size this ledger never signed a "
                "checkpoint for: it holds another log's checkpoint under our origin"
            )

    def _keep(self, size: int, lines: list[str]) -> None:
        """Store the lines by this witness's key (each verified over the checkpoint of
        ``size`` as it is stored); a 200 without one is a failure, not a cosignature."""
        ignored = 0
        for line in lines:
            sig = parse_signature_line(line.removesuffix("\n"))
            if (sig.name, sig.key_hash) == (self._key.name, self._key.key_hash):
                self._cosignatures.add(size, line)
            else:
                ignored += 1
        if ignored:
            _LOG.info("witness %s: ignored %d lines of other keys", self._key.name, ignored)
        if ignored == len(lines):
            raise PushRefusedError(
                f"answered 200 without a cosignature by its key {self._key.name} "
                f"(key ID {self._key.key_hash.hex()})"
            )
        recovered = self.status.failures > 0
        self._old_size = size
        self._set_status(replace(self.status, cosigned_size=size, last_error=None, failures=0))
        log = _LOG.warning if recovered else _LOG.info
        log("witness %s cosigned checkpoint %d", self._key.name, size)

    def _set_status(self, status: WitnessStatus) -> None:
        with self._lock:
            self._status = status
        with self._changed:
            self._changed.notify_all()

    def _failed(self, reason: str) -> None:
        # Quoted parts of the witness's answer are escaped already; bound the whole.
        if len(reason) > _MAX_REASON:
            reason = reason[:_MAX_REASON] + "..."
        status = self.status
        self._set_status(replace(status, last_error=reason, failures=status.failures + 1))
        _LOG.warning("witness %s (%s) did not cosign: %s", self._key.name, self._url, reason)


def _is_size_answer(answer: Answer) -> bool:
    return answer.status == 409 and answer.media_type == SIZE_CONTENT_TYPE


_MEANING = {
    400: "the witness found the request malformed",
    403: "the witness trusts no key that signed the checkpoint (give it our vkey)",
    404: "the witness does not witness this log's origin",
    409: "the witness cosigned another checkpoint of this size: a fork",
    422: "the consistency proof does not verify against the checkpoint the witness holds "
    "(it holds another history under our origin)",
}


def _described(answer: Answer, old: int, size: int) -> str:
    meaning = _MEANING.get(answer.status, "unexpected answer")
    said = quoted(answer.body.strip()) + (" (cut)" if answer.truncated else "")
    return f"{answer.status} for old {old} -> size {size}: {meaning}; it said: {said}"
