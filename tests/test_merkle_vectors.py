"""Every RFC 9162 test vector of transparency-dev/merkle, through our verifier."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.merkle import (
    EMPTY_ROOT,
    MerkleError,
    MerkleTree,
    leaf_hash,
    root_from_subtrees,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "data" / "rfc9162-vectors"


def _load(kind: str) -> list[Any]:
    root = VECTORS / kind
    files = sorted(root.rglob("*.json"))
    return [
        pytest.param(json.loads(f.read_text()), id=f.relative_to(root).with_suffix("").as_posix())
        for f in files
    ]


def _b64(s: str) -> bytes:
    return base64.b64decode(s)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in vector["proof"] or []]


INCLUSION = _load("inclusion")
CONSISTENCY = _load("consistency")


def test_all_vector_files_are_collected() -> None:
    assert len(INCLUSION) + len(CONSISTENCY) == len(list(VECTORS.rglob("*.json")))
    assert any(p.id.startswith("additional/") for p in CONSISTENCY)
    assert any(p.id.startswith("additional/") for p in INCLUSION)


@pytest.mark.parametrize("vector", INCLUSION)
def test_inclusion_vector(vector: dict[str, Any]) -> None:
    def run() -> None:
        verify_inclusion(
            _b64(vector["leafHash"]),
            vector["leafIdx"],
            vector["treeSize"],
            _proof(vector),
            _b64(vector["root"]),
        )

    if vector["wantErr"]:
        with pytest.raises(MerkleError):
            run()
    else:
        run()


@pytest.mark.parametrize("vector", CONSISTENCY)
def test_consistency_vector(vector: dict[str, Any]) -> None:
    def run() -> None:
        verify_consistency(
            vector["size1"],
            vector["size2"],
            _proof(vector),
            _b64(vector["root1"]),
            _b64(vector["root2"]),
        )

    if vector["wantErr"]:
        with pytest.raises(MerkleError):
            run()
    else:
        run()


def _readme_tree() -> tuple[list[bytes], dict[int, bytes]]:
    """The canonical 8-leaf tree and its roots table, read from the vectors' README."""
    readme = (VECTORS / "README.md").read_text()
    inputs = readme[readme.index("leaf inputs (hex)") : readme.index("and roots per tree size")]
    leaves = [bytes.fromhex(h.strip('"')) for h in re.findall(r"`([^`]*)`", inputs)]
    roots = {
        int(size): bytes.fromhex(root)
        for size, root in re.findall(r"^\| (\d+) \| ([0-9a-f]{64}) \|$", readme, re.MULTILINE)
    }
    return leaves, roots


def test_readme_table_is_parsed() -> None:
    leaves, roots = _readme_tree()
    assert leaves[0] == b""
    assert leaves[7] == bytes(range(0x60, 0x70))
    assert len(leaves) == 8
    assert sorted(roots) == list(range(9))
    assert roots[0] == EMPTY_ROOT


def test_readme_roots_from_merkle_tree() -> None:
    leaves, roots = _readme_tree()
    tree = MerkleTree(leaf_hash(d) for d in leaves)
    assert tree.root() == roots[8]
    for size, root in roots.items():
        assert tree.root(size) == root, size


def test_readme_roots_from_subtree_decomposition() -> None:
    leaves, roots = _readme_tree()
    tree = MerkleTree(leaf_hash(d) for d in leaves)
    for size, root in roots.items():
        subtrees = [tree.node(n) for n in root_nodes(size)]
        assert len(subtrees) == size.bit_count()
        assert root_from_subtrees(subtrees) == root, size


def test_readme_proofs_verify_against_table() -> None:
    leaves, roots = _readme_tree()
    tree = MerkleTree(leaf_hash(d) for d in leaves)
    for size2 in range(1, 9):
        for index in range(size2):
            proof = tree.inclusion_proof(index, size2)
            verify_inclusion(leaf_hash(leaves[index]), index, size2, proof, roots[size2])
        for size1 in range(1, size2 + 1):
            proof = tree.consistency_proof(size1, size2)
            verify_consistency(size1, size2, proof, roots[size1], roots[size2])
