"""Carbon-data entry types: footprints, factor sets, instrument retirements,
attestations, grants, activity data, targets, inventories and sites.

Importing this package registers the types with ``ledger.entries.base``, so
``parse_entry`` knows them. The PACT v3.0 models are in ``.pact``.
"""

from ledger.entries.carbon import (
    activity,
    attestation,
    factors,
    footprint,
    grants,
    instruments,
    pact,
    sites,
    targets,
)
from ledger.entries.carbon.activity import ActivityBatch, KeyAdd
from ledger.entries.carbon.attestation import Attestation
from ledger.entries.carbon.factors import FactorsPublish, load_default_factors
from ledger.entries.carbon.footprint import Footprint, FootprintDeprecate
from ledger.entries.carbon.grants import Grant, GrantRevoke
from ledger.entries.carbon.instruments import (
    InstrumentRetire,
    RetiredRange,
    serial_ranges_overlap,
)
from ledger.entries.carbon.pact import CarbonFootprint, ProductFootprint
from ledger.entries.carbon.sites import SiteAttestation, SiteEnroll
from ledger.entries.carbon.targets import Inventory, Target

# The entry types this package registers.
CARBON_TYPES: frozenset[str] = frozenset(
    {
        "footprint",
        "footprint.deprecate",
        "factors.publish",
        "instrument.retire",
        "attestation",
        "grant",
        "grant.revoke",
        "activity.batch",
        "key.add",
        "target",
        "inventory",
        "site.enroll",
        "site.attestation",
    }
)

__all__ = [
    "CARBON_TYPES",
    "ActivityBatch",
    "Attestation",
    "CarbonFootprint",
    "FactorsPublish",
    "Footprint",
    "FootprintDeprecate",
    "Grant",
    "GrantRevoke",
    "InstrumentRetire",
    "Inventory",
    "KeyAdd",
    "ProductFootprint",
    "RetiredRange",
    "SiteAttestation",
    "SiteEnroll",
    "Target",
    "activity",
    "attestation",
    "factors",
    "footprint",
    "grants",
    "instruments",
    "load_default_factors",
    "pact",
    "serial_ranges_overlap",
    "sites",
    "targets",
]
