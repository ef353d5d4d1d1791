"""The simulated /cgi-bin/ API, one module per area; importing this package registers every
handler in ``HANDLERS`` (path relative to /cgi-bin/ → Endpoint)."""
from sandbox.endpoints import corp, customers, groups, join_ways, media, messages, stats, tags  # noqa: F401
from sandbox.endpoints.base import HANDLERS, Call, Endpoint

__all__ = ["HANDLERS", "Call", "Endpoint"]
