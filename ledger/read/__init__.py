"""Reads of the log for the ledger's readers (gRPC, gateway): only what the signed tree
proves is served (``ledger.read.verified``)."""

from ledger.read.verified import IntegrityMonitor, VerifiedLog

__all__ = ["IntegrityMonitor", "VerifiedLog"]
