"""What a request's address (path and query) may hold, checked on every route and on
requests no route answers (404, 405), so no address is read two ways or echoes back
what the database cannot hold.

* No control character or lone surrogate (``gateway.plain_text``) in the decoded path
  or in a query parameter's name or value.
* No encoded slash (``%2F``) in the path: the server decodes it before routing, so
  ``/tlog/tile/0/000%2F001`` would be the tile ``/tlog/tile/0/000/001`` at a second
  address, and a path parameter can never hold a slash anyway.
"""

from __future__ import annotations

from starlette.requests import Request

from gateway.plain_text import control_character


def address_problem(request: Request) -> str | None:
    """What is wrong with ``request``'s path or query, named; None if nothing."""
    if b"%2f" in request.scope.get("raw_path", b"").lower():
        return "the path contains an encoded slash (%2F)"
    if problem := control_character(request.scope["path"]):
        return f"the path {problem}"
    for name, value in request.query_params.multi_items():
        if problem := control_character(name):
            return f"a query parameter name {problem}"
        if problem := control_character(value):
            return f"query parameter {name} {problem}"
    return None
