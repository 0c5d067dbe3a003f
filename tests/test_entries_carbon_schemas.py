"""Committed JSON Schemas in docs/schemas equal what the models produce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.entries.base import ENTRY_TYPES
from ledger.entries.carbon import CARBON_TYPES
from ledger.entries.carbon.schemas import entry_schema, main, schema_text, write_schemas
from ledger.entries.identity import IDENTITY_TYPES
from tests.test_entries_carbon import example

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"
DOCUMENTED = sorted(CARBON_TYPES | IDENTITY_TYPES)


@pytest.mark.parametrize("type_name", DOCUMENTED)
def test_committed_schema_matches_models(type_name: str) -> None:
    path = SCHEMAS / f"{type_name}.schema.json"
    assert path.is_file(), (
        f"missing {path}: run python -m ledger.entries.carbon.schemas docs/schemas"
    )
    assert path.read_text(encoding="utf-8") == schema_text(type_name), (
        f"{path} is stale: run python -m ledger.entries.carbon.schemas docs/schemas"
    )


def test_schema_names_type_and_signers() -> None:
    schema = entry_schema("instrument.retire")
    assert schema["title"] == "instrument.retire"
    assert schema["x-signerRoles"] == ["buyer", "supplier"]
    assert schema["properties"]["type"]["const"] == "instrument.retire"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {"type", "entryId", "org", "serials", "quantity"}


def test_write_schemas_writes_every_registered_type(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "out")
    assert {p.name for p in written} == {f"{n}.schema.json" for n in ENTRY_TYPES}
    assert json.loads((tmp_path / "out" / "footprint.schema.json").read_text())["title"] == (
        "footprint"
    )


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 0
    assert "grant.revoke.schema.json" in capsys.readouterr().out
    assert main([]) == 2


def test_example_validates_against_committed_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "footprint.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(example(), schema)
    bad = example()
    bad["footprint"]["pcf"]["declaredUnitAmount"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_entry_types_doc_has_a_section_per_type() -> None:
    doc = (SCHEMAS.parent / "entry-types.md").read_text(encoding="utf-8")
    headings = {line[4:].strip("` ") for line in doc.splitlines() if line.startswith("### ")}
    assert headings == set(DOCUMENTED)
