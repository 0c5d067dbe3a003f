"""Exact decimals out (issue 15, item 5): the one formatting function for computed
quantities, and every computed quantity the gateway serves over loopback."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients.sdk import new_entry
from gateway.pact_v2 import to_v2
from gateway.quantities import SIGNIFICANT_DIGITS, number, percent, quantity
from tests import carbon_builders as cb
from tests.carbon_builders import inventory_grant
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import SUPPLIER_B, environment, footprint_entry

PLAIN = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")
SIGNED = "71.4000000000000001"  # more digits than a float holds
NOISE = re.compile(r"(0{6,}[1-9]|9{6,})[0-9]*$")  # ...0000000004 or ...99999997 at the end


def significant_digits(text: str) -> int:
    return len(text.lstrip("-").replace(".", "").strip("0"))


@pytest.mark.parametrize(
    ("value", "served"),
    [
        (0.1 + 0.2, "0.3"),
        (3.1854199999999997, "3.18542"),
        (1.5999999999999999, "1.6"),
        (0.0, "0"),
        (-0.0, "0"),
        (25.0, "25"),
        (1e21, "1000000000000000000000"),
        (1.5e-7, "0.00000015"),
        (-4.170000000000001, "-4.17"),
        (2 / 3, "0.666666666667"),
        (Decimal("850.00"), "850"),
        (Decimal("9" * 60), "1" + "0" * 60),
    ],
)
def test_quantity_examples(value: float | Decimal, served: str) -> None:
    assert quantity(value) == served


def test_percent_and_v2_numbers() -> None:
    assert percent(0.1 + 0.2) == "30"
    assert percent(-0.6498599439775911) == "-64.9859943978"
    assert number("62.5") == 62.5 and repr(number("1.5999999999999999")) == "1.6"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_no_quantity_for_nan_or_infinity(value: float) -> None:
    with pytest.raises(ValueError, match="not a finite quantity"):
        quantity(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_quantity_is_plain_short_and_within_half_an_ulp_of_12_digits(value: float) -> None:
    served = quantity(value)
    assert PLAIN.match(served), served
    assert significant_digits(served) <= SIGNIFICANT_DIGITS
    if value == 0:
        assert served == "0"
        return
    exact = Decimal(value)
    # rounded to 12 significant digits: off by at most half a unit in the 12th digit
    unit = Decimal(1).scaleb(exact.adjusted() - SIGNIFICANT_DIGITS + 1)
    assert abs(Decimal(served) - exact) <= unit / 2


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, max_value=10**9))
def test_a_short_decimal_comes_back_unchanged(value: Decimal) -> None:
    # a quantity that already has ≤ 12 significant digits is served as itself
    if significant_digits(format(value, "f")) <= SIGNIFICANT_DIGITS:
        assert Decimal(quantity(float(value))) == value


def _quantities(doc: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string leaf of a served document that reads as a number, with its path."""
    if isinstance(doc, dict):
        return [q for k, v in doc.items() for q in _quantities(v, f"{path}.{k}")]
    if isinstance(doc, list):
        return [q for i, v in enumerate(doc) for q in _quantities(v, f"{path}[{i}]")]
    if isinstance(doc, str) and re.fullmatch(r"-?[0-9.]+", doc):
        return [(path, doc)]
    return []


def test_no_served_computed_quantity_has_binary_noise(tmp_path: Path, db_url: str) -> None:
    """A chain whose float sums are noisy (0.1 + 0.2, thirds, 71.4 declared): the computed
    footprint, the contribution tree and progress serve ≤ 12 significant digits, no noise."""
    cathode_product = "urn:pact:product:cathode-b:lfp-cathode"
    cell_product = "urn:pact:product:recycler-a:lfp-cell"
    with environment(tmp_path, db_url) as env:
        cathode = footprint_entry(SUPPLIER_B, cathode_product, unit="kilogram")
        cathode["composition"]["ownEmissions"] = [
            {"stage": "raw-material-acquisition", "scope": "3", "kgCO2e": "0.1"},
            {"stage": "main-production", "scope": "1", "kgCO2e": "0.2"},
        ]
        env.submit(SUPPLIER_B, cathode)
        env.grant(SUPPLIER_B, SUPPLIER, productId=cathode_product)
        cell = footprint_entry(SUPPLIER, cell_product, unit="kilogram")
        cell["footprint"]["pcf"]["declaredUnitAmount"] = "3"
        cell["footprint"]["pcf"]["productMassPerDeclaredUnit"] = "3"
        for member in ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake"):
            cell["footprint"]["pcf"][member] = SIGNED
        cell["composition"] = {
            "ownEmissions": [{"stage": "main-production", "scope": "2", "kgCO2e": "0.7"}],
            "inputs": [
                {
                    "productId": cathode_product,
                    "companyId": SUPPLIER_B,
                    "amount": "1.1",
                    "unit": "kilogram",
                    "recycledContent": {"share": "0.3", "recyclingBurdenKgCO2ePerUnit": "0.07"},
                }
            ],
        }
        env.submit(SUPPLIER, cell)
        cell_id = cell["footprint"]["id"]
        env.submit(BUYER, cb.target(BUYER, SUPPLIER, scopes=["1", "2"]))
        env.submit(
            SUPPLIER,
            new_entry(
                "inventory",
                SUPPLIER,
                reportingYear=2024,
                scope1TCO2e="0.1",
                scope2TCO2e="0.2",
                electricityMWh="100",
                renewableElectricityMWh="20",
            ),
        )
        env.submit(SUPPLIER, inventory_grant(SUPPLIER, BUYER))
        with env.client(SUPPLIER) as owner, env.client(BUYER) as buyer:
            computed = owner.get(f"/v1/footprints/{cell_id}/computed").json()
            tree = owner.get(
                f"/v1/footprints/{cell_id}/contributions", params={"depth": 4, "cutoff": 0}
            ).json()
            progress = buyer.get(f"/v1/suppliers/{SUPPLIER}/progress").json()
    # (0.7 + 1.1·(0.7·0.3 + 0.3·0.07)) / 3 = (0.7 + 0.2541) / 3
    total = (0.7 + 1.1 * (0.7 * 0.3 + 0.3 * 0.07)) / 3
    assert computed["total"] == quantity(total) == "0.318033333333"
    assert computed["relativeDifference"] == percent((total - 71.4) / 71.4)  # compared in float64
    assert computed["declared"] == SIGNED  # signed by the supplier: served as signed
    (point,) = progress["targets"][0]["progress"]
    assert point["value"] == "0.3"  # 0.1 + 0.2 in exact decimal
    computed.pop("declared")
    served = _quantities(computed) + _quantities(tree) + _quantities(point)
    assert len(served) > 20
    for where, text in served:
        assert PLAIN.match(text), (where, text)
        assert significant_digits(text) <= SIGNIFICANT_DIGITS, (where, text)
        assert not NOISE.search(text.replace(".", "")), (where, text)


def test_v2_numbers_are_the_signed_decimals() -> None:
    v3 = cb.footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:x")["footprint"]
    v3["pcf"]["primaryDataShare"] = "62.5"
    v3["pcf"]["exemptedEmissionsPercent"] = "0.3"
    v3["pcf"]["dqi"] = {"technologicalDQR": "1.1", "geographicalDQR": "1.7"}
    v2 = to_v2(v3)["pcf"]
    assert repr(v2["primaryDataShare"]) == "62.5"
    assert repr(v2["exemptedEmissionsPercent"]) == "0.3"
    assert [repr(v) for v in v2["dqi"].values()] == ["1.1", "1.7"]
