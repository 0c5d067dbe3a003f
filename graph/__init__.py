"""carbonledger footprint engine: the supply graph and cradle-to-gate computation."""
