"""``/v1/footprints/{id}/catenax-pcf`` and ``carbonledger export catenax-pcf``: a PACT
footprint as the Catena-X PCF 9.0.0 aspect, through a real ledger and gateway on both
backends, validated against the published schema, with PACT's access rules."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from gateway.exports import NotExportable
from gateway.exports.catenax_pcf import catenax_pcf
from tests import export_schemas
from tests.cli_process import run_cli
from tests.ledger_fixtures import BUYER, SUPPLIER
from tests.test_gateway_support import OTHER_BUYER, environment, footprint_entry

CELL = "urn:pact:product:recycler-a:lfp-cell"


def _rich(preceding: str) -> dict[str, Any]:
    """A footprint using most optional PACT members, succeeding ``preceding``."""
    entry = footprint_entry(
        SUPPLIER,
        CELL,
        preceding=[preceding],
        geography=("geographyCountrySubdivision", "DE-BY"),
        validity=("2025-02-01T00:00:00Z", "2026-02-01T00:00:00Z"),
        unit="kilogram",
    )
    fp = entry["footprint"]
    fp["comment"] = "Cell line 2"
    fp["pcf"].update(
        {
            "pcfExcludingBiogenicUptake": "71.4",
            "pcfIncludingBiogenicUptake": "70.9",
            "biogenicCO2Uptake": "-0.5",
            "biogenicNonCO2Emissions": "0.1",
            "landUseChangeGhgEmissions": "0.2",
            "landManagementBiogenicCO2Emissions": "0.3",
            "landManagementBiogenicCO2Removals": "-0.4",
            "aircraftGhgEmissions": "0.05",
            "recycledCarbonContent": "0.6",
            "packagingEmissionsIncluded": True,
            "packagingGhgEmissions": "0.7",
            "packagingBiogenicCarbonContent": "0.01",
            "exemptedEmissionsPercent": "2.5",
            "exemptedEmissionsDescription": "Office supplies",
            "ipccCharacterizationFactors": ["AR6", "AR5"],
            "secondaryEmissionFactorSources": [{"name": "ecoinvent", "version": "3.10"}],
            "productOrSectorSpecificRules": [
                {"operator": "PEF", "ruleNames": ["PEFCR batteries 2025"]},
                {"operator": "Other", "otherOperatorName": "TfS", "ruleNames": ["PCF Guideline"]},
            ],
        }
    )
    return entry


def test_footprints_as_catenax_pcf(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        first = footprint_entry(SUPPLIER, CELL, unit="kilogram")
        env.submit(SUPPLIER, first)
        first_id = first["footprint"]["id"]
        rich = _rich(first_id)
        env.submit(SUPPLIER, rich)
        rich_id = rich["footprint"]["id"]
        for fid in (first_id, rich_id):
            env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
        with env.client(BUYER) as buyer:
            old = buyer.get(f"/v1/footprints/{first_id}/catenax-pcf").json()
            new = buyer.get(f"/v1/footprints/{rich_id}/catenax-pcf").json()
        for doc in (old, new):
            assert export_schemas.errors(export_schemas.catenax_pcf(), doc) == []

        # The superseded footprint: deprecated, the PACT default validity spelled out.
        (info,) = old["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"]
        assert info["idAndVersion"] == [
            {
                "id": first_id,
                "version": 1,
                "status": "Deprecated",
                "retroOrProspectivePcfType": "Retrospective PCF",
            }
        ]
        assert info["time"] == [
            {
                "referencePeriodStart": "2024-01-01T00:00:00Z",
                "referencePeriodEnd": "2025-01-01T00:00:00Z",
                "created": "2025-03-01T00:00:00Z",
                "validityPeriodStart": "2025-01-01T00:00:00Z",
                "validityPeriodEnd": "2028-01-01T00:00:00+00:00",
            }
        ]
        assert info["geography"] == [
            {"geographyRegionOrSubregion": "Eastern Asia", "geographyCountry": "CN"}
        ]

        assessment = new["pcfAssessmentAndMethodology"][0]
        (info,) = assessment["pcfAssessmentInformation"]
        assert info["idAndVersion"][0]["precedingPfIds"] == [{"id": first_id}]
        assert info["idAndVersion"][0]["status"] == "Active"
        assert info["geography"] == [
            {
                "geographyRegionOrSubregion": "Western Europe",
                "geographyCountry": "DE",
                "geographyCountrySubdivision": "DE-BY",
            }
        ]
        assert info["time"][0]["validityPeriodEnd"] == "2026-02-01T00:00:00Z"
        assert info["boundarySpecifications"] == [
            {"exemptedEmissionsPercent": 2.5, "exemptedEmissionsDescription": "Office supplies"}
        ]
        assert info["technology"] == [
            {
                "ccsTechnologicalCO2CaptureIncluded": False,
                "boundaryProcessesDescription": "Cradle to gate",
            }
        ]
        assert assessment["dataSourcesAndQuality"] == [
            {
                "primaryDataShare": 62.5,
                "technologicalDQR": 1.8,
                "temporalDQR": 1.2,
                "geographicalDQR": 1.5,
                "secondaryEmissionFactorSources": ["ecoinvent 3.10"],
            }
        ]
        (method,) = assessment["pcfMethodology"]
        assert method["standards"] == [
            {
                "crossSectoralStandards": ["ISO14067", "PACT-3.0"],
                "productOrSectorSpecificRules": ["PEF: PEFCR batteries 2025", "TfS: PCF Guideline"],
            }
        ]
        assert method["gwpCharacterizationFactorDetails"] == [
            {"ipccCharacterizationFactors": "AR6"},
            {"ipccCharacterizationFactors": "AR5"},
        ]
        assert new["companyAndProductInformation"] == [
            {
                "companyInformation": [{"companyName": "recycler-a", "companyIds": [SUPPLIER]}],
                "productInformation": [
                    {
                        "productNameCompany": "LFP-280",
                        "productIds": [CELL],
                        "declaredUnitOfMeasurement": "kilogram",
                        "declaredUnitAmount": 1.0,
                        "productMassPerDeclaredUnit": 1.0,
                        "productDescription": "LFP prismatic cell",
                        "productClassifications": ["urn:pact:productclassification:un-cpc:46410"],
                    }
                ],
            }
        ]
        assert new["productLifeCycleStagesAndEmissions"] == [
            {
                "productionStage": [
                    {
                        "pcfIncludingBiogenicUptake": 70.9,
                        "pcfExcludingBiogenicUptake": 71.4,
                        "fossilGhgEmissions": 71.4,
                        "biogenicNonCO2Emissions": 0.1,
                        "biogenicCO2Uptake": -0.5,
                        "landUseChangeGhgEmissions": 0.2,
                        "landManagementBiogenicCO2Emissions": 0.3,
                        "landManagementBiogenicCO2Removals": -0.4,
                        "aircraftGhgEmissions": 0.05,
                    }
                ],
                "distributionStage": [{"distributionStageIncluded": False}],
                "packagingStage": [
                    {"packagingEmissionsIncluded": True, "packagingPcfExcludingBiogenicUptake": 0.7}
                ],
            }
        ]
        assert new["carbonContent"] == [
            {
                "fossilCarbonContent": 0.0,
                "biogenicCarbonContent": 0.0,
                "recycledCarbonContent": 0.6,
                "packagingBiogenicCarbonContent": 0.01,
            }
        ]
        assert new["general"] == [{"comment": "Cell line 2"}]
        assert new["scopeOfPcfForm"] == [
            {
                "specVersion": "urn:io.catenax.pcf:datamodel:version:9.0.0",
                "partialFullPcf": "Cradle-to-gate",
            }
        ]


def test_access_and_refusals(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        cell = footprint_entry(SUPPLIER, CELL)
        env.submit(SUPPLIER, cell)
        fid = cell["footprint"]["id"]
        stream = footprint_entry(
            SUPPLIER, "urn:pact:product:recycler-a:telemetry", unit="megabit second"
        )
        env.submit(SUPPLIER, stream)
        exempt = footprint_entry(SUPPLIER, "urn:pact:product:recycler-a:copper")
        exempt["footprint"]["pcf"]["exemptedEmissionsPercent"] = "12"
        env.submit(SUPPLIER, exempt)
        with env.client(OTHER_BUYER) as other, env.client(SUPPLIER) as owner:
            hidden = other.get(f"/v1/footprints/{fid}/catenax-pcf")
            missing = other.get(f"/v1/footprints/{uuid.uuid4()}/catenax-pcf")
            assert (hidden.status_code, hidden.text) == (missing.status_code, missing.text)
            assert hidden.status_code == 404 and hidden.json()["code"] == "NotFound"
            for entry, says in (
                (stream, "no declared unit 'megabit second'"),
                (exempt, "at most 10 % exempted emissions, not 12"),
            ):
                refused = owner.get(f"/v1/footprints/{entry['footprint']['id']}/catenax-pcf")
                assert refused.status_code == 422, refused.text
                assert refused.json()["code"] == "NotExportable"
                assert says in refused.json()["message"]
            assert owner.get("/v1/footprints/not-a-uuid/catenax-pcf").status_code == 400


@pytest.mark.parametrize(
    ("geography", "expected"),
    [
        ({}, {"geographyRegionOrSubregion": "Global"}),
        (
            {"geographyRegionOrSubregion": "Northern Europe"},
            {"geographyRegionOrSubregion": "Northern Europe"},
        ),
        (
            {"geographyCountry": "BR"},
            {
                "geographyRegionOrSubregion": "Latin America and the Caribbean",
                "geographyCountry": "BR",
            },
        ),
    ],
)
def test_geography_always_names_a_region(
    geography: dict[str, str], expected: dict[str, str]
) -> None:
    doc = footprint_entry(SUPPLIER, CELL)["footprint"]
    del doc["pcf"]["geographyCountry"]
    doc["pcf"].update(geography)
    out = catenax_pcf(doc)
    assert export_schemas.errors(export_schemas.catenax_pcf(), out) == []
    info = out["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]
    assert info["geography"] == [expected]


def test_a_country_outside_m49_is_not_exportable() -> None:
    doc = footprint_entry(SUPPLIER, CELL, geography=("geographyCountry", "ZZ"))["footprint"]
    with pytest.raises(NotExportable, match="'ZZ' is not a country of a UN M49 sub-region"):
        catenax_pcf(doc)


def test_cli_export_catenax_pcf(tmp_path: Path, db_url: str) -> None:
    with environment(tmp_path, db_url) as env:
        cell = footprint_entry(SUPPLIER, CELL)
        env.submit(SUPPLIER, cell)
        fid = cell["footprint"]["id"]
        env.grant(SUPPLIER, BUYER, "summary", footprintId=fid)
        client_id, secret = env.credentials(BUYER)
        login = ["--gateway", env.url, "--client-id", client_id, "--client-secret", secret]
        done = run_cli("export", "catenax-pcf", fid, *login)
        assert done.returncode == 0, done.stderr
        printed = json.loads(done.stdout)
        assert export_schemas.errors(export_schemas.catenax_pcf(), printed) == []
        with env.client(BUYER) as buyer:
            assert printed == buyer.get(f"/v1/footprints/{fid}/catenax-pcf").json()
        missing = run_cli("export", "catenax-pcf", str(uuid.uuid4()), *login)
        assert missing.returncode == 1 and missing.stdout == ""
        assert "NotFound: no such footprint" in missing.stderr
