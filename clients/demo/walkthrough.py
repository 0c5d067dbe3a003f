"""The demo's printed tour: the pack's footprint and where it comes from, and how to check it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from clients.demo.chain import PRODUCTS
from clients.demo.load import LoadedDemo
from graph.battery import battery_footprint
from graph.engine import FootprintEngine

PACK = "lfp-pack"


class Flag(NamedTuple):
    """A footprint whose declared total differs from what its inputs compute to, both
    kgCO2e per declared unit; footprints citing it use ``computed``."""

    declared: float
    computed: float
    relative: float | None


@dataclass(frozen=True)
class DemoFigures:
    """The numbers the walkthrough prints (a test checks them independently)."""

    pack_footprint_id: str
    pack_kg_per_kwh: float
    stage_shares: dict[str, float]
    top_contributors: list[tuple[str, float, float]]  # (label, kgCO2e per kWh, share)
    flagged: dict[str, Flag]  # spec key -> declared vs computed


def demo_figures(loaded: LoadedDemo, engine: FootprintEngine) -> DemoFigures:
    pack_id = loaded.chain.footprint_ids[PACK]
    battery = battery_footprint(engine.result(pack_id))
    tree = engine.contributions(pack_id, cutoff=0.02, max_depth=1)
    labels = {fid: key for key, fid in loaded.chain.footprint_ids.items()}
    top = sorted(tree.children, key=lambda node: node.kg_co2e, reverse=True)[:5]
    flagged = {
        labels.get(fid, fid): Flag(
            float(engine.declaration(fid).declared_pcf or 0), engine.total(fid), diff
        )
        for fid, diff in engine.flagged().items()
    }
    return DemoFigures(
        pack_id,
        battery.kg_co2e_per_kwh,
        battery.stage_shares,
        [(labels.get(n.label, n.label), n.kg_co2e, n.share) for n in top],
        flagged,
    )


def walkthrough(
    figures: DemoFigures,
    *,
    grpc: str,
    http: str,
    vkey: str,
    auditor_key: str,
    auditor_org: str,
    client_id: str,
    client_secret: str,
    programme: list[str],
) -> str:
    names = {spec.key: spec.name for spec in PRODUCTS}
    units = {spec.key: spec.unit for spec in PRODUCTS}
    lines = [
        "",
        "carbonledger demo: a battery-recycling supply chain on a signed, Merkle-verifiable log",
        f"  gRPC ledger  {grpc}",
        f"  HTTP gateway {http}   (page: {http}/ , OpenAPI: {http}/docs)",
        f"  ledger-key   {vkey}",
        "",
        f"LFP battery pack, cradle to gate: {figures.pack_kg_per_kwh:.1f} kgCO2e per kWh",
    ]
    for stage, share in figures.stage_shares.items():
        lines.append(f"  {share * 100:5.1f} %  {stage}")
    lines.append("Top contributors (kgCO2e per kWh of pack):")
    for label, kg, share in figures.top_contributors:
        lines.append(f"  {kg:7.2f}  {share * 100:5.1f} %  {names.get(label, label)}")
    for key, flag in figures.flagged.items():
        per = f"kgCO2e per {units.get(key, 'declared unit')}"
        text = "" if flag.relative is None else f" ({flag.relative * 100:+.0f} %)"
        lines += [
            f"Flagged: {names.get(key, key)} declares {flag.declared:.3f} {per}; "
            f"its inputs compute to {flag.computed:.2f}{text}.",
            f"  Footprints that use it (the pack above) count its computed {flag.computed:.2f}"
            f" {per}, not the declared {flag.declared:.2f}.",
        ]
    lines += [
        "",
        "Zero-carbon supplier programme, 2024 (the buyer's suppliers' plants):",
        *programme,
        "",
        "See it in a browser: the buyer page",
        f"  {http}/",
        f"  log in with client id      {client_id}",
        f"           and client secret  {client_secret}",
        "",
        "Audit the whole log as the demo auditor:",
        f"  .venv/bin/carbonledger audit --ledger {grpc} --ledger-key '{vkey}' \\",
        f"      --key {auditor_key} --org {auditor_org}",
        "Query the PACT API as the demo buyer:",
        f"  TOKEN=$(curl -s -u '{client_id}:{client_secret}' -d grant_type=client_credentials \\",
        f"      {http}/auth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)"
        '["access_token"])\')',
        f'  curl -s -H "Authorization: Bearer $TOKEN" {http}/3/footprints',
        f'  curl -s -H "Authorization: Bearer $TOKEN" {http}/v1/programmes/suppliers',
        "",
        "Serving until Ctrl-C.",
    ]
    return "\n".join(lines)
