"""The other reports' parts of bench/reports.py: one module per report, each with

    ENDPOINT = "/api/v1/reports/<kind>"            # measured like the follow-up report
    TABLES = ("source_table", ...)                 # counted after seeding (printed)
    def seed_sql(staff: int, relations: int) -> list[tuple[str, str]]: ...
        # (label, SQL) run after the follow-up report's seed, in the same schema, set-based

bench/reports.py runs every module listed in MODULES in order."""
from __future__ import annotations

import importlib

MODULES: tuple[str, ...] = ("funnel", "churn", "channels", "groups")


def load() -> list:
    return [importlib.import_module(f"bench.report_seeds.{name}") for name in MODULES]
