"""Index tables derived from the log: what the rules and the gateway look up.

They are written in the same transaction as the records they derive from, so
they never disagree with the log. They hold no information the log does not:
an auditor rebuilds the same facts by replaying entries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnClause
from sqlmodel import Field, SQLModel

from ledger.store.stored_types import check_stored_types

_URN = 512


class FootprintRow(SQLModel, table=True):
    __tablename__ = "footprint"
    # An org's own footprints in log order: a supplier's listing pages through the
    # index instead of sorting all its footprints for every page.
    __table_args__ = (Index("ix_footprint_org_seq", "org_id", "seq"),)

    footprint_id: str = Field(sa_column=Column(String(36), primary_key=True))
    # Not indexed: a footprint is found by entry id or leaf hash through the record's
    # own indexes and ``seq`` (``ledger.store.log.seq_of_entry``), which saves two
    # random-key index writes per footprint recorded.
    entry_id: str = Field(sa_column=Column(String(36), nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    org_id: str = Field(sa_column=Column(String(_URN), nullable=False))
    batch_id: str | None = Field(sa_column=Column(String(128), nullable=True))
    declared_unit: str = Field(sa_column=Column(String(64), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))
    deprecated_seq: int | None = Field(sa_column=Column(BigInteger, nullable=True))


# The condition "the link is active", written as ``ux_footprint_product_active``'s
# predicate is. A query must say it this way to use that partial index: SQLite matches
# the terms structurally, and ``active.is_(True)`` (rendered ``active IS 1``) or
# ``active = 1`` do not match ``active``, so the lookup became a full table scan.
# (Untyped on purpose: typed Boolean, SQLAlchemy renders it ``active = 1`` on SQLite.)
FOOTPRINT_PRODUCT_ACTIVE: ColumnClause[Any] = literal_column("footprint_product.active")


class FootprintProductRow(SQLModel, table=True):
    """One row per (footprint, product id, company id). The partial unique index is
    the database's own guard that an org has at most one active footprint per product,
    company and batch. It is per org: nothing another org records blocks an org's own
    product (and a company id is bound to one org, so only its owner's answers
    citations of it)."""

    __tablename__ = "footprint_product"
    __table_args__ = (
        Index(
            "ux_footprint_product_active",
            "org_id",
            "product_id",
            "company_id",
            "batch_key",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index("ix_footprint_product_org", "org_id", "product_id"),
        # PACT's productId/companyId filters compare case-insensitively.
        Index("ix_footprint_product_product_ci", text("lower(product_id)")),
        Index("ix_footprint_product_company_ci", text("lower(company_id)")),
    )

    footprint_id: str = Field(sa_column=Column(String(36), primary_key=True))
    product_id: str = Field(sa_column=Column(String(_URN), primary_key=True))
    company_id: str = Field(sa_column=Column(String(_URN), primary_key=True))
    batch_key: str = Field(sa_column=Column(String(128), nullable=False))  # "" when no batch
    org_id: str = Field(sa_column=Column(String(_URN), nullable=False))
    active: bool = Field(sa_column=Column(Boolean, nullable=False))


class FactorSetRow(SQLModel, table=True):
    __tablename__ = "factor_set"

    set_id: str = Field(sa_column=Column(String(64), primary_key=True))
    version: str = Field(sa_column=Column(String(32), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class FactorRow(SQLModel, table=True):
    __tablename__ = "factor"

    set_id: str = Field(sa_column=Column(String(64), primary_key=True))
    version: str = Field(sa_column=Column(String(32), primary_key=True))
    key: str = Field(sa_column=Column(String(64), primary_key=True))
    unit: str = Field(sa_column=Column(String(64), nullable=False))
    value: str = Field(sa_column=Column(String(64), nullable=False))


class RetirementRow(SQLModel, table=True):
    __tablename__ = "retirement"
    __table_args__ = (Index("ix_retirement_span", "registry", "prefix", "width", "first"),)

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    registry_name: str = Field(sa_column=Column("registry", String(64), nullable=False))
    prefix: str = Field(sa_column=Column(String(64), nullable=False))
    width: int = Field(sa_column=Column(Integer, nullable=False))
    first: str = Field(sa_column=Column(String(30), nullable=False))
    last: str = Field(sa_column=Column(String(30), nullable=False))
    org_id: str = Field(sa_column=Column(String(_URN), nullable=False, index=True))


class RetirementBeneficiaryRow(SQLModel, table=True):
    """A footprint a retirement names as beneficiary, so a footprint's retirements are
    found by one index probe instead of reading every retirement."""

    __tablename__ = "retirement_beneficiary"
    __table_args__ = (Index("ix_retirement_beneficiary_seq", "seq"),)

    footprint_id: str = Field(sa_column=Column(String(36), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class AttestationRow(SQLModel, table=True):
    __tablename__ = "attestation"

    entry_id: str = Field(sa_column=Column(String(36), primary_key=True))
    footprint_id: str = Field(sa_column=Column(String(36), nullable=False, index=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    org_id: str = Field(sa_column=Column(String(_URN), nullable=False))


class GrantRow(SQLModel, table=True):
    __tablename__ = "access_grant"
    # One probe for "which grants did this grantor give this grantee": citation consent
    # (ledger.rules) and inventory consent (ledger.read.access).
    __table_args__ = (Index("ix_access_grant_pair", "grantee", "grantor", "inventory"),)

    entry_id: str = Field(sa_column=Column(String(36), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    grantor: str = Field(sa_column=Column(String(_URN), nullable=False, index=True))
    grantee: str = Field(sa_column=Column(String(_URN), nullable=False, index=True))
    footprint_id: str | None = Field(sa_column=Column(String(36), nullable=True, index=True))
    product_id: str | None = Field(sa_column=Column(String(_URN), nullable=True))
    level: str | None = Field(sa_column=Column(String(16), nullable=True))  # None: inventory
    inventory: bool = Field(sa_column=Column(Boolean, nullable=False))
    # The signed validity window in UTC microseconds since the epoch (until exclusive),
    # so readers never re-parse the grant entry to apply it.
    valid_from_us: int | None = Field(sa_column=Column(BigInteger, nullable=True))
    valid_until_us: int | None = Field(sa_column=Column(BigInteger, nullable=True))
    revoked_seq: int | None = Field(sa_column=Column(BigInteger, nullable=True))


class TargetRow(SQLModel, table=True):
    """A buyer's ``target`` by the supplier it names, so a supplier's progress reads
    the targets for it without parsing every target on the ledger."""

    __tablename__ = "target"
    __table_args__ = (Index("ix_target_supplier", "supplier", "buyer", "seq"),)

    entry_id: str = Field(sa_column=Column(String(36), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    buyer: str = Field(sa_column=Column(String(_URN), nullable=False))
    supplier: str = Field(sa_column=Column(String(_URN), nullable=False))


class ActivityBatchRow(SQLModel, table=True):
    __tablename__ = "activity_batch"

    entry_id: str = Field(sa_column=Column(String(36), primary_key=True))
    org_id: str = Field(sa_column=Column(String(_URN), nullable=False, index=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class SiteRow(SQLModel, table=True):
    """An enrolled site (``site.enroll``) and the org that owns it."""

    __tablename__ = "site"

    site: str = Field(sa_column=Column(String(_URN), primary_key=True))
    # Indexed: a buyer's programme view lists each supplier's sites.
    org_id: str = Field(sa_column=Column(String(_URN), nullable=False, index=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class SiteInputRow(SQLModel, table=True):
    """An entry a site's year refers to (``ledger.rules.view.SiteInput``): a site's
    zero-carbon evaluation finds its inventories, retirements, generation readings and
    attestations for a year by one probe of the primary key, not by reading the log."""

    __tablename__ = "site_input"

    site: str = Field(sa_column=Column(String(_URN), primary_key=True))
    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    kind: str = Field(sa_column=Column(String(32), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class SiteGenerationRow(SQLModel, table=True):
    """A span of time a site's generation meter was read over, by the batch at ``seq``
    (``ledger.rules.view.GenerationSpan``): a meter's spans at a site never overlap, and
    the rules find the ones near a new batch's by two probes of the primary key."""

    __tablename__ = "site_generation"

    site: str = Field(sa_column=Column(String(_URN), primary_key=True))
    meter_id: str = Field(sa_column=Column(String(128), primary_key=True))
    start_us: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    end_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))


for _mapper in SQLModel._sa_registry.mappers:
    if _mapper.class_.__module__ == __name__ and isinstance(_mapper.local_table, Table):
        check_stored_types(_mapper.local_table)
