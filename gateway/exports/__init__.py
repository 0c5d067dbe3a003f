"""Exports of footprints into other published data models, one mapping per module.

Each mapping is a plain function from what the gateway already serves (the PACT
ProductFootprint, the computed footprint and the entry's battery facts) to the target
model's JSON; the route module (``gateway.exports_api``) only checks access and picks the
mapping. A footprint a model cannot express raises :class:`NotExportable`, which the
route answers with 422 naming what is missing or out of the model's range. Numbers are
written by ``gateway.quantities.number`` (12 significant digits), as every quantity the
gateway serves.
"""

from __future__ import annotations


class NotExportable(ValueError):
    """The footprint has no faithful form in the requested data model (the message says
    why, naming the member)."""
