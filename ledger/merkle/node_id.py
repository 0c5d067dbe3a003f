"""Addresses of perfect subtrees of a Merkle tree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class NodeID:
    """The root of the perfect subtree covering leaves [index·2^level, (index+1)·2^level).

    Level 0 holds the leaves themselves. A node's hash never changes once all
    its leaves exist, which is why storage keyed by ``NodeID`` only ever gains
    rows and never rewrites them.
    """

    level: int
    index: int

    def __post_init__(self) -> None:
        if self.level < 0 or self.index < 0:
            raise ValueError(f"node id needs level >= 0 and index >= 0, got {self}")

    @property
    def begin(self) -> int:
        """First leaf index covered by this node."""
        return self.index << self.level

    @property
    def end(self) -> int:
        """One past the last leaf index covered by this node."""
        return (self.index + 1) << self.level

    def parent(self) -> NodeID:
        """The node one level up whose subtree contains this one."""
        return NodeID(self.level + 1, self.index >> 1)

    def sibling(self) -> NodeID:
        """The other child of this node's parent."""
        return NodeID(self.level, self.index ^ 1)
