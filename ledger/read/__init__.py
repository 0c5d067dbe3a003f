"""Reads of the log for the ledger's readers (gRPC, gateway): only what the signed tree
proves is served (``ledger.read.verified``), and only to whom the one access policy
allows (``ledger.read.access``)."""

from ledger.read.verified import IntegrityMonitor, VerifiedLog

__all__ = ["IntegrityMonitor", "VerifiedLog"]
