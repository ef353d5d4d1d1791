"""`flask scrm reports ...`: rebuild the report aggregates for past days."""
from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import AppGroup

from scrm.config import settings

reports_cli = AppGroup("reports", help="Manager reports: the daily aggregates they read.")


@reports_cli.command("rebuild")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First local day.")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last local day.")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def rebuild_command(first: datetime, last: datetime, corp_id: str | None) -> None:
    """Recompute every report aggregate of --from..--to from the sources (idempotent)."""
    from scrm.services.reports import rebuild

    start, end = first.date(), last.date()
    try:
        result = rebuild(corp_id or settings().wecom_corp_id, start, end)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None
    click.echo(json.dumps({"from": start.isoformat(), "to": end.isoformat(), "rows": result}))
