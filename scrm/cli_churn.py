"""`flask scrm churn ...`: rebuild the churn signals and scores, show one relation's risk."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from scrm.config import settings

churn_cli = AppGroup("churn", help="Churn scoring: interaction signals, RFE scores and risk levels.")


@churn_cli.command("rebuild")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First local day whose interaction rows are rebuilt (up to today).")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
@click.option("--pull-from", "pull_from", type=click.DateTime(["%Y-%m-%d"]),
              help="Also pull WeCom's per-member behaviour figures from this day to yesterday "
                   "(within its last 180 days).")
def rebuild_command(first, corp_id: str | None, pull_from) -> None:
    """Rebuild the interaction rows from --from, then score every relation (idempotent; level
    changes go on the timeline as in the nightly run)."""
    from scrm.services.churn import rebuild
    from scrm.wecom import WeComError

    try:
        result = rebuild(corp_id or settings().wecom_corp_id, first.date(),
                         pull_from=pull_from.date() if pull_from else None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--pull-from") from None
    except WeComError as exc:
        raise click.ClickException(f"WeCom failed: {exc}") from None
    click.echo(json.dumps(result))


@churn_cli.command("show")
@click.argument("userid")
@click.argument("external_userid")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def show_command(userid: str, external_userid: str, corp_id: str | None) -> None:
    """One relation's risk as last scored (JSON), or nothing before its first scoring."""
    from scrm.services.churn import risk_for

    risk = risk_for(corp_id or settings().wecom_corp_id, userid, external_userid)
    click.echo(json.dumps(risk, default=str, ensure_ascii=False))
