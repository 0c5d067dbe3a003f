"""Talking HTTP to a witness the ledger must not trust: bounded answers, one deadline.

A witness is a third party; its answers are read as a hostile client's request
would be. The pusher (``ledger.witness_pusher``) posts through :func:`post`, which

- streams the answer and stops at ``MAX_ANSWER_BYTES`` (a cosignature answer is a
  few signature lines; a 409 one number): beyond it the push fails
  (:class:`AnswerTooLargeError`) instead of filling the ledger's memory;
- reads at most ``MAX_ERROR_BYTES`` of any other answer (only logged);
- gives the whole exchange one deadline (:class:`BoundedExchanges`, headers included,
  and checked on every chunk received), so a witness dripping its answer byte by byte
  fails the push (:class:`DeadlineExceededError`) — httpx's own timeouts bound each
  read only;
- stops reading as soon as ``stopping`` is set, so shutdown does not wait on it;
- asks for no content coding and reads raw bytes, so no decompression bomb.

Submission prefixes are checked here too (:func:`submission_prefix`): one with
credentials, a query or a fragment is refused when the ledger starts, so no secret
ever reaches ``/healthz`` or a log line, and ``/add-checkpoint`` joins its path.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

MAX_ANSWER_BYTES = 64 * 1024
"""At most this much of a 200 or 409 answer is read; more fails the push."""
MAX_ERROR_BYTES = 1024
"""At most this much of any other answer is read (for the log)."""
_READ_ANSWERS = (200, 409)


class WitnessTransportError(Exception):
    """The exchange with the witness was cut short; the message says why."""


class AnswerTooLargeError(WitnessTransportError):
    pass


class DeadlineExceededError(WitnessTransportError):
    pass


class StoppedError(WitnessTransportError):
    """The ledger is stopping: the exchange was abandoned."""


class InvalidWitnessURLError(ValueError):
    """A ``--witness VKEY=URL`` whose URL cannot be a submission prefix."""


@dataclass(frozen=True)
class Answer:
    """A witness's answer: status, media type (no parameters) and body (complete for
    200 and 409; at most ``MAX_ERROR_BYTES`` otherwise, ``truncated`` then)."""

    status: int
    media_type: str
    body: bytes
    truncated: bool = False


class BoundedExchanges:
    """One witness's exchanges, each held to ``deadline`` seconds of wall time from the
    first byte sent, headers included.

    httpx bounds connecting and each read, not a whole exchange: a witness that sends
    its status line and then one header a second would hold the pusher for as long as
    it likes. So each exchange runs on its own daemon thread and the pusher waits for
    it at most ``deadline``; one left running past it (it ends when the witness stops
    or the connection dies) is remembered, and no new exchange starts until it has
    ended, so a dripping witness holds at most one thread.
    """

    def __init__(self, client: httpx.Client, deadline: float, stopping: threading.Event) -> None:
        self._client = client
        self._deadline = deadline
        self._stopping = stopping
        self._overdue: threading.Thread | None = None

    def post(self, url: str, content: bytes) -> Answer:
        """POST ``content`` to ``url``; the answer, or the exception the exchange raised,
        or :class:`DeadlineExceededError` when it did not end within the deadline."""
        if self._overdue is not None and self._overdue.is_alive():
            raise DeadlineExceededError(
                "the previous exchange, past its deadline, is still open; not sending another"
            )
        outcome: list[Answer | BaseException] = []

        def exchange() -> None:
            try:
                outcome.append(post(self._client, url, content, self._deadline, self._stopping))
            except BaseException as exc:  # handed to the pusher's thread below
                outcome.append(exc)

        thread = threading.Thread(target=exchange, name="witness-exchange", daemon=True)
        thread.start()
        thread.join(self._deadline)
        if thread.is_alive():
            self._overdue = thread
            raise DeadlineExceededError(f"no complete answer within {self._deadline:g} s")
        (result,) = outcome
        if isinstance(result, BaseException):
            raise result
        return result


def post(
    client: httpx.Client, url: str, content: bytes, deadline: float, stopping: threading.Event
) -> Answer:
    """POST ``content`` to ``url`` and read the answer's body within ``deadline`` seconds
    (checked per chunk; :class:`BoundedExchanges` bounds the whole exchange)."""
    ends = time.monotonic() + deadline
    headers = {"Accept-Encoding": "identity"}
    with client.stream("POST", url, content=content, headers=headers) as response:
        complete = response.status_code in _READ_ANSWERS
        limit = MAX_ANSWER_BYTES if complete else MAX_ERROR_BYTES
        body = bytearray()
        for chunk in response.iter_raw():
            if stopping.is_set():
                raise StoppedError("the ledger is stopping")
            if time.monotonic() > ends:
                read = len(body) + len(chunk)
                raise DeadlineExceededError(
                    f"no complete answer within {deadline:g} s ({read} bytes read)"
                )
            body += chunk
            if len(body) > limit:
                if complete:
                    raise AnswerTooLargeError(
                        f"{response.status_code} answer longer than {MAX_ANSWER_BYTES} bytes"
                    )
                return Answer(
                    response.status_code, _media_type(response), bytes(body[:limit]), True
                )
        return Answer(response.status_code, _media_type(response), bytes(body))


def _media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip()


def submission_prefix(url: str) -> str:
    """``url`` as a submission prefix (``scheme://host[:port]/path``, no trailing slash,
    so ``/add-checkpoint`` appends to its path); raises :class:`InvalidWitnessURLError`
    for anything else."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InvalidWitnessURLError(f"witness URL is malformed: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWitnessURLError("a witness URL is http(s)://host[:port]/path")
    if "@" in parts.netloc:
        raise InvalidWitnessURLError(
            "a witness URL may not carry credentials (user:password@): it is shown on "
            "/healthz and in logs"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise InvalidWitnessURLError(
            "a witness URL is a submission prefix: no query (?...) or fragment (#...)"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
