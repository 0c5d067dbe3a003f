"""Benchmark of the footprint engine against bw2calc (``make bench-footprint``).

For each size (default 10⁴, 10⁵, 10⁶ footprints) a worker process generates a supply graph
(≈5 inputs per footprint, hub materials, a few short recycling loops and one giant loop),
builds a :class:`FootprintEngine` from declarations and measures:

* full recompute of every footprint (analysis + solve; best of 3) and solve-only time;
* incremental update for a foreground change (new product / superseded final product) and
  for a change inside the giant loop, each checked against a full recompute (1e-12 rel.);
* peak memory (RSS) of the worker while it builds, computes and updates, and that less the
  memory of the declarations it is given (the engine's own);
* a restart from the engine's pickle, as a gateway's snapshot holds it (declarations stay
  packed until read, ``graph.declarations``): load time, memory after the load, and the
  time to the first result (the last footprint, downstream of the giant loop);
* bw2calc on the same technosphere/biosphere matrices with its best method for "every
  product": ``FastScoresOnlyMultiLCA(direction="adjoint")`` (one transposed PARDISO solve),
  asserting equality within 1e-9 relative.

The last line of the output is the headline:
``footprint: <seconds> s (ratio <r> vs bw2calc)`` for the largest size.
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graph.declarations import packing
from graph.engine import FootprintEngine
from graph.model import (
    STAGES,
    EmissionFactor,
    FootprintDeclaration,
    FootprintRef,
    InputLine,
    OwnEmission,
    ProductRef,
)

GRID = EmissionFactor("bench", "1", "grid", Decimal("0.45"), "kilowatt hour")
GRID_REF = GRID.ref
# declared unit of a hub → (unit written on input lines, how many of those per declared unit)
HUB_UNITS = [("kilowatt hour", "megajoule", 3.6), ("ton kilometer", "ton kilometer", 1.0)]


def _dec(x: float) -> Decimal:
    return Decimal(f"{x:.6g}")


def generate(n: int, seed: int = 42) -> tuple[list[FootprintDeclaration], dict[str, Any]]:
    """A supply graph of ``n`` footprints (indices roughly in supply-chain order)."""
    rng = np.random.default_rng(seed)
    hubs = max(10, min(200, n // 50))
    k = 5
    local = rng.random((n, k)) < 0.7
    offsets = rng.geometric(1 / 50, size=(n, k))
    hub_pick = rng.integers(0, hubs, size=(n, k))
    shares = rng.uniform(0.1, 1.0, size=(n, k))
    own = rng.uniform(0.1, 5.0, size=n)
    ups: list[list[int]] = []
    for i in range(n):
        if i == 0:
            ups.append([])
            continue
        row = []
        for j in range(k):
            if i < hubs:
                u = int(rng.integers(0, i))
            elif local[i, j]:
                u = max(hubs, i - int(offsets[i, j]))
            else:
                u = int(hub_pick[i, j])
            row.append(u)
        ups.append(row)
    # short recycling loops: a small share of footprints also consume a slightly later one
    back = rng.random(n) < 0.002
    for i in np.flatnonzero(back).tolist():
        j = i + int(rng.geometric(0.2))
        if hubs <= i and j < n:
            ups[i].append(j)
    # the hub loop (electricity ↔ coal) and one giant loop
    if 0 not in ups[1]:
        ups[1].append(0)
    ups[0].append(1)
    a, b = n // 3, n // 3 + n // 10
    ups[a].append(b)
    unit_of = ["kilogram"] * n
    for h in range(min(hubs, len(HUB_UNITS))):
        unit_of[h] = HUB_UNITS[h][0]
    line_unit = {"kilowatt hour": ("megajoule", 3.6), "ton kilometer": ("ton kilometer", 1.0)}
    decls: list[FootprintDeclaration] = []
    for i in range(n):
        inputs = []
        total_share = float(shares[i, : len(ups[i])].sum()) + 0.5 if ups[i] else 1.0
        for j, u in enumerate(ups[i]):
            amount = 0.9 * float(shares[i, j % k]) / (total_share + 1.0)
            unit = unit_of[u]
            if unit in line_unit:
                unit, per = line_unit[unit]
                amount *= per
            elif (i + j) % 3 == 0:
                unit, amount = "gram", amount * 1000
            ref: FootprintRef | ProductRef = (
                ProductRef(f"urn:p:{u}", f"urn:c:{u % 997}") if j % 2 else FootprintRef(f"f{u}")
            )
            inputs.append(InputLine(ref, _dec(amount), unit))
        if i % 2:
            inputs.append(InputLine(GRID_REF, _dec(float(shares[i, 0])), "kilowatt hour"))
        decls.append(
            FootprintDeclaration(
                id=f"f{i}",
                company_ids=(f"urn:c:{i % 997}",),
                product_ids=(f"urn:p:{i}",),
                declared_unit=unit_of[i],
                own_emissions=(OwnEmission(STAGES[i % 4], "1", _dec(float(own[i]))),),
                inputs=tuple(inputs),
            )
        )
    return decls, {"giant_loop_seed": a, "hubs": hubs}


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _bw2calc(at: sp.csr_array, e: np.ndarray) -> dict[str, Any]:
    """All product scores with bw2calc's adjoint FastScoresOnlyMultiLCA on the same matrices."""
    import bw_processing as bwp
    from bw2calc.fast_scores import FastScoresOnlyMultiLCA

    n = at.shape[0]
    coo = at.tocoo()  # row = product (activity), col = input (product consumed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    tech = np.empty(n + coo.nnz, dtype=bwp.INDICES_DTYPE)
    tech["row"] = np.concatenate([ids, ids[coo.col]])
    tech["col"] = np.concatenate([ids, ids[coo.row]])
    data = np.concatenate([np.ones(n), coo.data])
    flip = np.concatenate([np.zeros(n, dtype=bool), np.ones(coo.nnz, dtype=bool)])
    lci = bwp.create_datapackage()
    lci.add_persistent_vector(
        matrix="technosphere_matrix", indices_array=tech, data_array=data, flip_array=flip, name="t"
    )
    bio = np.empty(n, dtype=bwp.INDICES_DTYPE)
    bio["row"], bio["col"] = n + 10, ids
    lci.add_persistent_vector(matrix="biosphere_matrix", indices_array=bio, data_array=e, name="b")
    lcia = bwp.create_datapackage()
    cf = np.empty(1, dtype=bwp.INDICES_DTYPE)
    cf["row"], cf["col"] = n + 10, 0
    lcia.add_persistent_vector(
        matrix="characterization_matrix",
        indices_array=cf,
        data_array=np.array([1.0]),
        name="c",
        identifier=["gwp"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lca = FastScoresOnlyMultiLCA(
            demands={"all": {1: 1.0}},
            method_config={"impact_categories": [("gwp",)]},
            data_objs=[lci, lcia],
            direction="adjoint",
        )
        total, _ = _timed(lca.calculate)
        scores = lca.product_scores.values[0]
        products = lca.product_scores.coords["products"].values.astype(np.int64)
        rhs = np.ascontiguousarray(lca.precalculated[next(iter(lca.precalculated))].T)
        solve_only, _ = _timed(lambda: lca.solve_adjoint(rhs))
    x = np.empty(n)
    x[products - 1] = scores
    return {"total_s": total, "solve_s": solve_only, "x": x}


def worker(n: int, matrices: str | None, saved: str) -> dict[str, Any]:
    """Measure one size; runs in its own process so peak RSS belongs to this size."""
    out: dict[str, Any] = {"n": n}
    t_gen, (decls, _meta) = _timed(lambda: generate(n))
    out["generate_s"] = t_gen
    out["declarations_rss_mb"] = _rss_now_mb()  # the input objects the engine is built from
    t_build, engine = _timed(lambda: FootprintEngine(decls, [GRID]))
    out["build_s"] = t_build
    out["edges"] = int(engine.arrays()[0].nnz)
    full = [_timed(engine.compute)[0] for _ in range(3)]
    out["full_s"] = min(full)
    out["full_first_s"] = full[0]  # first run in the process: includes fresh-memory page faults
    at, e, ids = engine.arrays()
    assert engine.plan is not None
    out["solve_only_s"] = min(_timed(lambda: engine.plan.solve(e))[0] for _ in range(3))
    out["largest_loop"] = engine.plan.largest_component
    x_full = np.array([engine.total(i) for i in ids])

    # foreground: a new final product, then superseding it
    rng = np.random.default_rng(1)
    picks = rng.integers(n // 2, n, size=5).tolist()
    new = FootprintDeclaration(
        id="fg-v1",
        company_ids=("urn:c:oem",),
        product_ids=("urn:p:oem-car",),
        declared_unit="piece",
        own_emissions=(OwnEmission("main-production", "1", Decimal("12.5")),),
        inputs=tuple(InputLine(FootprintRef(f"f{u}"), Decimal("3"), "kilogram") for u in picks),
    )
    t_add, _ = _timed(lambda: engine.apply(added=[new]))
    newer = FootprintDeclaration(**{**_fields(new), "id": "fg-v2"})
    t_sup, rec_sup = _timed(lambda: engine.apply(added=[newer], removed=["fg-v1"]))
    out["fg_add_ms"] = 1e3 * t_add
    out["fg_supersede_ms"] = 1e3 * t_sup
    out["fg_recomputed"] = len(rec_sup)

    # inside the giant loop: supersede a member with different own emissions
    _, labels = connected_components(at, directed=True, connection="strong")
    giant = np.flatnonzero(labels == np.bincount(labels).argmax())
    member = ids[int(giant[giant.size // 2])]
    old = engine.declaration(member)
    changed = FootprintDeclaration(
        **{
            **_fields(old),
            "id": member + "-v2",
            "own_emissions": (OwnEmission("main-production", "1", Decimal("7.77")),),
        }
    )
    t_loop, rec_loop = _timed(lambda: engine.apply(added=[changed], removed=[member]))
    out["loop_ms"] = 1e3 * t_loop
    out["loop_recomputed"] = len(rec_loop)
    # the same kind of change again, forcing the downstream-subset solve (no full-pass fallback)
    engine.full_recompute_share = 1.0
    again = FootprintDeclaration(**{**_fields(changed), "id": member + "-v3"})
    t_sub, _ = _timed(lambda: engine.apply(added=[again], removed=[changed.id]))
    out["loop_subset_ms"] = 1e3 * t_sub
    # the high-water mark of building, computing and updating (before the checks below,
    # whose dicts of every total are this benchmark's, not the engine's)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    incremental = engine.totals()
    engine.compute()
    recomputed = engine.totals()
    worst = max(abs(incremental[k] - v) / max(abs(v), 1e-300) for k, v in recomputed.items())
    assert worst <= 1e-12, f"incremental differs from full recompute: {worst:.3g}"
    out["incremental_vs_full_rel"] = worst

    with packing():
        out["save_s"], blob = _timed(lambda: pickle.dumps(engine, pickle.HIGHEST_PROTOCOL))
    Path(saved).write_bytes(blob)
    out["saved_mb"] = len(blob) / 2**20
    if matrices is not None:
        sp.save_npz(matrices, at)
        np.savez(matrices + ".vec.npz", e=e, x=x_full)
    return out


def bw_worker(matrices: str) -> dict[str, Any]:
    """bw2calc on the matrices a worker saved; asserts equality with the engine's totals."""
    at = sp.csr_array(sp.load_npz(matrices))
    vec = np.load(matrices + ".vec.npz")
    bw = _bw2calc(at, vec["e"])
    x_full = vec["x"]
    rel = np.abs(bw["x"] - x_full) / np.maximum(np.abs(x_full), 1e-300)
    assert float(rel.max()) <= 1e-9, f"bw2calc differs: {rel.max():.3g}"
    return {
        "bw_total_s": bw["total_s"],
        "bw_solve_s": bw["solve_s"],
        "bw_max_rel_diff": float(rel.max()),
        "bw_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def restore_worker(saved: str, footprint_id: str) -> dict[str, Any]:
    """Load a saved engine as ``gateway.engine_snapshot`` does (collector paused, then
    frozen) and answer one result."""
    blob = Path(saved).read_bytes()
    gc.disable()
    start = time.perf_counter()
    engine: FootprintEngine = pickle.loads(blob)
    t_load = time.perf_counter() - start
    gc.freeze()
    gc.enable()
    del blob
    rss = _rss_now_mb()
    t_first, _ = _timed(lambda: engine.result(footprint_id))
    return {"load_s": t_load, "restored_rss_mb": rss, "first_result_s": t_first}


def _rss_now_mb() -> float:
    """Current resident memory of this process (Linux ``/proc``), in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _fields(d: FootprintDeclaration) -> dict[str, Any]:
    return {f: getattr(d, f) for f in FootprintDeclaration.__dataclass_fields__}


def _run(cmd: list[str], timeout: float | None = None) -> dict[str, Any] | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        raise SystemExit(f"benchmark worker failed: {' '.join(cmd[2:])}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--no-bw2calc", action="store_true")
    parser.add_argument("--bw-timeout", type=float, default=1800.0, help="seconds per size")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--matrices", help=argparse.SUPPRESS)
    parser.add_argument("--bw-worker", help=argparse.SUPPRESS)
    parser.add_argument("--saved", help=argparse.SUPPRESS)
    parser.add_argument("--restore-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.matrices, args.saved)))
        return
    if args.restore_worker:
        print(json.dumps(restore_worker(*args.restore_worker)))
        return
    if args.bw_worker:
        print(json.dumps(bw_worker(args.bw_worker)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            matrices = str(Path(tmp) / f"m{n}.npz")
            saved = str(Path(tmp) / f"engine{n}.pickle")
            cmd = [sys.executable, __file__, "--worker", str(n), "--saved", saved]
            if not args.no_bw2calc:
                cmd += ["--matrices", matrices]
            r = _run(cmd)
            assert r is not None
            restored = _run([sys.executable, __file__, "--restore-worker", saved, f"f{n - 1}"])
            assert restored is not None
            r.update(restored)
            Path(saved).unlink()
            bw = ""
            if not args.no_bw2calc:
                b = _run([sys.executable, __file__, "--bw-worker", matrices], args.bw_timeout)
                if b is None:
                    r["bw_timeout_s"] = args.bw_timeout
                    bw = f" | bw2calc did not finish in {args.bw_timeout:.0f} s"
                else:
                    r.update(b)
                    bw = (
                        f" | bw2calc adjoint {r['bw_total_s']:.3f} s"
                        f" (factorise+solve {r['bw_solve_s']:.3f} s,"
                        f" peak {r['bw_peak_rss_mb']:.0f} MB)"
                        f", max rel diff {r['bw_max_rel_diff']:.1e}"
                        f", ratio {r['bw_solve_s'] / r['full_s']:.1f}×"
                    )
            rows.append(r)
            print(
                f"n={n:>8} edges={r['edges']:>8} giant loop={r['largest_loop']:>6}"
                f" | build {r['build_s']:.1f} s"
                f" | full {r['full_s']:.3f} s (first {r['full_first_s']:.3f} s,"
                f" solve only {r['solve_only_s']:.3f} s)"
                f" | foreground: new {r['fg_add_ms']:.1f} ms,"
                f" supersede {r['fg_supersede_ms']:.1f} ms"
                f" | giant-loop change {r['loop_ms']:.0f} ms ({r['loop_recomputed']} recomputed;"
                f" subset solve {r['loop_subset_ms']:.0f} ms,"
                f" vs full {r['incremental_vs_full_rel']:.0e})"
                f" | peak {r['peak_rss_mb']:.0f} MB"
                f" (declarations {r['declarations_rss_mb']:.0f} MB,"
                f" the engine {r['peak_rss_mb'] - r['declarations_rss_mb']:.0f} MB)"
                f" | restart from its pickle ({r['saved_mb']:.0f} MB, saved in"
                f" {r['save_s']:.1f} s): load {r['load_s']:.1f} s, {r['restored_rss_mb']:.0f} MB,"
                f" first result {r['first_result_s']:.2f} s{bw}",
                flush=True,
            )
    last = rows[-1]
    if "bw_solve_s" in last:
        ratio = f"{last['bw_solve_s'] / last['full_s']:.1f}"
    elif "bw_timeout_s" in last:
        ratio = f">{last['bw_timeout_s'] / last['full_s']:.0f}"
    else:
        ratio = "n/a"
    print(f"footprint: {last['full_s']:.3f} s (ratio {ratio} vs bw2calc)")


if __name__ == "__main__":
    main()
