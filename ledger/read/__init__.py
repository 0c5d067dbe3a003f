"""Reads of the log for the ledger's readers (gRPC, gateway): only what the signed tree
proves is served (``ledger.read.verified``), and only to whom the one access policy
allows (``ledger.read.access``)."""

from ledger.integrity_monitor import IntegrityMonitor
from ledger.read.verified import VerifiedLog
from ledger.store.log import log_size

__all__ = ["IntegrityMonitor", "VerifiedLog", "log_size"]
