"""Private implementation modules; not part of the public API."""
