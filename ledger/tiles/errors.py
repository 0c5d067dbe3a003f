"""Typed errors of the tile package.

A tile path that does not follow the spec's encoding and tile bytes that do not
have the width a tree size implies are different mistakes (the caller's URL, the
server's answer), so they are different classes under :class:`TileError`.
"""

from __future__ import annotations


class TileError(Exception):
    """Base class of every error raised by :mod:`ledger.tiles`."""


class TilePathError(TileError):
    """A tile or entry-bundle path that is not in the spec's canonical encoding."""


class TileSizeError(TileError):
    """Tile or bundle bytes that do not hold the number of hashes or entries expected."""
