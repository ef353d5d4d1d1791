"""Placeholder (issue #6)."""
from __future__ import annotations

from sidebar import bp  # noqa: F401
