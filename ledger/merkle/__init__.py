"""RFC 9162 (RFC 6962) Merkle tree hashing, proofs and verification.

Modelled on Go's transparency-dev/merkle: proofs are expressed as the
perfect-subtree nodes a store must fetch (:mod:`.nodes`), appends go through a
compact range (:mod:`.compact`), and verification (:mod:`.verify`) raises
typed errors (:mod:`.errors`) rather than returning booleans.
"""

from ledger.merkle.compact import CompactRange, NodeSink
from ledger.merkle.errors import (
    HashSizeError,
    IndexOutOfRangeError,
    InvalidSizeError,
    MerkleError,
    ProofLengthError,
    RootMismatchError,
)
from ledger.merkle.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from ledger.merkle.node_id import NodeID
from ledger.merkle.nodes import (
    ProofNodes,
    consistency_nodes,
    inclusion_nodes,
    root_from_subtrees,
    root_nodes,
)
from ledger.merkle.tree import MerkleTree
from ledger.merkle.verify import root_from_inclusion_proof, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "HashSizeError",
    "IndexOutOfRangeError",
    "InvalidSizeError",
    "MerkleError",
    "MerkleTree",
    "NodeID",
    "NodeSink",
    "ProofLengthError",
    "ProofNodes",
    "RootMismatchError",
    "consistency_nodes",
    "inclusion_nodes",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "root_from_subtrees",
    "root_nodes",
    "verify_consistency",
    "verify_inclusion",
]
