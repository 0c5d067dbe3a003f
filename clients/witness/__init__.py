"""A c2sp.org/tlog-witness witness: the decision (``core``), its state (``state``), the
HTTP server (``server``) and the gRPC pull client (``pull``). See docs/audit.md."""
