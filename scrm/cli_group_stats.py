"""`flask scrm group-stats ...`: rebuild the group analytics for past days."""
from __future__ import annotations

import json
from datetime import date, datetime

import click
from flask.cli import AppGroup

from scrm.config import settings

group_stats_cli = AppGroup("group-stats", help="Group analytics: daily figures per group and per owner.")


@group_stats_cli.command("rebuild")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First local day.")
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last local day.")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
@click.option("--pull", is_flag=True, help="Also pull WeCom's per-owner figures (days within its last 180, "
                                           "yesterday at the latest).")
def rebuild_command(first: datetime, last: datetime, corp_id: str | None, pull: bool) -> None:
    """Recompute the daily group rows of --from..--to from the member history (idempotent)."""
    from scrm.services.group_stats.pull import rebuild_range
    from scrm.wecom import WeComError

    start, end = first.date(), last.date()
    if (end - start).days + 1 > 3660:
        raise click.BadParameter("at most 3660 days at once", param_hint="--to")
    try:
        result = rebuild_range(corp_id or settings().wecom_corp_id, start, end, pull=pull)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None
    except WeComError as exc:
        raise click.ClickException(f"WeCom failed: {exc}") from None
    click.echo(json.dumps({"from": date.isoformat(start), "to": date.isoformat(end), **result}))
