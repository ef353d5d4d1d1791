"""`flask scrm search rebuild`: the customer list's search rows (relation_search) rebuilt."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from scrm.config import settings

search_cli = AppGroup("search", help="The customer list's search rows (relation_search).")


@search_cli.command("rebuild")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def rebuild_command(corp_id: str | None) -> None:
    """Rewrite every search row of the corp from the relations, their tags, the funnel stages and
    the churn scores (only rows that differ are written; rows of relations gone are dropped).
    Safe while the service runs; the nightly churn run does the same."""
    from scrm.services.customer_search import search_rows

    click.echo(json.dumps(search_rows.rebuild(corp_id or settings().wecom_corp_id)))
