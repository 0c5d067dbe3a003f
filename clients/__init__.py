"""carbonledger client side: supplier SDK, auditor, CLI."""
