"""carbonledger HTTP gateway (FastAPI): PACT API, native queries, the page."""
