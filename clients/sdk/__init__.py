"""The supplier SDK: keys, entries, signing, and submission to a ledger over gRPC.

    signer = OrgSigner.load(Path("supplier.key"), org="urn:pact:company:customcode:acme")
    with LedgerClient("127.0.0.1:50051") as ledger:
        receipt = ledger.submit(signer.sign(new_entry("footprint", signer.org, ...)))

Retrying is always safe: an entry keeps its ``entryId``, and the ledger answers
a repeated submission with the original receipt.
"""

from clients.sdk.client import LedgerClient, Rejected
from clients.sdk.entries import SignedEntry, collector_key_entry, new_entry
from clients.sdk.signer import OrgSigner

__all__ = [
    "LedgerClient",
    "OrgSigner",
    "Rejected",
    "SignedEntry",
    "collector_key_entry",
    "new_entry",
]
