"""The demo chain through a real ledger, and its walkthrough figures checked independently.

The independent calculation is a dense ``numpy.linalg.solve`` of ``(I − Aᵀ) x = e`` written
here from the demo's specification (no engine code), with the stage split done by hand.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest

from clients.demo.chain import GRID, PRODUCTS, product_id
from clients.demo.load import load_demo
from clients.demo.run import run_demo
from clients.demo.walkthrough import demo_figures
from graph.ledger_adapter import ENGINE_ENTRY_TYPES, ActiveFootprints
from ledger.entries import parse_entry
from ledger.entries.carbon import load_default_factors
from ledger.store.database import Database, sqlite_url
from ledger.store.log import LogStore
from tests.ledger_fixtures import operator_of, running_server


def _independent_pack_result() -> tuple[float, dict[str, float]]:
    """x = e + Aᵀx over the demo specs; the newest batch answers a product reference."""
    factors = {f["key"]: float(f["value"]) for f in load_default_factors()["factors"]}
    resolve: dict[str, str] = {}
    for spec in PRODUCTS:  # later specs of the same product are newer batches
        resolve[product_id(spec.org, spec.slug)] = spec.key
    keys = [spec.key for spec in PRODUCTS]
    index = {key: i for i, key in enumerate(keys)}
    n = len(keys)
    a = np.zeros((n, n))
    stages = ("raw-material-acquisition", "main-production", "distribution")
    e_stage = {stage: np.zeros(n) for stage in stages}
    for spec in PRODUCTS:
        v = index[spec.key]
        for stage, _scope, kg in spec.own:
            e_stage[stage][v] += float(kg)
        for line in spec.inputs:
            if "factor" in line:
                key = line["factor"]["key"]
                e_stage[line.get("stage", stages[0])][v] += float(line["amount"]) * factors[key]
                assert line["unit"] == ("kilowatt hour" if key == GRID else "cubic meter")
            else:
                a[index[resolve[line["productId"]]], v] += float(line["amount"])
    inverse_t = np.linalg.inv(np.eye(n) - a.T)
    by_stage = {stage: float((inverse_t @ e)[index["lfp-pack"]]) for stage, e in e_stage.items()}
    return sum(by_stage.values()), by_stage


def test_demo_loads_and_walkthrough_figures_hold(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", sqlite_url(tmp_path)) as server:
        loaded = load_demo(server.grpc_target, operator_of(server), tmp_path / "keys")
        records = list(server.store.records(0, server.store.tree_size()))
    # Every step was recorded except the certificate claimed twice, which was refused.
    assert [note for note, _ in loaded.rejections] == ["the same green certificates claimed twice"]
    assert "overlap" in loaded.rejections[0][1].message
    assert len(records) == 1 + len(loaded.receipts)

    active = ActiveFootprints()
    for record in records:
        if record.entry_type in ENGINE_ENTRY_TYPES:
            active.apply(parse_entry(json.loads(record.entry)), record.timestamp_us)
    figures = demo_figures(loaded, active.engine())

    total, by_stage = _independent_pack_result()
    assert abs(figures.pack_kg_per_kwh - total) <= 1e-9 * total
    assert 61 <= figures.pack_kg_per_kwh <= 106  # the published range for battery production
    for stage, kg in by_stage.items():
        shares = {k.split(" ")[0]: v for k, v in figures.stage_shares.items()}
        assert abs(shares[stage.split("-")[0]] - kg / total) < 1e-9
    assert abs(sum(figures.stage_shares.values()) - 1) < 1e-12
    # The cell maker declared 20 % less than its inputs imply: flagged, and only it.
    assert list(figures.flagged) == ["lfp-cell"]
    flag = figures.flagged["lfp-cell"]
    assert flag.relative is not None and abs(flag.relative - (1 / 0.8 - 1)) < 1e-3
    assert abs(flag.declared - 0.8 * flag.computed) < 1e-3  # declared rounded to 0.001
    cell = figures.top_contributors[0][1]  # the pack uses one kWh of cell per kWh
    assert abs(cell - flag.computed) < 1e-9 * cell
    top_labels = [label for label, _, _ in figures.top_contributors]
    assert top_labels[0] == "lfp-cell"
    assert figures.top_contributors[0][1] > figures.top_contributors[-1][1]


def test_demo_command_prints_the_walkthrough_and_serves(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    import httpx

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clients.cli",
            "demo",
            "--data-dir",
            str(tmp_path / "demo"),
            "--grpc",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # the walkthrough's last line is the readiness signal
        lines.append(line.rstrip())
        if line.startswith("Serving until Ctrl-C."):
            break
    try:
        text = "\n".join(lines)
        assert "LFP battery pack, cradle to gate:" in text and "kgCO2e per kWh" in text
        assert "Flagged: LFP prismatic cell 280 Ah declares " in text
        assert "kgCO2e per kilowatt hour; its inputs compute to " in text
        assert "count its computed " in text and ", not the declared " in text
        http = next(line.split()[2] for line in lines if line.strip().startswith("HTTP gateway"))
        client = json.loads((tmp_path / "demo" / "demo-buyer-client.json").read_text())
        # The page and the buyer's login, on lines of their own.
        assert f"  {http}/" in lines
        assert f"  log in with client id      {client['clientId']}" in lines
        assert f"           and client secret  {client['clientSecret']}" in lines
        token = httpx.post(
            f"{http}/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(client["clientId"], client["clientSecret"]),
        ).json()
        listed = httpx.get(
            f"{http}/3/footprints", headers={"Authorization": f"Bearer {token['access_token']}"}
        ).json()
        # The pack and the cell (detail grants) and the cathode (summary).
        assert len(listed["data"]) == 3
        # The zero-carbon programme: three plants at three levels, printed and served.
        programme = text[text.index("Zero-carbon supplier programme") :]
        assert "  LFP Cell Works, Hefei plant: 5 stars type I" in programme
        assert "certified by urn:pact:company:customcode:tuv-example-certification: current" in (
            programme
        )
        assert "  Pack Systems, Changsha plant: 3 stars type I" in programme
        assert "  Cathode Materials, Yibin plant: no level" in programme
        assert "UNBACKED renewable claim 2000 MWh" in programme
        assert f"{http}/v1/programmes/suppliers" in programme
        served = httpx.get(
            f"{http}/v1/programmes/suppliers",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ).json()
        assert sorted(
            (site["stars"] or 0, [a["status"] for a in site["attestations"]])
            for supplier in served["suppliers"]
            for site in supplier["sites"]
        ) == [(0, []), (3, []), (5, ["current"])]
        # A buyer's spot check of the pack's entry through the real gateway.
        vkey = next(line.split()[1] for line in lines if line.strip().startswith("ledger-key"))
        store = LogStore(Database(sqlite_url(tmp_path / "demo")))
        pack_seq = next(
            r.seq
            for r in store.records(0, store.tree_size())
            if r.entry_type == "footprint" and b"lfp-pack-60kwh" in r.entry
        )
        store.db.dispose()
        check = subprocess.run(
            [
                sys.executable,
                "-m",
                "clients.cli",
                "verify-entry",
                "--gateway",
                http,
                "--ledger-key",
                vkey,
                "--client-id",
                client["clientId"],
                "--client-secret",
                client["clientSecret"],
                str(pack_seq),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        assert f"seq {pack_seq}" in check.stdout and "signature verifies with" in check.stdout
        assert "not proven in the log" in check.stdout  # as --json says
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0


def _demo_dirs(where: Path) -> list[Path]:
    return sorted(where.glob("carbonledger-demo-*"))


def test_a_demo_stopped_while_loading_leaves_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C before the walkthrough: the temporary directory (with the demo's private
    keys) was never named to anyone, so it goes."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stop = threading.Event()
    stop.set()  # the signal arrived while the chain was loading
    printed: list[str] = []
    run_demo(None, "127.0.0.1:0", "127.0.0.1:0", stop=stop, echo=printed.append)
    assert printed == [] and _demo_dirs(tmp_path) == []


def test_a_demo_that_fails_after_loading_leaves_no_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain loaded (keys written), then printing fails (stdout closed, as in
    ``carbonledger demo | head -1``): the error goes up and the directory goes."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: list[list[tuple[Path, bool]]] = []

    def closed_stdout(line: str) -> None:
        seen.append([(d, (d / "demo-keys").is_dir()) for d in _demo_dirs(tmp_path)])
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        run_demo(None, "127.0.0.1:0", "127.0.0.1:0", stop=threading.Event(), echo=closed_stdout)
    (existing,) = seen[0]  # it existed, with the keys, when the walkthrough began
    assert existing[1] and _demo_dirs(tmp_path) == []
