"""Independent verification of a carbonledger log: audits, witness cosignatures, spot checks.

The verification engine (``engine``, ``checkpoints``, ``parallel``) takes
records from any source and needs neither a server nor a database; the gRPC
and database sources are separate small modules. See docs/audit.md.
"""

from clients.audit.checkpoints import CheckpointFailure, check_consistent, open_signed
from clients.audit.engine import Auditor, ReplayState
from clients.audit.model import AuditError, AuditRecord, Check, Failure, StateError
from clients.audit.parallel import VerifierPool
from clients.audit.report import AuditReport
from clients.audit.run import run_audit

__all__ = [
    "AuditError",
    "AuditRecord",
    "AuditReport",
    "Auditor",
    "Check",
    "CheckpointFailure",
    "Failure",
    "ReplayState",
    "StateError",
    "VerifierPool",
    "check_consistent",
    "open_signed",
    "run_audit",
]
