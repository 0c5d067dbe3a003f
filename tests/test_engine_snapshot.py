"""The engine snapshot (``gateway.engine_snapshot``): a gateway started after another
answers from the snapshot that one saved, takes in what was appended since, and answers
exactly as a gateway built from the log; a snapshot that is not provably this gateway's,
of this log, is never loaded (a forged one is not even unpickled)."""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.auth import KEY_FILE, gateway_key
from gateway.engine_snapshot import (
    _TAG_BYTES,
    SNAPSHOT_FILE,
    EngineSnapshots,
    EngineState,
    snapshot_sources,
)
from ledger.server import LedgerServer
from ledger.store.database import sqlite_url
from tests.ledger_fixtures import SUPPLIER
from tests.test_gateway_support import SUPPLIER_B, Env, environment, footprint_entry, gateway

CATHODE = "urn:pact:product:cathode-b:lfp-cathode"


def _cell(env: Env, product: str, cites: str) -> str:
    entry = footprint_entry(SUPPLIER, product, unit="kilogram")
    entry["composition"] = {
        "ownEmissions": [{"stage": "main-production", "scope": "2", "kgCO2e": "5"}],
        "inputs": [{"footprintId": cites, "amount": "2", "unit": "kilogram"}],
    }
    env.submit(SUPPLIER, entry)
    return str(entry["footprint"]["id"])


def _supply_chain(env: Env, cells: int) -> list[str]:
    """A cathode and ``cells`` cells citing it (the owner of the cells reads them)."""
    cathode = footprint_entry(SUPPLIER_B, CATHODE, unit="kilogram")
    cathode["composition"]["ownEmissions"] = [
        {"stage": "raw-material-acquisition", "scope": "3", "kgCO2e": "10"}
    ]
    env.submit(SUPPLIER_B, cathode)
    cathode_id = cathode["footprint"]["id"]
    env.grant(SUPPLIER_B, SUPPLIER, "detail", footprintId=cathode_id)
    return [_cell(env, f"urn:pact:product:recycler-a:cell-{i}", cathode_id) for i in range(cells)]


@contextmanager
def _saved(tmp_path: Path, db_url: str) -> Iterator[tuple[Env, str, Path]]:
    """A ledger and gateway with one cell computed, so its engine snapshot is saved: the
    environment, the cell and the snapshot's path."""
    with environment(tmp_path, db_url) as env:
        (cell,) = _supply_chain(env, 1)
        assert _computed(env, env.url, cell).status_code == 200
        yield env, cell, tmp_path / SNAPSHOT_FILE


def _computed(env: Env, url: str, footprint_id: str) -> httpx.Response:
    return httpx.get(
        f"{url}/v1/footprints/{footprint_id}/computed",
        headers={"Authorization": f"Bearer {env.token(SUPPLIER)}"},
        timeout=30,
    )


def _header(path: Path) -> dict[str, Any]:
    lines = path.read_bytes().split(b"\n", 2)
    return dict(json.loads(lines[1]))


def _restored_from(http: Any) -> int | None:
    restored: int | None = http.app.state.services.computed.restored_from
    return restored


def _from_the_log(env: Env, tmp_path: Path, footprint_id: str) -> Any:
    """What a gateway with no snapshot answers (its own is set aside and put back)."""
    snapshot = tmp_path / SNAPSHOT_FILE
    aside = tmp_path / "aside.snapshot"
    shutil.move(snapshot, aside)
    try:
        with gateway(tmp_path, "", server=env.server) as (_, http):
            answer = _computed(env, http.url, footprint_id)
            assert _restored_from(http) is None
    finally:
        shutil.move(aside, snapshot)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_new_gateway_starts_from_the_snapshot_and_takes_in_what_came_after(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env:
        first, second = _supply_chain(env, 2)
        answer = _computed(env, env.url, first)
        assert answer.status_code == 200, answer.text
        snapshot = tmp_path / SNAPSHOT_FILE
        saved = _header(snapshot)["size"]
        assert saved == env.server.store.tree_size()
        assert os.stat(snapshot).st_mode & 0o077 == 0
        # having saved, the gateway holds its declarations as the bytes it wrote; its
        # engine then read what the answer needed (the cell and its cathode)
        built = env.http.app.state.services.computed
        assert len(built._active.declarations.packed()) == 3
        assert built._snapshot.engine._registry.footprints.packed() == [second]
        later = _cell(env, "urn:pact:product:recycler-a:cell-later", first)
        with gateway(tmp_path, db_url, server=env.server) as (_, http):
            restarted = _computed(env, http.url, later)
            assert _restored_from(http) == saved
            # what no answer or update read yet is still packed (``graph.declarations``):
            # the engine read ``later``'s chain, the active set only what ``later`` cites
            computed = http.app.state.services.computed
            assert computed._snapshot.engine._registry.footprints.packed() == [second]
            assert second in computed._active.declarations.packed()
            assert first not in computed._active.declarations.packed()
            again = _computed(env, http.url, second)
        assert restarted.status_code == 200, restarted.text
        assert restarted.json() == _from_the_log(env, tmp_path, later)
        assert again.json() == _from_the_log(env, tmp_path, second)
        # the gateway that stopped saved what it had taken in since
        assert _header(snapshot)["size"] == env.server.store.tree_size()


def test_a_snapshot_forged_without_the_gateway_key_is_not_unpickled(
    tmp_path: Path, db_url: str
) -> None:
    with _saved(tmp_path, db_url) as (env, cell, snapshot):
        magic, header, _ = snapshot.read_bytes().split(b"\n", 2)
        marker = tmp_path / "unpickled"
        body = pickle.dumps(_Plant(str(marker)))
        fields = {**json.loads(header), "bytes": len(body)}
        forged = EngineSnapshots(snapshot, os.urandom(32))._tag(json.dumps(fields).encode(), body)
        snapshot.write_bytes(magic + b"\n" + json.dumps(fields).encode() + b"\n" + forged + body)
        with gateway(tmp_path, db_url, server=env.server) as (_, http):
            answer = _computed(env, http.url, cell)
            assert _restored_from(http) is None
        assert not marker.exists()
        assert answer.status_code == 200, answer.text
        assert answer.json() == _from_the_log(env, tmp_path, cell)


def test_a_snapshot_altered_on_disk_is_not_used(tmp_path: Path, db_url: str) -> None:
    with _saved(tmp_path, db_url) as (env, cell, snapshot):
        data = bytearray(snapshot.read_bytes())
        data[-10] ^= 0x01
        snapshot.write_bytes(bytes(data))
        with gateway(tmp_path, db_url, server=env.server) as (_, http):
            answer = _computed(env, http.url, cell)
            assert _restored_from(http) is None
        assert answer.json() == _from_the_log(env, tmp_path, cell)


def test_a_snapshot_of_another_ledger_is_not_used(tmp_path: Path, db_url: str) -> None:
    """Two data directories sharing one gateway key (a cloned directory): the snapshot
    of one ledger, tagged with the right key, is refused by the other, whose log has
    another root at that size, and the other answers from its own log."""
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    with environment(theirs, sqlite_url(theirs)) as env:
        (their_cell,) = _supply_chain(env, 1)
        assert _computed(env, env.url, their_cell).status_code == 200
    ours.mkdir()
    shutil.copy(theirs / KEY_FILE, ours / KEY_FILE)
    with environment(ours, db_url) as env:
        cells = _supply_chain(env, 4)  # a longer log: the foreign snapshot's size is in it
        shutil.copy(theirs / SNAPSHOT_FILE, ours / SNAPSHOT_FILE)
        with gateway(ours, db_url, server=env.server) as (_, http):
            mine = _computed(env, http.url, cells[0])
            foreign = _computed(env, http.url, their_cell)
            assert _restored_from(http) is None
        assert mine.status_code == 200, mine.text
        assert mine.json() == _from_the_log(env, ours, cells[0])
        assert foreign.status_code == 404, foreign.text
        assert not env.server.verified.monitor.failing


def test_a_snapshot_beyond_the_log_is_not_used_and_raises_no_alarm(
    tmp_path: Path, db_url: str
) -> None:
    """A database restored from a backup older than the snapshot: the log is shorter."""
    with _saved(tmp_path, db_url) as (env, cell, snapshot):
        state = _saved_state(env.server, snapshot)
        beyond = EngineState(state.size + 5, state.root, state.active, state.factors, state.engine)
        EngineSnapshots(snapshot, gateway_key(tmp_path)).save(beyond)
        with gateway(tmp_path, db_url, server=env.server) as (_, http):
            answer = _computed(env, http.url, cell)
            assert _restored_from(http) is None
            health = httpx.get(f"{http.url}/healthz")
        assert answer.json() == _from_the_log(env, tmp_path, cell)
        assert health.status_code == 200, health.text


def test_a_snapshot_of_other_code_is_not_loaded(tmp_path: Path, db_url: str) -> None:
    with _saved(tmp_path, db_url) as (env, _, snapshot):
        size = env.server.store.tree_size()
        upgraded = EngineSnapshots(snapshot, gateway_key(tmp_path), code="a later release")
        assert upgraded.load(size, env.server.verified.root) is None
        assert _saved_state(env.server, snapshot).size == size


def test_the_code_digest_covers_every_module_a_snapshot_names(tmp_path: Path, db_url: str) -> None:
    """A snapshot pickles classes of several modules; a change to any of them must make
    the snapshot another code's, or an old snapshot would load into the new classes."""
    with _saved(tmp_path, db_url) as (_, _, snapshot):
        _, _, rest = snapshot.read_bytes().split(b"\n", 2)
        named: set[str] = set()

        class Recording(pickle.Unpickler):
            def find_class(self, module: str, name: str) -> Any:
                named.add(module)
                return super().find_class(module, name)

        Recording(io.BytesIO(rest[_TAG_BYTES:])).load()  # this test's own snapshot
    root = Path(__file__).resolve().parent.parent
    covered = {
        ".".join(source.resolve().relative_to(root).with_suffix("").parts)
        for source in snapshot_sources()
    }
    ours = {m for m in named if m.split(".")[0] in ("graph", "gateway", "ledger", "clients")}
    assert {"graph.engine", "ledger.rules.view", "gateway.factor_details"} <= ours
    assert ours <= covered, ours - covered


class _Plant:
    """Unpickling this creates a file: what a forged snapshot would run."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (Path.write_text, (Path(self.path), "ran"))  # type: ignore[return-value]


def _saved_state(server: LedgerServer, snapshot: Path) -> EngineState:
    loaded = EngineSnapshots(snapshot, gateway_key(server.data_dir.path)).load(
        server.store.tree_size(), server.verified.root
    )
    assert loaded is not None
    return loaded


def test_a_save_cut_short_leaves_nothing_behind_at_the_next_start(
    tmp_path: Path, db_url: str
) -> None:
    """A process killed while writing leaves a half-written temporary file; the next
    start removes it (its writer is gone) and keeps a running writer's."""
    with environment(tmp_path, db_url) as env:
        (cell,) = _supply_chain(env, 1)
        dead_pid = _exited_pid()
        snapshots = EngineSnapshots(tmp_path / SNAPSHOT_FILE, gateway_key(tmp_path))
        stale = tmp_path / f"{snapshots._temporary_prefix(dead_pid)}abc"
        live = tmp_path / f"{snapshots._temporary_prefix(os.getpid())}def"
        stale.write_bytes(b"half")
        live.write_bytes(b"being written")
        with gateway(tmp_path, db_url, server=env.server) as (_, http):
            assert _computed(env, http.url, cell).status_code == 200
        assert not stale.exists()
        assert live.exists()


def _exited_pid() -> int:
    """The pid of a child that has exited and been reaped (no process has it now)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("plant", ["fifo", "link", "directory", "longer", "claims more"])
def test_what_is_not_a_snapshot_of_its_stated_length_is_not_read(
    tmp_path: Path, db_url: str, plant: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Red team, 2026-12-07: a FIFO at the snapshot's path blocked the open forever (every
    computed request hung, health green, shutdown hung); a link to ``/dev/zero`` was read
    until the host ran out of memory; a directory was a 500 on every computed request; a
    file extended (sparsely) to gigabytes was hashed to its end before it was refused.
    None of them is read now: the answer is built from the log."""
    with _saved(tmp_path, db_url) as (env, cell, snapshot):
        first = _computed(env, env.url, cell)  # the running gateway's, from its engine
        reason = {
            "fifo": "not a regular file",
            "link": "it is a symbolic link",
            "directory": "Is a directory",
            "longer": "its length is not the one its header states",
            "claims more": "bytes, not 1 to",
        }[plant]
        if plant in ("fifo", "link", "directory"):
            snapshot.unlink()
        if plant == "fifo":
            os.mkfifo(snapshot)
        elif plant == "link":
            snapshot.symlink_to("/dev/zero")
        elif plant == "directory":
            snapshot.mkdir()
        elif plant == "longer":
            os.truncate(snapshot, snapshot.stat().st_size + (1 << 30))  # sparse: no disk
        else:
            magic, header, rest = snapshot.read_bytes().split(b"\n", 2)
            fields = {**json.loads(header), "bytes": 1 << 40}
            snapshot.write_bytes(magic + b"\n" + json.dumps(fields).encode() + b"\n" + rest)
        with (
            caplog.at_level(logging.WARNING, logger="gateway.engine_snapshot"),
            gateway(tmp_path, db_url, server=env.server) as (_, http),
        ):
            answer = _computed(env, http.url, cell)
            assert _restored_from(http) is None
        assert answer.status_code == 200, answer.text
        assert reason in caplog.text
        assert answer.json() == first.json()


def test_a_batch_of_entries_is_taken_in_as_one_change_and_answers_as_the_log(
    tmp_path: Path, db_url: str
) -> None:
    """Entries appended between two requests reach the engine as their net change
    (``FootprintChange.merged``): a footprint superseded twice, one deprecated, one added
    and one added and deprecated again within the batch."""
    with environment(tmp_path, db_url) as env:
        cells = _supply_chain(env, 3)
        assert _computed(env, env.url, cells[0]).status_code == 200
        previous = cells[0]
        for version in (2, 3):
            entry = footprint_entry(SUPPLIER, f"{CATHODE}-cell-0-v{version}", unit="kilogram")
            entry["footprint"]["precedingPfIds"] = [previous]
            env.submit(SUPPLIER, entry)
            previous = str(entry["footprint"]["id"])
        env.deprecate(SUPPLIER, cells[1])
        fleeting = _cell(env, "urn:pact:product:recycler-a:cell-fleeting", cells[2])
        env.deprecate(SUPPLIER, fleeting)
        added = _cell(env, "urn:pact:product:recycler-a:cell-added", cells[2])
        answers = {fid: _computed(env, env.url, fid) for fid in (previous, cells[2], added)}
        for fid in (cells[0], cells[1], fleeting):
            assert _computed(env, env.url, fid).status_code == 404
        for fid, answer in answers.items():
            assert answer.status_code == 200, answer.text
            assert answer.json() == _from_the_log(env, tmp_path, fid)
