"""`flask scrm ...` operations commands."""
from __future__ import annotations

import json
import logging
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from scrm import clock
from scrm.cli_ops import OPS_COMMANDS
from scrm.config import settings
from scrm.extensions import db
from scrm.logging import quiet_console
from scrm.services import sidebar_session

log = logging.getLogger(__name__)
LONG_RUNNING = frozenset({"worker", "scheduler"})  # processes whose logs are their output


def _one_off_commands_log_warnings_only() -> None:
    """A one-off command (sync, tick, token, …) prints its own output; the service's INFO lines
    would interleave with it, so only warnings and errors are logged (to stderr) meanwhile."""
    if click.get_current_context().invoked_subcommand not in LONG_RUNNING:
        quiet_console()


scrm_cli = AppGroup("scrm", help="SCRM operations: workers, scheduler, sweeps, tokens, corps, staff.",
                    callback=_one_off_commands_log_warnings_only)
for _command in OPS_COMMANDS:  # status, failed (scrm/cli_ops.py)
    scrm_cli.add_command(_command)


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
@click.pass_context
def scheduler_command(ctx: click.Context) -> None:
    """Run the one scheduler process: it only enqueues the periodic sweeps. A second one
    refuses to start while the first is alive (a Redis lock with a heartbeat)."""
    import redis

    from scrm.scheduler_lock import SchedulerAlreadyRunning
    from scrm.worker import SchedulerLockLost, run_scheduler

    try:
        run_scheduler(current_app._get_current_object())
    except (SchedulerAlreadyRunning, SchedulerLockLost) as exc:
        click.echo(str(exc), err=True)
        ctx.exit(1)
    except redis.ConnectionError as exc:  # before the lock is taken: nothing runs without Redis
        click.echo(f"cannot reach Redis (REDIS_URL): {type(exc).__name__}", err=True)
        ctx.exit(1)


@scrm_cli.command("tick")
@click.option("--now", "now_iso", help="Run as of this ISO-8601 time (default: now).")
def tick_command(now_iso: str | None) -> None:
    """Run every periodic sweep once, in this process, and exit."""
    from scrm.queueing import SWEEPS

    now = datetime.fromisoformat(now_iso) if now_iso else None
    clock.freeze(now)
    try:
        results = {sweep.name: sweep.run(clock.utcnow()) for sweep in SWEEPS}
    finally:
        clock.freeze(None)
    click.echo(json.dumps(results))


@scrm_cli.command("drain-spool")
def drain_spool_command() -> None:
    """Move this host's spooled callbacks (SCRM_SPOOL_DIR) into the inbox and exit. The
    `drain-spool` sweep does this on whichever worker takes it; a web host whose spool no worker
    sees runs this every minute (docs/deployment.md)."""
    from scrm.services import inbox

    click.echo(f"drained {inbox.drain_spool()} spooled callback(s) from {settings().spool_dir}")


@scrm_cli.command("sync")
@click.option("--corp", "corp_id", help="Corp to sync (default: WECOM_CORP_ID).")
@click.option("--only", help="Comma-separated stages: staff,tags,customers,groups (default: all).")
@click.option("--full", is_flag=True,
              help="Reconcile too: what WeCom no longer lists is marked gone (if the pass had no errors).")
@click.option("--wait/--no-wait", default=True,
              help="Run here and show progress (default), or queue it for a worker on the sync queue.")
@click.option("--resume", is_flag=True, help="Continue the corp's failed or stalled run from its checkpoint.")
@click.pass_context
def sync_command(ctx: click.Context, corp_id: str | None, only: str | None, full: bool, wait: bool,
                 resume: bool) -> None:
    """Copy the corp's WeCom data into the database: staff and departments, the tag library,
    customers with their follow relations and tags, groups with their members."""
    from scrm.services import sync
    from scrm.services.corps import credentials

    corp_id = corp_id or settings().wecom_corp_id
    if credentials(corp_id) is None:
        raise click.ClickException(f"corp {corp_id} is not registered (flask scrm corp add)")
    try:
        if resume:
            run = sync.resume(corp_id, enqueue_job=not wait)
        else:
            run = sync.start(corp_id, sync.normalise_scopes(only), full=full, requested_by="cli",
                             enqueue_job=not wait)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from None
    except sync.AlreadyRunning as exc:
        raise click.ClickException(f"{exc}. A run without a heartbeat for 10 minutes is stalled: "
                                   "continue it with --resume.") from None
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    what = f"{', '.join(run.scopes)}{' (full)' if run.full else ''}"
    if not wait:
        click.echo(f"sync run {run.id} queued ({what}); follow it with GET /api/v1/syncs/{run.id}")
        return
    click.echo(f"sync run {run.id}: {what}")
    try:
        status = sync.run(run.id, on_progress=_ProgressLines())
    except KeyboardInterrupt:
        sync.cancel(run.id)
        click.echo(f"\nsync run {run.id} cancelled")
        ctx.exit(130)
    from scrm.models import SyncRun

    summary = sync.to_dict(db.session.get(SyncRun, run.id, populate_existing=True))
    for stage, progress in summary["stages"].items():
        click.echo(f"  {_stage_text(stage, progress)}")
    for error in summary["errors"][:10]:
        click.echo(f"  error [{error['stage']}] {error['api'] or ''} errcode={error['errcode']} "
                   f"{error['errmsg']} {error['item'] or ''}".rstrip())
    if summary["error_count"] > 10:
        click.echo(f"  … {summary['error_count'] - 10} more errors (GET /api/v1/syncs/{run.id})")
    click.echo(f"sync run {run.id} {status}")
    if status != "succeeded":
        ctx.exit(1)


def _stage_text(stage: str, progress: dict) -> str:
    done, total = progress.get("done") or 0, progress.get("total")
    if stage == "customers":
        text = (f"customers: {done:,} relations, members {progress.get('staff_done', 0):,}"
                f"/{progress.get('staff_total') or 0:,}")
    elif total:
        width = 20
        filled = min(width, int(width * done / total))
        text = f"{stage}: [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}"
    else:
        text = f"{stage}: {done:,}"
    extras = [f"{progress['errors']} errors"] if progress.get("errors") else []
    if progress.get("gone"):
        extras.append(f"{progress['gone']} gone")
    if progress.get("reconcile"):
        extras.append(progress["reconcile"])
    return f"{text} ({progress.get('status', 'pending')}{', ' + ', '.join(extras) if extras else ''})"


class _ProgressLines:
    """`flask scrm sync` progress: a line per second at most, and at every stage change; the
    current stage first, then any other stage running at the same time (customers and groups)."""

    def __init__(self, every: float = 1.0) -> None:
        self.every, self.last_at, self.last_stage = every, 0.0, None

    def __call__(self, state) -> None:
        import time

        now = time.monotonic()
        if state.stage == self.last_stage and now - self.last_at < self.every:
            return
        self.last_at, self.last_stage = now, state.stage
        stages = [state.stage, *(stage for stage, progress in state.progress.items()
                                 if stage != state.stage and progress.get("status") == "running")]
        texts = [_stage_text(stage, state.progress[stage]) for stage in stages if stage in state.progress]
        if texts:
            click.echo(f"  {'; '.join(texts)}")


token_cli = AppGroup("token", help="Open API bearer tokens.")
scrm_cli.add_command(token_cli)


@token_cli.command("create")
@click.argument("name")
@click.option("--corp", "corp_id", help="Corp the token may read (default: WECOM_CORP_ID).")
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default="admin", show_default=True,
              help="read: GET only; write: also changes; admin: also staff roles, customer erasure and "
                   "GET /api/v1/status.")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), default=None,
              help="The token stops working after this many days (default: never).")
def token_create(name: str, corp_id: str | None, scope: str, expires_in_days: int | None) -> None:
    """Create a token and print it (only its hash is stored)."""
    from scrm.services.tokens import create_token

    click.echo(create_token(name, corp_id or settings().wecom_corp_id, scope=scope,
                            expires_in_days=expires_in_days))


@token_cli.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    from scrm.services.tokens import revoke_tokens

    click.echo(f"revoked {revoke_tokens(name)} token(s)")


corp_cli = AppGroup("corp", help="Further corps served at /wecom/callback/<corp_id>.")
scrm_cli.add_command(corp_cli)


# Secrets never come from argv (it shows in `ps` and shell history): the environment, else a prompt.
CORP_SECRET_INPUTS = (("secret", "SCRM_CORP_SECRET", "The self-built app's Secret"),
                      ("token", "SCRM_CORP_TOKEN", "The callback Token"),
                      ("aes_key", "SCRM_CORP_AES_KEY", "The callback EncodingAESKey (43 characters)"))


@corp_cli.command("add")
@click.argument("corp_id")
@click.option("--agent-id", type=int, required=True)
@click.option("--name")
def corp_add(corp_id: str, agent_id: int, name: str | None) -> None:
    """Register (or update) a corp; its callback URL is /wecom/callback/CORP_ID. The app Secret,
    callback Token and EncodingAESKey are read from SCRM_CORP_SECRET, SCRM_CORP_TOKEN and
    SCRM_CORP_AES_KEY, or prompted for (hidden); they are stored encrypted with SCRM_DATA_KEY."""
    import os

    from scrm.secretbox import DataKeyError, ensure_key
    from scrm.services.corps import register_corp

    try:
        ensure_key()
    except DataKeyError as exc:
        raise click.ClickException(str(exc)) from None
    values = {key: os.environ.get(env) or click.prompt(label, hide_input=True)  # one-off CLI input, not a setting
              for key, env, label in CORP_SECRET_INPUTS}
    if len(values["aes_key"]) != 43:
        raise click.BadParameter("must be 43 characters", param_hint="EncodingAESKey")
    try:
        register_corp(corp_id, agent_id=agent_id, name=name, **values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CORP_ID") from None
    click.echo(f"corp {corp_id} registered; callback URL path: /wecom/callback/{corp_id}")


customer_cli = AppGroup("customer", help="Customers' personal data (PIPL).")
scrm_cli.add_command(customer_cli)


@customer_cli.command("erase")
@click.argument("external_userid")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def customer_erase(external_userid: str, corp_id: str | None, yes: bool) -> None:
    """Anonymise one customer everywhere (profile, remarks, mobiles, follow-ups, field values,
    timeline text, inbox payloads, ...); rows stay so counts hold. Recorded in the audit log."""
    import getpass

    from scrm.services.privacy import erase_customer

    if not yes:
        click.confirm(f"Erase the personal data of customer {external_userid}? This cannot be undone",
                      abort=True)
    rows = erase_customer(corp_id or settings().wecom_corp_id, external_userid,
                          actor=f"cli:{getpass.getuser()}")
    if rows is None:
        raise click.ClickException(f"no customer {external_userid} in this corp")
    click.echo(f"erased customer {external_userid}: " + ", ".join(f"{t} {n}" for t, n in rows.items() if n))


staff_cli = AppGroup("staff", help="The corp's members.")
scrm_cli.add_command(staff_cli)


@staff_cli.command("revoke-sessions")
@click.argument("userid")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def staff_revoke_sessions(userid: str, corp_id: str | None) -> None:
    """Sign USERID out of the sidebar everywhere (they sign in again through WeCom)."""
    sidebar_session.revoke(corp_id or settings().wecom_corp_id, userid)
    click.echo(f"sidebar sessions of {userid} revoked")


@scrm_cli.command("demo-content")
@click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
def demo_content(corp_id: str | None) -> None:
    """Add sample scripts (话术) to the content library, only while the corp's library is empty
    (`make run` does this in sandbox mode)."""
    from scrm.services.library import add_demo_content

    added = add_demo_content(corp_id or settings().wecom_corp_id)
    click.echo(f"added {added} demo content items" if added else "content library not empty: nothing added")


def _add_group_stats_cli() -> None:
    from scrm.cli_group_stats import group_stats_cli

    scrm_cli.add_command(group_stats_cli)


_add_group_stats_cli()


def _add_churn_cli() -> None:
    from scrm.cli_churn import churn_cli

    scrm_cli.add_command(churn_cli)


_add_churn_cli()


def _add_reports_cli() -> None:
    from scrm.cli_reports import reports_cli

    scrm_cli.add_command(reports_cli)


_add_reports_cli()


def _add_admin_cli() -> None:
    from scrm.cli_admin import admin_cli

    scrm_cli.add_command(admin_cli)


_add_admin_cli()


def _add_role_cli() -> None:
    from scrm.cli_roles import role_cli

    scrm_cli.add_command(role_cli)


_add_role_cli()


def _add_search_cli() -> None:
    from scrm.cli_search import search_cli

    scrm_cli.add_command(search_cli)


_add_search_cli()
