"""A saved copy of the computed-footprints engine, so that a restarted gateway answers its
first computed request without replaying the whole log.

Replaying means reading, proving and parsing every engine-relevant entry, then building
the engine: 21 s for a log of 10⁵ entries on the 2-core bench machine. Loading a snapshot
of that engine takes 1.5 s; the entries appended since it was saved are then taken in as
for any request.

The file is a pickle, so nothing in it is unpickled before it is proven to be this
gateway's own, of this log, for this code:

1. a magic line, then a JSON header line: the format, a digest of the code whose objects
   the body holds (an upgrade makes old snapshots unusable, never misread), the tree size
   and the root hash at that size, and the body's length;
2. an HMAC-SHA256 tag over header and body, under a key derived from ``gateway.key``. That
   key lives in the data directory, not the database: a database insider cannot forge a
   snapshot. The tag is compared in constant time;
3. the body.

The active set and the engine keep their declarations packed, one pickle each inside the
body (``graph.declarations``), until something reads them: they are unpickled later, but
from the same verified buffer, never from the file again.

Then the header's root must be the root that the signed checkpoint vouches for at that
size (the caller's ``root_at``): a snapshot of a log since rewritten, or restored from an
older backup, is not used. Anything that fails is logged and the engine is built from the
log as before, so a snapshot can save time but never change an answer.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import hmac
import io
import json
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import gateway.factor_details
import graph
import ledger.rules.view
import ledger.slots_pickle
from gateway.auth import subkey
from gateway.factor_details import FactorDetails
from graph.declarations import packing
from graph.engine import FootprintEngine
from graph.ledger_adapter import ActiveFootprints

_log = logging.getLogger(__name__)

#: the snapshot's file name in the data directory
SNAPSHOT_FILE = "engine.snapshot"
_MAGIC = b"carbonledger engine snapshot\n"
_FORMAT = 1
_TAG_BYTES = 32
_MAX_HEADER = 4096
#: A snapshot holds at most this many bytes per log entry (about 650 are seen: 66 MB for
#: a log of 102,023 entries); a file claiming more is not read.
MAX_BYTES_PER_ENTRY = 16 * 1024


@dataclass(frozen=True, slots=True)
class EngineState:
    """The computed-footprints state over the log's first ``size`` entries, whose tree has
    the root ``root``."""

    size: int
    root: bytes
    active: ActiveFootprints
    factors: FactorDetails
    engine: FootprintEngine


class SnapshotRejected(Exception):
    """A snapshot that is not used; the message says why."""


def snapshot_sources() -> list[Path]:
    """The source files of the modules whose classes a snapshot pickles: the ``graph``
    package, the factor index, and the grants and pickling helper the engine's sharing
    rules use (``tests/test_engine_snapshot.py`` checks a snapshot names no other module
    of this code base)."""
    sources = sorted(Path(graph.__file__).parent.glob("*.py"))
    for module in (gateway.factor_details, ledger.rules.view, ledger.slots_pickle):
        sources.append(Path(str(module.__file__)))
    return sources


@cache
def code_digest() -> str:
    """SHA-256 over :func:`snapshot_sources`: pickles name classes and attributes, so a
    snapshot written by other code is never loaded."""
    digest = hashlib.sha256(f"python {sys.version_info[:3]}".encode())
    for source in snapshot_sources():
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


class EngineSnapshots:
    """Saves and loads the engine snapshot at ``path``, tagged under ``gateway_key``."""

    def __init__(self, path: Path, gateway_key: bytes, *, code: str | None = None) -> None:
        self.path = path
        self._key = subkey(gateway_key, "carbonledger engine snapshot")
        self._code = code_digest() if code is None else code

    def _tag(self, header: bytes, body: bytes | memoryview) -> bytes:
        mac = hmac.new(self._key, header, hashlib.sha256)
        mac.update(body)
        return mac.digest()

    def save(self, state: EngineState) -> None:
        """Write the snapshot atomically (a new file renamed over the old one), mode 0600.
        A failure to write is logged, not raised: the snapshot only saves time."""
        with packing() as declarations:  # the active set and the engine share them
            body = pickle.dumps(
                (state.active, state.factors, state.engine), protocol=pickle.HIGHEST_PROTOCOL
            )
        declarations.compact()  # both now hold the bytes just written, not the objects
        header = json.dumps(
            {
                "format": _FORMAT,
                "code": self._code,
                "size": state.size,
                "root": state.root.hex(),
                "bytes": len(body),
            }
        ).encode()
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self._temporary_prefix())
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(_MAGIC + header + b"\n" + self._tag(header, body))
                    out.write(body)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
                _sync_directory(self.path.parent)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            _log.warning("engine snapshot not saved to %s: %s", self.path, exc)
            return
        _log.info("engine snapshot saved at tree size %d (%d bytes)", state.size, len(body))

    def _temporary_prefix(self, pid: int | None = None) -> str:
        return f".{self.path.name}.{os.getpid() if pid is None else pid}."

    def remove_stale_temporaries(self) -> None:
        """Remove the half-written files of saves that a process did not finish (killed
        while writing): those whose writer is no longer running."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*"):
            pid = leftover.name.removeprefix(f".{self.path.name}.").split(".")[0]
            if pid.isdigit() and not _running(int(pid)):
                leftover.unlink(missing_ok=True)

    def load(self, log_size: int, root_at: Callable[[int], bytes]) -> EngineState | None:
        """The saved state, if there is one and it proves to be this gateway's, for this
        code, of a prefix of the log of ``log_size`` entries whose root ``root_at`` returns
        (checked against the signed checkpoint); None otherwise (logged).

        What is unpickled is exactly what was verified: the file is read once into this
        process's memory, and only a regular file (never blocking on a FIFO, no symbolic
        link) whose length is the one its header states, within ``MAX_BYTES_PER_ENTRY``
        of the log's size (red team, 2026-12-07: a FIFO hung every computed request, a
        link to ``/dev/zero`` filled the memory, and a mapped file rewritten in place
        after the check ran a pickle of the writer's choosing)."""
        self.remove_stale_temporaries()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            reason = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
            _log.warning("engine snapshot %s not read: %s", self.path, reason)
            return None
        try:
            with open(fd, "rb", buffering=0, closefd=True) as file:
                header, body = self._read(file, log_size)
            return self._state(header, body, log_size, root_at)
        except SnapshotRejected as exc:
            _log.warning("engine snapshot %s not used: %s", self.path, exc)
        except OSError as exc:  # a directory, a read error, …
            _log.warning("engine snapshot %s not read: %s", self.path, exc.strerror or exc)
        return None

    def _read(self, file: io.FileIO, log_size: int) -> tuple[bytes, bytearray]:
        """The header and the body of a regular file whose length its header states."""
        found = os.fstat(file.fileno())
        if not stat.S_ISREG(found.st_mode):
            raise SnapshotRejected("it is not a regular file")
        start = file.read(len(_MAGIC) + _MAX_HEADER)
        if not start.startswith(_MAGIC):
            raise SnapshotRejected("not an engine snapshot")
        end = start.find(b"\n", len(_MAGIC))
        if end < 0:
            raise SnapshotRejected("its header is malformed")
        header = start[len(_MAGIC) : end]
        try:  # not yet verified: read only for the length, bounded below
            stated = json.loads(header)["bytes"]
        except (ValueError, KeyError, TypeError):
            raise SnapshotRejected("its header is malformed") from None
        offset = end + 1
        limit = MAX_BYTES_PER_ENTRY * max(log_size, 1)
        if not isinstance(stated, int) or not 0 < stated <= limit:
            raise SnapshotRejected(f"its header states {stated!r} bytes, not 1 to {limit}")
        if found.st_size != offset + _TAG_BYTES + stated:
            raise SnapshotRejected("its length is not the one its header states")
        body = bytearray(_TAG_BYTES + stated)
        file.seek(offset)
        with memoryview(body) as view:
            filled = 0
            while filled < len(body):
                got = file.readinto(view[filled:])
                if not got:
                    raise SnapshotRejected("it was cut short while it was read")
                filled += got
        return header, body

    def _state(
        self, header: bytes, data: bytearray, log_size: int, root_at: Callable[[int], bytes]
    ) -> EngineState:
        tag = bytes(data[:_TAG_BYTES])
        body = memoryview(data)[_TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(header, body)):
            raise SnapshotRejected("its tag does not verify under this gateway's key")
        fields = json.loads(header)
        if fields["format"] != _FORMAT or fields["code"] != self._code:
            raise SnapshotRejected("it was written by another version of the code")
        size, root = int(fields["size"]), bytes.fromhex(fields["root"])
        if size > log_size:
            raise SnapshotRejected(
                f"it is of tree size {size}, beyond the log's {log_size} "
                "(a database restored from an older backup?)"
            )
        if not hmac.compare_digest(root_at(size), root):
            raise SnapshotRejected(f"its root at tree size {size} is not the log's")
        try:
            # only bytes this gateway wrote get here: their tag verified under its key, in
            # this process's own memory, which nothing else writes
            with _frozen_when_loaded():
                active, factors, engine = pickle.loads(body)  # noqa: S301
        except Exception as exc:  # our own bytes under our own tag: not expected
            raise SnapshotRejected(f"it does not load ({exc!r})") from None
        return EngineState(size, root, active, factors, engine)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a crash after it keeps the new file)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def _frozen_when_loaded() -> Iterator[None]:
    """Load with the cyclic garbage collector paused, then move everything loaded to the
    collector's permanent generation (``gc.freeze``), where no collection walks it again.

    A snapshot is millions of objects, none in a reference cycle (they are freed by
    reference counting when the engine is replaced). Left to the collector, the first
    collection after the load walks them all: 0.9 of the 2.5 s a 10⁵-entry load took.
    The process is collected first, while it is small, so no cyclic garbage is frozen."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
