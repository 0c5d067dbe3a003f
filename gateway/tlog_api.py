"""The log as C2SP tlog-tiles under ``/tlog``: the checkpoint and hash tiles
(public: hashes only, like the ``/v1`` proofs), and entry bundles (the records'
leaves reveal key ids, timestamps and signatures, so a bundle is served only to a
caller who may read every record in it, per ``ledger.read.access``).

Tiles are bounded by the latest stored checkpoint: a client that fetched
``/tlog/checkpoint`` finds every tile that checkpoint implies, and a tile beyond it
is 404. Full tiles never change (cached for a year, ``immutable``); a partial tile
is cached briefly, since the log MAY drop it once the full tile exists. Bundles
carry per-caller content, so only private caches may keep them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse, Response

from gateway.auth import Caller
from gateway.context import CallerDep, Services, ServicesDep
from gateway.errors import access_denied, bad_request, error_responses, not_found
from ledger.read.access import entry_access_in, now_us
from ledger.read.verified_tiles import bundle_bytes
from ledger.store.log import StoredRecord
from ledger.tiles import ENTRIES, TileID, TilePathError, parse_tile_path
from ledger.tiles.hash_tile import exists_at

router = APIRouter(prefix="/tlog", tags=["tlog-tiles"])

IMMUTABLE = "max-age=31536000, immutable"
PARTIAL = "max-age=60"
_OCTETS: dict[int | str, dict[str, Any]] = {200: {"content": {"application/octet-stream": {}}}}
_TilePath = Annotated[str, Path(description="<N>[.p/<W>], N as x-prefixed 3-digit elements")]


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    summary="Latest signed checkpoint (C2SP tlog-checkpoint) with witness cosignatures",
)
def checkpoint(svc: ServicesDep) -> PlainTextResponse:
    """The same note as ``/v1/checkpoint``; not cached (it changes as the log grows)."""
    note = svc.context.checkpointer.latest_note()
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


@router.get(
    f"/tile/{ENTRIES}/{{tile_path:path}}",
    response_class=Response,
    responses={**_OCTETS, **error_responses(400, 401, 403, 404, 500)},
    summary="Entry bundle: the 177-byte record leaves of a level-0 tile",
)
def bundle(request: Request, caller: CallerDep, svc: ServicesDep, tile_path: _TilePath) -> Response:
    """Served to callers who may read every record in it (auditors, the operator;
    an org for a bundle of only its own records); 403 to anyone else."""
    tile = _existing(request, svc, f"{ENTRIES}/{tile_path}")
    records = svc.tiles.bundle_records(tile)
    if not _reads_every(svc, caller, records):
        raise access_denied("entry bundles are served only to callers who may read every record")
    return _octets(bundle_bytes(records), f"private, {_lifetime(tile)}")


@router.get(
    "/tile/{tile_path:path}",
    response_class=Response,
    responses={**_OCTETS, **error_responses(400, 404, 500)},
    summary="Hash tile: up to 256 Merkle tree hashes at tree level 8·L (public)",
)
def tile(request: Request, svc: ServicesDep, tile_path: _TilePath) -> Response:
    """``<L>/<N>[.p/<W>]``; checked against the signed root before it is served."""
    found = _existing(request, svc, tile_path)
    return _octets(svc.tiles.hash_tile(found), f"public, {_lifetime(found)}")


def _existing(request: Request, svc: Services, path: str) -> TileID:
    """The tile ``path`` names (400 if not canonical), if the latest checkpoint has it
    (404 if not)."""
    try:
        _, found = parse_tile_path(path)
    except TilePathError as exc:
        raise bad_request(f"tile/{path}: {exc}") from None
    latest = svc.context.store.latest_checkpoint()
    if latest is None or not exists_at(found, latest.size):
        raise not_found(request, "tile")
    return found


def _reads_every(svc: Services, caller: Caller, records: list[StoredRecord]) -> bool:
    if caller.reader.reads_all:
        return True
    at = now_us()
    with svc.context.reads.read() as conn:
        return all(
            entry_access_in(conn, caller.reader, r, at, svc.footprints.grants) for r in records
        )


def _lifetime(tile: TileID) -> str:
    return IMMUTABLE if tile.is_full else PARTIAL


def _octets(content: bytes, cache_control: str) -> Response:
    return Response(
        content, media_type="application/octet-stream", headers={"Cache-Control": cache_control}
    )
