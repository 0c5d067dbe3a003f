"""Coordinates of C2SP tlog-tiles resources and their canonical URL paths.

A tile at level ``L`` and index ``N`` holds up to 256 consecutive Merkle tree
hashes at tree level ``8·L`` (hash ``i`` is the subtree over leaves
``[(N·256 + i)·256^L, (N·256 + i + 1)·256^L)``); an entry bundle ``N`` holds the
entries of level-0 tile ``N``. Paths encode ``N`` as zero-padded 3-digit
elements, every one but the last prefixed with ``x`` (1234067 is
``x001/x234/067``), and a partial tile of width ``W`` (1-255) adds ``.p/W``.
Parsing accepts only the canonical form, so one resource has exactly one path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.tiles.errors import TilePathError

TILE_WIDTH = 256
"""Hashes in a full tile (and entries in a full bundle)."""

TILE_HEIGHT = 8
"""Tree levels spanned by one tile: ``TILE_WIDTH == 2**TILE_HEIGHT``."""

MAX_LEVEL = 63
"""The highest tile level the spec allows in a path."""

ENTRIES = "entries"
"""The path element that names entry bundles instead of a hash-tile level."""

_LEVEL = re.compile(r"0|[1-9][0-9]?", re.ASCII)
_WIDTH = re.compile(r"[1-9][0-9]{0,2}", re.ASCII)
_ELEMENT = re.compile(r"[0-9]{3}", re.ASCII)


@dataclass(frozen=True, order=True, slots=True)
class TileID:
    """Tile ``index`` at tile ``level``, ``width`` hashes wide (256 for a full tile).

    Entry bundles use the coordinates of the level-0 tile whose leaves they hold.
    """

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_LEVEL:
            raise TilePathError(f"tile level must be 0-{MAX_LEVEL}, got {self.level}")
        if self.index < 0:
            raise TilePathError(f"tile index must not be negative, got {self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise TilePathError(f"tile width must be 1-{TILE_WIDTH}, got {self.width}")

    @property
    def is_full(self) -> bool:
        """Whether the tile is complete; only full tiles are immutable."""
        return self.width == TILE_WIDTH

    @property
    def tree_level(self) -> int:
        """The Merkle tree level of this tile's hashes."""
        return self.level * TILE_HEIGHT

    @property
    def first(self) -> int:
        """Index, at :attr:`tree_level`, of the tile's first hash."""
        return self.index * TILE_WIDTH

    @property
    def end(self) -> int:
        """One past the index, at :attr:`tree_level`, of the tile's last hash."""
        return self.first + self.width

    def path(self) -> str:
        """``tile/<L>/<N>[.p/<W>]``, relative to the log's prefix."""
        return f"tile/{self.level}/{self._suffix()}"

    def bundle_path(self) -> str:
        """``tile/entries/<N>[.p/<W>]``: the entry bundle with this tile's coordinates."""
        return f"tile/{ENTRIES}/{self._suffix()}"

    def _suffix(self) -> str:
        encoded = encode_index(self.index)
        return encoded if self.is_full else f"{encoded}.p/{self.width}"


def encode_index(index: int) -> str:
    """The spec's path encoding of a tile index: ``x001/x234/067`` for 1234067."""
    if index < 0:
        raise TilePathError(f"tile index must not be negative, got {index}")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def parse_tile_path(path: str) -> tuple[bool, TileID]:
    """``(is_bundle, tile)`` from ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]``.

    ``path`` is what follows ``tile/``. Raises :class:`TilePathError` for anything
    but the canonical encoding (leading zeros, a redundant ``x000`` element, a
    width of 0 or 256, a missing element).
    """
    head, _, rest = path.partition("/")
    parts = rest.split("/") if rest else []
    width = TILE_WIDTH
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        if not _WIDTH.fullmatch(parts[-1]) or int(parts[-1]) >= TILE_WIDTH:
            raise TilePathError(f"partial tile width {parts[-1]!r} is not 1-255")
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2].removesuffix(".p")]
    if head == ENTRIES:
        level = 0
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_LEVEL:
        level = int(head)
    else:
        raise TilePathError(f"tile level {head!r} is not 0-{MAX_LEVEL} or {ENTRIES!r}")
    return head == ENTRIES, TileID(level, _parse_index(parts), width)


def _parse_index(parts: list[str]) -> int:
    if not parts:
        raise TilePathError("the tile path has no index")
    *prefixed, last = parts
    if not all(p.startswith("x") and _ELEMENT.fullmatch(p[1:]) for p in prefixed):
        raise TilePathError("every index element but the last must be x and three digits")
    if not _ELEMENT.fullmatch(last):
        raise TilePathError("the last index element must be three digits")
    if prefixed and prefixed[0] == "x000":
        raise TilePathError("the tile index has a redundant leading x000 element")
    index = 0
    for part in [*(p[1:] for p in prefixed), last]:
        index = index * 1000 + int(part)
    return index
