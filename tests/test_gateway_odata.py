"""The v2.3 ListFootprints ``$filter`` (``gateway.odata``): the OData subset PACT Tech
Specs 2.3 names, evaluated over HTTP on both backends, and what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.odata import MAX_NESTING, Malformed, Unsupported, parse
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import SUPPLIER_B, environment

P_A = "urn:pact:product:odata:a"
P_B = "urn:pact:product:odata:b"
P_E = "urn:pact:product:odata:e"
C_B = "urn:pact:productclassification:un-cpc:46420"


def test_v2_filter_statements_select_exactly_the_matching_footprints(
    tmp_path: Path, db_url: str
) -> None:
    with environment(tmp_path, db_url) as env, env.client(BUYER) as buyer:
        ids = {
            "A": env.footprint(SUPPLIER, P_A, geography=("geographyCountry", "DE"))[0],
            "B": env.footprint(
                SUPPLIER,
                P_B,
                geography=("geographyCountry", "FR"),
                classification=C_B,
                ref_end="2025-06-01T00:00:00Z",
            )[0],
            "E": env.footprint(
                SUPPLIER_B, P_E, geography=("geographyCountry", "DE"), classification=C_B
            )[0],
        }
        for name, fid in ids.items():
            env.grant(SUPPLIER_B if name == "E" else SUPPLIER, BUYER, footprintId=fid)
        names = {fid: name for name, fid in ids.items()}

        def selected(statement: str, **params: object) -> set[str]:
            answer = buyer.get("/2/footprints", params={"$filter": statement, **params})
            assert answer.status_code == 200, (statement, answer.text)
            return {names[d["id"]] for d in answer.json()["data"]}

        assert selected("pcf/geographyCountry eq 'DE'") == {"A", "E"}
        assert selected("pcf/geographyCountry eq 'de'") == {"A", "E"}
        assert selected(f"productIds/any(productId:(productId eq '{P_B}'))") == {"B"}
        assert selected(f"companyIds/any(c:c eq '{SUPPLIER_B}')") == {"E"}
        assert selected("productCategoryCpc eq '46420'") == {"B", "E"}
        assert selected(
            "(pcf/referencePeriodEnd ge '2025-06-01T00:00:00.000Z') and "
            "(productCategoryCpc eq '46420')"
        ) == {"B"}
        assert selected("pcf/referencePeriodEnd lt 2025-06-01T00:00:00Z") == {"A", "E"}
        assert selected("created ge '2025-03-01T00:00:00Z'") == {"A", "B", "E"}
        assert selected("created gt '2025-03-01T00:00:00Z'") == set()
        assert selected("updated ge '2000-01-01T00:00:00Z'") == set()  # none has `updated`

        # Pages stay exact: the link keeps the statement, and no page lists a non-match.
        first = buyer.get(
            "/2/footprints", params={"$filter": "pcf/geographyCountry eq 'DE'", "limit": 1}
        )
        assert [d["id"] for d in first.json()["data"]] == [ids["A"]]
        link = first.headers["link"].split(";")[0].strip("<>")
        assert "%24filter=" in link
        second = buyer.get(link)
        assert [d["id"] for d in second.json()["data"]] == [ids["E"]]
        assert "link" not in second.headers

        for statement, status, code in (
            (
                "pcf/geographyCountry eq 'DE' or created ge '2020-01-01T00:00:00Z'",
                400,
                "NotImplemented",
            ),
            ("created ne '2025-03-01T00:00:00Z'", 400, "NotImplemented"),
            ("productDescription eq 'LFP prismatic cell'", 400, "NotImplemented"),
            ("contains(productDescription, 'LFP')", 400, "NotImplemented"),
            ("created ge 'yesterday'", 400, "BadRequest"),
            ("pcf/geographyCountry eq 'DE", 400, "BadRequest"),
            ("(pcf/geographyCountry eq 'DE'", 400, "BadRequest"),
            ("", 400, "BadRequest"),
        ):
            answer = buyer.get("/2/footprints", params={"$filter": statement})
            assert (answer.status_code, answer.json()["code"]) == (status, code), statement
            assert answer.json()["message"]


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        (
            "(" * (MAX_NESTING + 1) + "created eq '2025-01-01T00:00:00Z'" + ")" * (MAX_NESTING + 1),
            Malformed,
        ),
        ("productIds/any(p:(p eq 'a')", Malformed),
        ("productIds/any(p eq 'a')", Malformed),
        ("productIds/any(p:q eq 'a')", Unsupported),
        ("productIds/any(p:p ne 'a')", Unsupported),
        ("pcf/any(p:p eq 'a')", Unsupported),
        ("created eq '2025-01-01T00:00:00Z' and", Malformed),
        ("not created eq '2025-01-01T00:00:00Z'", Unsupported),
        ("x" * 5000, Malformed),
    ],
)
def test_v2_filter_refusals_are_specific(statement: str, error: type[Exception]) -> None:
    """Deep nesting is refused before it can exhaust the stack; every refusal is one of
    the two errors the gateway maps to NotImplemented and BadRequest."""
    with pytest.raises(error):
        parse(statement)
