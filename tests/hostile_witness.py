"""A hostile tlog-witness on loopback, for testing what the ledger's pusher survives.

It speaks raw HTTP/1.1 (``http.server``), so it can do what a well-behaved server
framework would not: stream a huge answer, drip one byte at a time, answer 200
with someone else's cosignature, put newlines and terminal escapes in an error.
Each request is answered by the ``behaviour`` the test set; every request is
recorded, and ``dripping`` is set once a drip has started.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.keys import new_private_key
from ledger.note import CosignatureSigner, note_text
from ledger.note.tlog_witness import AddCheckpointRequest

Behaviour = Callable[["Handler", AddCheckpointRequest], None]


@dataclass
class HostileWitness:
    """``own``: the key the ledger is configured with; ``other``: another witness's."""

    url: str = ""
    own: CosignatureSigner = field(
        default_factory=lambda: CosignatureSigner("hostile.example/w", new_private_key())
    )
    other: CosignatureSigner = field(
        default_factory=lambda: CosignatureSigner("other.example/w", new_private_key())
    )
    behaviour: Behaviour | None = None
    requests: list[AddCheckpointRequest] = field(default_factory=list)
    bytes_sent: int = 0
    aborted: threading.Event = field(default_factory=threading.Event)
    dripping: threading.Event = field(default_factory=threading.Event)
    closing: threading.Event = field(default_factory=threading.Event)

    def cosign(self, signer: CosignatureSigner, request: AddCheckpointRequest) -> str:
        return signer.cosign(note_text(request.note), 1_700_000_000)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def witness(self) -> HostileWitness:
        return self.server.witness

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = AddCheckpointRequest.parse(body)
        self.witness.requests.append(request)
        assert self.witness.behaviour is not None
        try:
            self.witness.behaviour(self, request)
        except OSError:  # the ledger hung up, as it should
            self.witness.aborted.set()
            self.close_connection = True

    def answer(self, status: int, body: str | bytes, media_type: str = "text/plain") -> None:
        raw = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def stream(self, chunk: bytes, times: int) -> None:
        """200, chunked, ``chunk`` ``times`` times."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(times):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.witness.bytes_sent += len(chunk)
        self.wfile.write(b"0\r\n\r\n")

    def drip(self, every: float) -> None:
        """200 announcing 100000 bytes, then one byte every ``every`` seconds."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.flush()
        self.witness.dripping.set()
        for _ in range(100_000):
            if self.witness.closing.wait(every):
                return
            self.wfile.write(b"A")
            self.wfile.flush()
            self.witness.bytes_sent += 1

    def drip_headers(self, every: float) -> None:
        """A status line, then one header every ``every`` seconds, never ending the
        headers: each byte resets a per-read timeout."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        self.wfile.flush()
        self.witness.dripping.set()
        while not self.witness.closing.wait(every):
            self.wfile.write(b"X-Drip: a\r\n")
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    witness: HostileWitness


@contextmanager
def hostile_witness(behaviour: Behaviour | None = None) -> Iterator[HostileWitness]:
    """A :class:`HostileWitness` served on a loopback port; its submission prefix is ``url``."""
    server = _Server(("127.0.0.1", 0), Handler)
    witness = HostileWitness(behaviour=behaviour)
    server.witness = witness
    witness.url = f"http://127.0.0.1:{server.server_address[1]}/hostile"
    thread = threading.Thread(target=server.serve_forever, name="hostile-witness", daemon=True)
    thread.start()
    try:
        yield witness
    finally:
        witness.closing.set()
        server.shutdown()
        server.server_close()
