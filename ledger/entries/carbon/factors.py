"""``factors.publish``: a versioned set of emission factors for secondary data.

Each factor is kgCO2e (or kgCO2 where ``gasCoverage`` or the method says so) per
one ``unit`` of activity, with the region, year, basis, gases, method and source
recorded beside the value, so a footprint citing ``{setId, version, key}`` can be audited.
``load_default_factors()`` returns the shipped ``cn-default`` set as a
``factors.publish`` body.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Annotated, Any, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from ledger.entries.base import Entry, Text, entry_type
from ledger.entries.carbon.common import (
    DecimalString,
    Slug,
    Strict,
    Year,
    fail,
    first_duplicate,
)
from ledger.entries.carbon.footprint import FactorVersion, Unit

# ISO 3166-1 alpha-2 (or ISO 3166-2 subdivision, or GLO for global), optionally
# narrowed by a lowercase suffix such as "CN:north-china-grid".
Region = Annotated[
    str,
    StringConstraints(pattern=r"^([A-Z]{2}(-[A-Z0-9]{1,3})?|GLO)(:[a-z0-9][a-z0-9-]{0,39})?$"),
]
# Which greenhouse gases the value counts: ``CO2`` (carbon dioxide alone, as many grid and
# combustion factors are) or ``CO2e`` (all greenhouse gases as CO2 equivalents). Optional
# for sets published before it existed; a reader then has only the method text to go by.
GasCoverage = Literal["CO2", "CO2e"]
# What the value covers: keep the basis, grid factors on different bases differ widely.
Basis = Literal[
    "grid-average",
    "residual-mix",
    "supplier-specific",
    "displaced",
    "combustion",
    "purchased-heat",
    "life-cycle",
    "transport-average",
]

DEFAULT_FACTORS_RESOURCE = "default_factors.json"


class Factor(Strict):
    key: Slug
    value: DecimalString
    unit: Unit
    region: Region
    year: Year
    basis: Basis
    method: Text
    source: Text
    gasCoverage: GasCoverage | None = None


def _check_unique_keys(factors: list[Factor]) -> None:
    index = first_duplicate(f.key for f in factors)
    if index is not None:
        key = factors[index].key
        raise fail(("factors", index, "key"), f"duplicate factor key {key!r}", key)


class FactorSetBody(Strict):
    """The members of a factor set (shared by the entry and the default-set file)."""

    setId: Slug
    version: FactorVersion
    name: Text
    publisher: Text
    factors: Annotated[list[Factor], Field(min_length=1, max_length=10000)]

    @model_validator(mode="after")
    def _unique_keys(self) -> Self:
        _check_unique_keys(self.factors)
        return self


@entry_type("factors.publish", signer_roles={"operator", "publisher"})
class FactorsPublish(Entry, FactorSetBody):
    """An operator or publisher publishes one version of a factor set."""

    type: Literal["factors.publish"]


def load_default_factors() -> dict[str, Any]:
    """The shipped default factor set (``cn-default`` 2024.1) as a ``factors.publish`` body.

    The body has every member but the envelope (``type``, ``entryId``, ``org``);
    add those, sign, and submit. It is validated before it is returned.
    """
    text = (
        resources.files("ledger.entries.carbon")
        .joinpath(DEFAULT_FACTORS_RESOURCE)
        .read_text(encoding="utf-8")
    )
    body: dict[str, Any] = json.loads(text)
    FactorSetBody.model_validate(body)
    return body
