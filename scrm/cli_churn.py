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


threshold_cli = AppGroup("threshold", help="Days of silence after which relations are cooling / dormant / lost.")
churn_cli.add_command(threshold_cli)


@threshold_cli.command("set")
@click.option("--kind", type=click.Choice(["corp", "tag", "stage"]), default="corp", show_default=True,
              help="corp: the corp's default; tag: relations with a corp tag; stage: customers in a funnel stage.")
@click.option("--value", default="", help="The tag_id or the funnel stage id (not for corp).")
@click.option("--cooling", type=int, required=True, help="Days silent before cooling.")
@click.option("--dormant", type=int, required=True, help="Days silent before dormant.")
@click.option("--lost", type=int, required=True, help="Days silent before lost.")
@click.option("--priority", type=int, default=100, show_default=True, help="Lowest wins among matching segments.")
@click.option("--name", help="A name for the segment.")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def threshold_set(kind, value, cooling, dormant, lost, priority, name, corp_id) -> None:
    """Create or replace a segment's thresholds (they apply from the next scoring)."""
    from scrm.services.churn.config import set_threshold

    try:
        set_threshold(corp_id or settings().wecom_corp_id, kind, value, cooling_days=cooling,
                      dormant_days=dormant, lost_days=lost, priority=priority, name=name)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"thresholds of {kind} {value}".rstrip() + f": {cooling} / {dormant} / {lost} days")


@threshold_cli.command("delete")
@click.option("--kind", type=click.Choice(["corp", "tag", "stage"]), required=True)
@click.option("--value", default="")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def threshold_delete(kind, value, corp_id) -> None:
    """Remove a segment's thresholds (its relations fall back to the corp's)."""
    from scrm.services.churn.config import delete_threshold

    click.echo("deleted" if delete_threshold(corp_id or settings().wecom_corp_id, kind, value) else "no such row")


@threshold_cli.command("list")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def threshold_list(corp_id) -> None:
    """The corp's thresholds as JSON (without a corp row: the SCRM_CHURN_*_DAYS defaults apply)."""
    from scrm.services.churn.config import list_thresholds

    click.echo(json.dumps(list_thresholds(corp_id or settings().wecom_corp_id), ensure_ascii=False))


@churn_cli.command("mirror")
@click.option("--on/--off", "on", required=True, help="Mirror levels to WeCom corp tags (mark_tag) nightly.")
@click.option("--tag", "tags", multiple=True, metavar="LEVEL=TAG_ID",
              help="A level's corp tag, e.g. --tag dormant=etXXXX (repeatable; replaces the mapping).")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def mirror_command(on: bool, tags: tuple[str, ...], corp_id: str | None) -> None:
    """Turn mirroring of risk levels to corp tags on or off for a corp."""
    from scrm.services.churn.config import set_mirroring

    mapping = None
    if tags:
        try:
            mapping = dict(tag.split("=", 1) for tag in tags)
        except ValueError:
            raise click.BadParameter("LEVEL=TAG_ID", param_hint="--tag") from None
    try:
        result = set_mirroring(corp_id or settings().wecom_corp_id, on, mapping)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(json.dumps(result, ensure_ascii=False))
