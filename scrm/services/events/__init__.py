"""Callback handlers; importing this package registers them all (see scrm.services.dispatch)."""
from scrm.services.events import archive, contacts, customers, groups, messages, tags  # noqa: F401
