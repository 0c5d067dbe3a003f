"""The gateway's own tables: API clients, asynchronous PACT requests, the callback
outbox and the credentials the gateway uses at requesters' event endpoints.

They live in the ledger's database (never only in process memory), so several
gateway processes sharing one database share them, and a restart loses nothing.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

_URN = 512


class ApiClientRow(SQLModel, table=True):
    """An OAuth2 client of an enrolled org; only an argon2id hash of the secret is kept."""

    __tablename__ = "gw_api_client"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    org_id: str = Field(sa_column=Column(String(_URN), nullable=False, index=True))
    secret_hash: str = Field(sa_column=Column(String(256), nullable=False))
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class ApiClientBindingRow(SQLModel, table=True):
    """A client's org and secret hash bound to the gateway key (``gateway.auth``): a
    client row an insider wrote or re-pointed has no valid binding and is refused."""

    __tablename__ = "gw_api_client_binding"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    mac: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class RevokedClientRow(SQLModel, table=True):
    """A revoked API client. Its ``gw_api_client`` row is gone (no new tokens); this row
    lets every gateway process refuse the tokens it was issued before."""

    __tablename__ = "gw_revoked_client"

    client_id: str = Field(sa_column=Column(String(64), primary_key=True))
    org_id: str = Field(sa_column=Column(String(_URN), nullable=False))
    revoked_us: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))


class AsyncRequestRow(SQLModel, table=True):
    """A PACT ``RequestCreatedEvent`` received from a requester."""

    __tablename__ = "gw_async_request"
    __table_args__ = (
        Index("ix_gw_async_request_requester", "requester", "event_id"),
        Index("ix_gw_async_request_requester_state", "requester", "state"),
        # The fulfilment worker pages through open requests in creation order.
        Index("ix_gw_async_request_open", "state", "created_us", "request_id"),
    )

    request_id: str = Field(sa_column=Column(String(64), primary_key=True))
    event_id: str = Field(sa_column=Column(String(256), nullable=False))
    requester: str = Field(sa_column=Column(String(_URN), nullable=False))
    criteria: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    state: str = Field(sa_column=Column(String(16), nullable=False))  # open|fulfilled|rejected
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class CallbackRow(SQLModel, table=True):
    """An event to POST to a requester's events endpoint, retried with backoff."""

    __tablename__ = "gw_callback"
    __table_args__ = (Index("ix_gw_callback_due", "state", "next_attempt_us"),)

    callback_id: str = Field(sa_column=Column(String(64), primary_key=True))
    requester: str = Field(sa_column=Column(String(_URN), nullable=False))
    event: str = Field(sa_column=Column(Text, nullable=False))  # the CloudEvent, JSON
    state: str = Field(sa_column=Column(String(16), nullable=False))  # pending|delivered|failed
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_attempt_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    lease_until_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_error: str | None = Field(sa_column=Column(Text, nullable=True))
    created_us: int = Field(sa_column=Column(BigInteger, nullable=False))


class CallbackCredentialRow(SQLModel, table=True):
    """Where and how to deliver events to a requester org: its PACT events endpoint,
    its token endpoint, and the client credentials it issued to this ledger. The
    secret is encrypted (AES-GCM) with a key from the data directory."""

    __tablename__ = "gw_callback_credential"

    org_id: str = Field(sa_column=Column(String(_URN), primary_key=True))
    events_url: str = Field(sa_column=Column(String(2048), nullable=False))
    token_url: str = Field(sa_column=Column(String(2048), nullable=False))
    client_id: str = Field(sa_column=Column(String(256), nullable=False))
    secret_nonce: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    secret_box: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class GatewayKeyRow(SQLModel, table=True):
    """Which ``gateway.key`` signs this database's tokens: an HMAC of a fixed label under
    the key (never the key), written by the first gateway process that starts."""

    __tablename__ = "gw_key"

    slot: int = Field(sa_column=Column(Integer, primary_key=True))
    key_id: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


TABLES = [
    ApiClientRow,
    ApiClientBindingRow,
    GatewayKeyRow,
    RevokedClientRow,
    AsyncRequestRow,
    CallbackRow,
    CallbackCredentialRow,
]
