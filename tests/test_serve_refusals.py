"""Issue 14, finding 7: ``serve`` that cannot start says why in one line and leaves
nothing behind.

Real ``carbonledger serve`` processes: TLS files that are not a certificate and
key, a store URL no SQLAlchemy dialect understands, the same port for gRPC and
HTTP, an unreachable PostgreSQL, and ports out of range. Each must end the
process (not keep a bound port with a dead HTTPS thread) with the documented
exit code (docs/api.md, "CLI exit codes"), and a data directory the failed
start created must be gone again; one that existed keeps its contents.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, create_engine, text

from clients.fsck_cli import fsck_command
from ledger.datadir import DEFAULT_OPERATOR_ORG as OPERATOR
from ledger.merkle import root_nodes
from tests.cli_process import (
    closed_port,
    read_banner,
    run_cli,
    serving,
    start_cli,
    wait_until_group_gone,
)
from tests.test_gateway_support import self_signed

REFUSED, USAGE, UNREACHABLE, ADDRESS_UNAVAILABLE = 1, 2, 3, 5


def _fails_to_start(data_dir: Path, *args: str, code: int) -> str:
    """``serve --data-dir DATA_DIR ARGS`` ends without serving, with ``code``; its
    error line. ``--grpc``/``--http`` default to free ports unless given."""
    ports = [] if "--grpc" in args else ["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"]
    proc = start_cli("serve", "--data-dir", str(data_dir), *ports, *args)
    try:
        banner = read_banner(proc)
        assert "ledger-key" not in banner, f"serve started anyway: {banner}"
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr, stderr
    assert wait_until_group_gone(proc.pid) == []
    return stderr


def _one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("wrong", ["cert", "key", "mismatch"])
def test_tls_files_that_cannot_serve_https_are_named(tmp_path: Path, wrong: str) -> None:
    cert, _ = self_signed(tmp_path)
    garbage = tmp_path / "rand.key"
    garbage.write_bytes(os.urandom(300))
    (tmp_path / "other").mkdir()
    _, other_key = self_signed(tmp_path / "other")
    files = {"cert": (garbage, garbage), "key": (cert, garbage), "mismatch": (cert, other_key)}
    tls_cert, tls_key = files[wrong]
    data = tmp_path / "data"
    stderr = _fails_to_start(
        data, "--tls-cert", str(tls_cert), "--tls-key", str(tls_key), code=USAGE
    )
    line = _one_line(stderr)
    named = tls_cert if wrong == "cert" else tls_key
    assert line.startswith(f"error: {named}: "), line
    assert not data.exists()


def test_a_store_url_without_a_dialect_is_a_usage_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    stderr = _fails_to_start(data, "--db", "garbage://user:s3cret@x/db", code=USAGE)
    assert "Invalid value for '--db'" in stderr and "s3cret" not in stderr
    assert not data.exists()


def test_the_same_port_for_grpc_and_http_leaves_nothing(tmp_path: Path) -> None:
    address = f"127.0.0.1:{closed_port()}"
    data = tmp_path / "new" / "data"
    line = _one_line(
        _fails_to_start(data, "--grpc", address, "--http", address, code=ADDRESS_UNAVAILABLE)
    )
    assert address in line and "--grpc" in line and "--http" in line
    assert not (tmp_path / "new").exists()


def test_an_unreachable_database_leaves_no_new_data_directory(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test"
    data = tmp_path / "data"
    _one_line(_fails_to_start(data, "--db", url, code=UNREACHABLE))
    assert not data.exists()
    # A data directory that was there keeps what it held.
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("kept")
    _one_line(_fails_to_start(existing, "--db", url, code=UNREACHABLE))
    assert (existing / "notes.txt").read_text() == "kept"


@pytest.mark.parametrize("option", ["--grpc", "--http"])
@pytest.mark.parametrize("port", ["99999", "65536", "-1", "", "8o80"])
def test_a_listen_port_out_of_range_is_a_usage_error(
    tmp_path: Path, option: str, port: str
) -> None:
    addresses = {"--grpc": "127.0.0.1:0", "--http": "127.0.0.1:0"}
    addresses[option] = f"127.0.0.1:{port}"
    data = tmp_path / "data"
    stderr = _fails_to_start(
        data, *(part for pair in addresses.items() for part in pair), code=USAGE
    )
    assert f"Invalid value for '{option}'" in stderr
    assert not data.exists()


def test_a_second_ledger_key_on_one_database_is_refused(tmp_path: Path, db_url: str) -> None:
    """Issue 16, item 5: a process with another ``ledger.key`` (or another ``--origin``)
    must not sign checkpoints for a database the first key has signed, where verifiers
    pinned to the first key would reject everything it serves."""
    first, second = tmp_path / "first", tmp_path / "second"
    with serving(first, "--db", db_url) as banner:
        original_vkey = banner["ledger-key"]
    second.mkdir()
    shutil.copy(first / "gateway.key", second / "gateway.key")  # only the ledger key differs
    line = _one_line(_fails_to_start(second, "--db", db_url, code=USAGE))
    assert "does not verify with this ledger's key" in line
    assert str(second / "ledger.key") in line
    line = _one_line(
        _fails_to_start(first, "--db", db_url, "--origin", "other.example/log", code=USAGE)
    )
    assert "origin 'other.example/log'" in line
    # The right key still serves the database, and nothing was signed by the refused ones.
    with serving(first, "--db", db_url) as banner:
        assert banner["ledger-key"] == original_vkey


def test_gateway_processes_on_one_database_share_one_token_key(tmp_path: Path, db_url: str) -> None:
    """Issue 16, item 5: a second process with its own ``gateway.key`` would refuse every
    token the first issued (and its own tokens would fail everywhere else), so it refuses
    to start, naming the file to copy; with the key copied, tokens work across both."""
    first, second = tmp_path / "first", tmp_path / "second"
    with serving(first, "--db", db_url) as banner_a:
        second.mkdir()
        shutil.copy(first / "ledger.key", second / "ledger.key")
        line = _one_line(_fails_to_start(second, "--db", db_url, code=USAGE))
        assert f"{second / 'gateway.key'} is not the gateway key" in line
        shutil.copy(first / "gateway.key", second / "gateway.key")
        added = run_cli(
            "clients", "add", "--org", OPERATOR, "--data-dir", str(first), "--db", db_url
        )
        assert added.returncode == 0, added.stderr
        client = json.loads(added.stdout)
        with serving(second, "--db", db_url) as banner_b:
            token = httpx.post(
                f"{banner_a['http']}/auth/token",
                data={"grant_type": "client_credentials"},
                auth=(client["clientId"], client["clientSecret"]),
            ).json()["access_token"]
            for banner in (banner_a, banner_b):
                answer = httpx.get(
                    f"{banner['http']}/3/footprints",
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert answer.status_code == 200, answer.text


def _served_then(tmp_path: Path, db_url: str, tamper: Callable[[Connection], int]) -> int:
    """Start and stop ``serve`` on ``tmp_path/data``, then change its store with
    ``tamper`` (one transaction, as an insider would); what ``tamper`` returned."""
    with serving(tmp_path / "data", "--db", db_url):
        pass
    eng = create_engine(db_url)
    try:
        with eng.begin() as conn:
            return tamper(conn)
    finally:
        eng.dispose()


def _integrity_refusal(tmp_path: Path, db_url: str) -> str:
    """The error line of ``serve`` refusing the store (after its alarm line)."""
    stderr = _fails_to_start(tmp_path / "data", "--db", db_url, code=REFUSED)
    alarm, line = stderr.splitlines()
    assert "INTEGRITY ALARM" in alarm
    assert "carbonledger fsck" in line
    return line


def _log_size(db_url: str) -> int:
    eng = create_engine(db_url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM record")).scalar_one())
    finally:
        eng.dispose()


def test_a_log_shorter_than_its_signed_checkpoint_is_refused(tmp_path: Path, db_url: str) -> None:
    """An insider who deletes the newest record leaves a log its own checkpoint
    contradicts: ``serve`` refuses to sign anything over it and says why in one line
    (it used to end with a traceback)."""

    def delete_the_newest(conn: Connection) -> int:
        signed = int(conn.execute(text("SELECT max(size) FROM checkpoint")).scalar_one())
        conn.execute(text("DELETE FROM record WHERE seq = :s"), {"s": signed - 1})
        return signed

    signed = _served_then(tmp_path, db_url, delete_the_newest)
    line = _integrity_refusal(tmp_path, db_url)
    assert line.startswith(
        f"error: the log has {signed - 1} records but checkpoint {signed} was signed: "
    ), line


def test_a_tree_without_its_signed_root_is_refused_before_appending(
    tmp_path: Path, db_url: str
) -> None:
    """Red team, 2026-12-06: a node the tree head is built from, rewritten while the server
    was stopped, was found only after the next start had appended an entry over it."""

    def flip_a_root_node(conn: Connection) -> int:
        size = int(conn.execute(text("SELECT count(*) FROM record")).scalar_one())
        node = root_nodes(size)[0]
        conn.execute(
            text("UPDATE merkle_node SET hash = :h WHERE level = :l AND idx = :i"),
            {"h": bytes(32), "l": node.level, "i": node.index},
        )
        return size

    size = _served_then(tmp_path, db_url, flip_a_root_node)
    line = _integrity_refusal(tmp_path, db_url)
    assert f"the stored tree of size {size} does not have the root" in line, line
    assert _log_size(db_url) == size


@pytest.mark.parametrize("tamper", ["root node as text", "record moved past the end"])
def test_a_tree_that_cannot_be_read_is_refused_in_one_line(
    tmp_path: Path, db_url: str, tamper: str
) -> None:
    """Red team, 2026-12-06 night: a root node stored as another type, or a record moved
    to a seq past the end (the log then seems to have nodes missing), ended ``serve``
    with a traceback (``HashSizeError``, ``LookupError``) instead of its refusal."""

    def change(conn: Connection) -> int:
        size = int(conn.execute(text("SELECT count(*) FROM record")).scalar_one())
        if tamper == "root node as text":
            node = root_nodes(size)[-1]
            conn.execute(
                text("UPDATE merkle_node SET hash = :h WHERE level = :l AND idx = :i"),
                {"h": "not a hash", "l": node.level, "i": node.index},
            )
        else:
            conn.execute(
                text("UPDATE record SET seq = :far WHERE seq = :s"),
                {"far": size + 1000, "s": size - 1},
            )
        return size

    _served_then(tmp_path, db_url, change)
    line = _integrity_refusal(tmp_path, db_url)
    assert line.startswith("error: "), line


def _move_newest_checkpoint(to: str) -> Callable[[Connection], int]:
    def change(conn: Connection) -> int:
        newest = int(conn.execute(text("SELECT max(size) FROM checkpoint")).scalar_one())
        conn.execute(text(f"UPDATE checkpoint SET size = {to} WHERE size = :s"), {"s": newest})
        return newest

    return change


def test_a_checkpoint_moved_to_a_negative_size_is_refused(tmp_path: Path, db_url: str) -> None:
    """Red team, 2026-12-06 night: the newest checkpoint row moved to a negative size
    while stopped was ignored; an older one seemed newest, and the records past it were
    signed anew with health green. Now ``serve`` refuses the edited table."""
    newest = _served_then(tmp_path, db_url, _move_newest_checkpoint("-size"))
    line = _integrity_refusal(tmp_path, db_url)
    said = f"a checkpoint row's size is stored as {-newest}, not a whole number"
    assert said in line, line
    # The refusal sends the operator to fsck, which names it (red team 2026-12-06, M3).
    checked = CliRunner().invoke(fsck_command, ["--db", db_url, "--workers", "1"])
    assert checked.exit_code == 1 and said in checked.output, checked.output


@pytest.mark.parametrize(
    "to",
    ["CAST(CAST(size AS TEXT) AS BLOB)", "'9e999'", "size + 0.5", "1e999"],
    ids=["blob", "text", "fraction", "infinite"],
)
def test_a_checkpoint_size_of_another_type_is_refused_by_name(tmp_path: Path, to: str) -> None:
    """SQLite: the refusal named "checkpoint 0 … note has no blank line" although the
    note was intact; it now names the size as stored."""
    db_url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    _served_then(tmp_path, db_url, _move_newest_checkpoint(to))
    line = _integrity_refusal(tmp_path, db_url)
    assert "a checkpoint row's size is stored as " in line, line
    assert "not a whole number of records: the checkpoint table was edited" in line, line
