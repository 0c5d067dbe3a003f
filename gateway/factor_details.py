"""What each published emission factor states, for the factor lines of contribution trees.

The footprint engine keeps only a factor's value and unit; a buyer reading a tree also
needs what the publisher stated beside them: which gases the value counts, its basis,
region, year, method and source. This index is filled from the same ``factors.publish``
entries the engine reads and keyed by the factor's tree label
(``graph.supply_graph.factor_label``). Published versions are immutable, so an entry
seen again (when the engine is rebuilt from the log) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graph.model import FactorRef
from graph.supply_graph import factor_label
from ledger.entries import Entry
from ledger.entries.carbon.factors import FactorsPublish


class FactorDetails:
    def __init__(self) -> None:
        self._by_label: dict[str, dict[str, Any]] = {}

    def add(self, entries: Iterable[Entry]) -> None:
        """Index the factors of every ``factors.publish`` among ``entries``."""
        for entry in entries:
            if not isinstance(entry, FactorsPublish):
                continue
            for f in entry.factors:
                label = factor_label(FactorRef(entry.setId, entry.version, f.key))
                self._by_label.setdefault(
                    label,
                    {
                        "setId": entry.setId,
                        "version": entry.version,
                        "key": f.key,
                        "publisher": entry.publisher,
                        "value": f.value,
                        "unit": f.unit,
                        "gasCoverage": f.gasCoverage,
                        "basis": f.basis,
                        "region": f.region,
                        "year": f.year,
                        "method": f.method,
                        "source": f.source,
                    },
                )

    def of(self, label: str) -> dict[str, Any] | None:
        """What the factor of a tree line labelled ``label`` states, if it was published."""
        return self._by_label.get(label)
