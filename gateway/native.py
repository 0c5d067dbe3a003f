"""The native ``/v1`` API: checkpoints and proofs (public), entries and instrument
retirements (per access rules).

Member and query parameter names are camelCase, as in the computed endpoints and PACT
(docs/api.md, "HTTP"): one convention across the gateway's JSON."""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel

from gateway.context import CallerDep, Services, ServicesDep
from gateway.errors import bad_request, error_responses, not_found
from gateway.index_checks import retired_by
from gateway.request_guard import Whole
from ledger.entries.carbon.instruments import split_serial
from ledger.entry_proof import entry_proof
from ledger.note import Checkpoint, note_text
from ledger.note.tlog_proof import PROOF_SUFFIX
from ledger.read.access import entry_access_in, now_us
from ledger.read.evidence import retirement_covering

router = APIRouter(prefix="/v1", tags=["native"])
_HEX32 = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_SIZE = 2**62


class InclusionProofOut(BaseModel):
    treeSize: int
    leafIndex: int
    proof: list[str]


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    proof: list[str]


class EntryOut(BaseModel):
    seq: int
    timestampUs: int
    entryId: str
    entryType: str
    orgId: str
    keyId: str
    signature: str
    prevChainHash: str
    entry: str  # base64 of the exact entry bytes
    entryHash: str
    leafHash: str
    chainHash: str
    inclusion: InclusionProofOut
    # The signer's public key (base64), as the log's identity entries introduced it; a
    # spot check verifies it hashes to ``keyId`` (which the signed leaf covers).
    signerPublicKey: str | None = None


class RetirementOut(BaseModel):
    registry: str
    serial: str
    seq: int
    entryId: str
    orgId: str
    first: str
    last: str


def _size_ok(svc: Any, size: int, name: str) -> int:
    current = svc.context.store.tree_size()
    if not 1 <= size <= current:
        raise bad_request(f"{name} must be between 1 and the current tree size {current}")
    return int(current)


@router.get("/checkpoint", response_class=PlainTextResponse, summary="Latest signed checkpoint")
def checkpoint(svc: ServicesDep) -> str:
    """The latest signed checkpoint (C2SP tlog-checkpoint, signed-note form) with the
    witness cosignatures received for it. Public."""
    return svc.context.checkpointer.latest_note()


@router.get(
    "/proofs/inclusion",
    response_model=InclusionProofOut,
    responses=error_responses(400, 404, 500),
    summary="RFC 9162 inclusion proof",
)
def inclusion(
    request: Request,
    svc: ServicesDep,
    leaf_hash: Annotated[str, Query(alias="leafHash", description="hex SHA-256 leaf hash")],
    tree_size: Annotated[Whole, Query(alias="treeSize", ge=1, le=MAX_SIZE)],
) -> InclusionProofOut:
    if not _HEX32.match(leaf_hash):
        raise bad_request("leafHash must be 64 hex digits")
    _size_ok(svc, tree_size, "treeSize")
    index = svc.context.store.seq_of_leaf(bytes.fromhex(leaf_hash))
    if index is None:
        raise not_found(request, "leaf")
    if index >= tree_size:
        raise bad_request(f"leaf {index} is not in a tree of size {tree_size}")
    proof = svc.context.records.leaf_inclusion_proof(index, tree_size)
    return InclusionProofOut(treeSize=tree_size, leafIndex=index, proof=[h.hex() for h in proof])


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyProofOut,
    responses=error_responses(400, 500),
    summary="RFC 9162 consistency proof",
)
def consistency(
    svc: ServicesDep,
    first: Annotated[Whole, Query(ge=1, le=MAX_SIZE)],
    second: Annotated[Whole, Query(ge=1, le=MAX_SIZE)],
) -> ConsistencyProofOut:
    _size_ok(svc, second, "second")
    if first > second:
        raise bad_request("consistency needs 0 < first <= second")
    proof = svc.context.records.consistency_proof(first, second)
    return ConsistencyProofOut(first=first, second=second, proof=[h.hex() for h in proof])


def _entry_visible(svc: Any, caller: Any, record: Any) -> bool:
    """The one access policy (``ledger.read.access``), as gRPC ``GetEntry`` applies it."""
    with svc.context.reads.read() as conn:
        return entry_access_in(conn, caller.reader, record, now_us(), svc.footprints.grants)


@router.get(
    "/entries/{seq}",
    response_model=EntryOut,
    responses=error_responses(400, 401, 403, 404, 500),
    summary="One record with its exact entry bytes and an inclusion proof",
)
def entry(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    seq: Annotated[Whole, Path(ge=0, le=MAX_SIZE)],
    tree_size: Annotated[
        Whole | None,
        Query(
            alias="treeSize", ge=1, le=MAX_SIZE, description="default: the latest checkpoint's size"
        ),
    ] = None,
) -> EntryOut:
    """Visible to the org that signed it, auditors and operators, detail-level grantees
    of a footprint, and the grantee of a grant."""
    record = svc.context.records.record(seq)
    if record is None or not _entry_visible(svc, caller, record):
        raise not_found(request, "entry")
    size = tree_size if tree_size is not None else svc.context.checkpointer.latest().size
    _size_ok(svc, size, "treeSize")
    if seq >= size:
        raise bad_request(f"entry {seq} is not in a tree of size {size}")
    proof = svc.context.records.inclusion_proof(record, size)
    return EntryOut(
        seq=record.seq,
        timestampUs=record.timestamp_us,
        entryId=record.entry_id,
        entryType=record.entry_type,
        orgId=record.org_id,
        keyId=record.key_id.hex(),
        signature=base64.b64encode(record.signature).decode(),
        prevChainHash=record.prev_chain_hash.hex(),
        entry=base64.b64encode(record.entry).decode(),
        entryHash=record.entry_hash.hex(),
        leafHash=record.leaf_hash.hex(),
        chainHash=record.chain_hash.hex(),
        inclusion=InclusionProofOut(treeSize=size, leafIndex=seq, proof=[h.hex() for h in proof]),
        signerPublicKey=_signer_public_key(svc, record.key_id),
    )


@router.get(
    "/entries/{seq}/proof",
    # Not PlainTextResponse: FastAPI would document the JSON error bodies as text/plain.
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}},
        **error_responses(400, 401, 403, 404, 500),
    },
    summary="The entry as a c2sp.org/tlog-proof@v1 bundle, verifiable offline",
)
def entry_proof_bundle(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    seq: Annotated[Whole, Path(ge=0, le=MAX_SIZE)],
) -> PlainTextResponse:
    """The record's leaf and exact entry bytes (``extra``), its inclusion proof, and the
    latest checkpoint with its witness cosignatures (``docs/ledger-format.md`` §8).
    Visible as ``/v1/entries/{seq}`` is."""
    record = svc.context.records.record(seq)
    if record is None or not _entry_visible(svc, caller, record):
        raise not_found(request, "entry")
    note = svc.context.checkpointer.latest_note()
    size = Checkpoint.parse(note_text(note)).size
    proof = svc.context.records.inclusion_proof(record, size)
    bundle = entry_proof(record.as_record(), record.entry, proof, note)
    return PlainTextResponse(
        bundle.to_text(),
        headers={"Content-Disposition": f'attachment; filename="{seq}{PROOF_SUFFIX}"'},
    )


def _signer_public_key(svc: Services, key_id: bytes) -> str | None:
    key = svc.context.identity().keys.get(key_id)
    return None if key is None else base64.b64encode(key.public_key).decode()


@router.get(
    "/instruments/{registry}/{serial}",
    response_model=RetirementOut,
    responses=error_responses(400, 401, 403, 404),
    summary="Which entry retired a certificate or credit serial",
)
def instrument(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    registry: Annotated[str, Path(max_length=64)],
    serial: Annotated[str, Path(max_length=100)],
) -> RetirementOut:
    """The retiring org and auditors see it; to anyone else, and for a serial never
    retired, the answer is NotFound."""
    try:
        prefix, number, width = split_serial(serial)
    except ValueError:
        raise bad_request(f"{serial!r} is not a serial (it must end with digits)") from None
    if width > 30:
        raise bad_request("the numeric part of a serial has at most 30 digits")
    digits = str(number).zfill(width)
    with svc.context.reads.read() as conn:
        row = retirement_covering(conn, registry, prefix, width, digits)
        if row is None or not caller.reader.sees_all_of(row.org_id):
            raise not_found(request, "retirement")
        first, last = prefix + row.first, prefix + row.last
        retired = svc.footprints.indexed_entry(
            conn,
            row.seq,
            "retirement",
            retired_by(row.org_id, registry, first, last),
        )
    return RetirementOut(
        registry=registry,
        serial=serial,
        seq=row.seq,
        entryId=retired["entryId"],
        orgId=row.org_id,
        first=first,
        last=last,
    )
