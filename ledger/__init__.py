"""carbonledger's system of record.

Entries, signatures, the hash chain, Merkle proofs, checkpoints, storage and the
gRPC service. Nothing here imports the gateway or the footprint engine.
"""
