"""Which registry account each serial was issued to: the operator's record of the
registry's own, from ``registry.account`` ``serialRanges``.

A retirement is accepted only if every serial it names was issued to the account it
retires from (``ledger.rules.carbon``), so a serial's holder is the only one who can
retire it. Blocks of one registry, prefix and digit width are disjoint and kept
sorted, so a retirement is checked by bisection (O(log n) plus the blocks it
spans), never by a scan. The blocks are immutable tuples: a forked
``IdentityState`` shares them until a binding replaces the ones it changes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.entries.carbon.instruments import SerialRange, split_serial

# (registry, prefix, digit width): the serials a block's numbers are compared within.
BlockKey = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class IssuedBlocks:
    """Disjoint blocks ``firsts[i]..lasts[i]`` (numbers), issued to ``accounts[i]``,
    sorted by number."""

    firsts: tuple[int, ...] = ()
    lasts: tuple[int, ...] = ()
    accounts: tuple[str, ...] = ()

    def overlaps_other(self, account: str, first: int, last: int) -> bool:
        """Whether a block of an account other than ``account`` shares a number with
        ``first..last`` (the blocks that do are the run ending at the last one that
        starts by ``last``)."""
        index = bisect_right(self.firsts, last) - 1
        while index >= 0 and self.lasts[index] >= first:
            if self.accounts[index] != account:
                return True
            index -= 1
        return False

    def covers(self, account: str, first: int, last: int) -> bool:
        """Whether every number of ``first..last`` lies in blocks issued to ``account``
        (adjacent blocks of the account together cover a span across them)."""
        index = bisect_right(self.firsts, first) - 1
        at = first
        while 0 <= index < len(self.firsts) and self.accounts[index] == account:
            if not self.firsts[index] <= at <= self.lasts[index]:
                return False
            if last <= self.lasts[index]:
                return True
            at, index = self.lasts[index] + 1, index + 1
        return False

    def without(self, account: str) -> IssuedBlocks:
        """These blocks less ``account``'s."""
        return IssuedBlocks.of(b for b in self.items() if b[2] != account)

    def plus(self, account: str, blocks: Iterable[tuple[int, int]]) -> IssuedBlocks:
        """These blocks and ``blocks`` issued to ``account`` (which
        ``IdentityState.authorize`` checked are disjoint from the others)."""
        added = [(first, last, account) for first, last in blocks]
        return IssuedBlocks.of([*self.items(), *added])

    @staticmethod
    def of(blocks: Iterable[tuple[int, int, str]]) -> IssuedBlocks:
        ordered = sorted(blocks)
        return IssuedBlocks(
            tuple(b[0] for b in ordered), tuple(b[1] for b in ordered), tuple(b[2] for b in ordered)
        )

    def items(self) -> Iterable[tuple[int, int, str]]:
        """``(first, last, account)`` of each block, in order."""
        return zip(self.firsts, self.lasts, self.accounts, strict=True)


def block_of(registry: str, serials: SerialRange) -> tuple[BlockKey, int, int]:
    """The block key and numbers of a serial range at ``registry``."""
    prefix, first, width = split_serial(serials.first)
    return (registry, prefix, width), first, split_serial(serials.last)[1]
