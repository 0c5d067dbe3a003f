"""JSON Schemas of the entry types, generated from the models.

``python -m ledger.entries.carbon.schemas docs/schemas`` (re)writes one
``<type>.schema.json`` per registered entry type; a test fails when a committed
file differs from what the models produce.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ledger.entries import carbon, identity
from ledger.entries.base import ENTRY_TYPES

# Importing these modules registers their types.
_REGISTERING = (carbon, identity)

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def entry_schema(type_name: str) -> dict[str, Any]:
    """The JSON Schema of one registered entry type."""
    model = ENTRY_TYPES[type_name]
    schema = model.model_json_schema()
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = type_name
    schema["x-signerRoles"] = sorted(model.signer_roles)
    return schema


def schema_text(type_name: str) -> str:
    """The exact file content written for ``type_name``."""
    return json.dumps(entry_schema(type_name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: str | Path) -> list[Path]:
    """Write ``<type>.schema.json`` for every registered type; return the paths written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(ENTRY_TYPES):
        path = out / f"{name}.schema.json"
        path.write_text(schema_text(name), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ledger.entries.carbon.schemas DIRECTORY", file=sys.stderr)
        return 2
    for path in write_schemas(args[0]):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
