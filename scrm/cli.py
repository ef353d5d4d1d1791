"""`flask scrm ...` operations commands."""
from __future__ import annotations

import json
import logging
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from scrm import clock

log = logging.getLogger(__name__)
scrm_cli = AppGroup("scrm", help="SCRM operations: workers, scheduler, sweeps, tokens, corps.")


@scrm_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--threads", type=click.IntRange(1, 256), default=None,
              help="Jobs run at once in this process (default: SCRM_WELCOME_THREADS for a "
                   "welcome-only worker, else 1).")
def worker_command(queues: tuple[str, ...], burst: bool, threads: int | None) -> None:
    """Run a worker on QUEUES (default: callbacks messages sync periodic; run `welcome` in a
    worker of its own so it never waits behind bulk work)."""
    from scrm.queueing import DEFAULT_WORKER_QUEUES
    from scrm.worker import run_worker

    run_worker(current_app._get_current_object(), list(queues or DEFAULT_WORKER_QUEUES), burst=burst,
               threads=threads)


@scrm_cli.command("scheduler")
def scheduler_command() -> None:
    """Run the one scheduler process: it only enqueues the periodic sweeps."""
    from scrm.worker import run_scheduler

    run_scheduler(current_app._get_current_object())


@scrm_cli.command("tick")
@click.option("--now", "now_iso", help="Run as of this ISO-8601 time (default: now).")
def tick_command(now_iso: str | None) -> None:
    """Run every periodic sweep once, in this process, and exit."""
    from jobs.periodic import SWEEPS

    now = datetime.fromisoformat(now_iso) if now_iso else None
    clock.freeze(now)
    try:
        results = {sweep.name: sweep.func(clock.utcnow()) for sweep in SWEEPS}
    finally:
        clock.freeze(None)
    click.echo(json.dumps(results))


token_cli = AppGroup("token", help="Open API bearer tokens.")
scrm_cli.add_command(token_cli)


@token_cli.command("create")
@click.argument("name")
@click.option("--corp", "corp_id", help="Corp the token may read (default: WECOM_CORP_ID).")
def token_create(name: str, corp_id: str | None) -> None:
    """Create a token and print it (only its hash is stored)."""
    from scrm.services.tokens import create_token

    click.echo(create_token(name, corp_id or current_app.config["WECOM_CORP_ID"]))


@token_cli.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    from scrm.services.tokens import revoke_tokens

    click.echo(f"revoked {revoke_tokens(name)} token(s)")


corp_cli = AppGroup("corp", help="Further corps served at /wecom/callback/<corp_id>.")
scrm_cli.add_command(corp_cli)


@corp_cli.command("add")
@click.argument("corp_id")
@click.option("--agent-id", type=int, required=True)
@click.option("--secret", required=True, help="The self-built app's secret.")
@click.option("--token", required=True, help="The callback Token.")
@click.option("--aes-key", required=True, help="The callback EncodingAESKey (43 characters).")
@click.option("--name")
def corp_add(corp_id: str, agent_id: int, secret: str, token: str, aes_key: str,
             name: str | None) -> None:
    """Register (or update) a corp; its callback URL is /wecom/callback/CORP_ID."""
    from scrm.services.corps import register_corp

    if len(aes_key) != 43:
        raise click.BadParameter("must be 43 characters", param_hint="--aes-key")
    register_corp(corp_id, agent_id=agent_id, secret=secret, token=token, aes_key=aes_key,
                  name=name)
    click.echo(f"corp {corp_id} registered; callback URL path: /wecom/callback/{corp_id}")
