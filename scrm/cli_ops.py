"""`flask scrm status` and `flask scrm failed`: the deployment at a glance, failed jobs listed
and retried. Registered on the `scrm` group by scrm/cli.py (OPS_COMMANDS)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import redis
from sqlalchemy.exc import SQLAlchemyError

from scrm.clock import iso_z


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.0f}m"
    if value < 172800:
        return f"{value / 3600:.1f}h"
    return f"{value / 86400:.1f}d"


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(headers[i]), *(len(row[i]) for row in cells)) for i in range(len(headers))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return [line.format(*headers).rstrip()] + [line.format(*row).rstrip() for row in cells]


def render_status(data: dict[str, Any]) -> str:
    """The status for a terminal, section by section (the JSON form is StatusSchema)."""
    out = [f"SCRM status at {data['generated_at']}", "", "Queues"]
    out += _table(["queue", "waiting", "oldest", "delayed", "running", "failed", "workers"],
                  [[q["name"], q["depth"], _seconds(q["oldest_age_seconds"]), q["scheduled"], q["running"],
                    q["failed"], q["workers"]] for q in data["queues"]])
    failed = data["failed_jobs"]
    out += ["", f"Failed jobs: {failed['total']}"]
    if failed["by_function"]:
        out += _table(["function", "count", "last failed", "last error"],
                      [[g["function"], g["count"], g["last_failed_at"] or "-", g["last_error"] or "-"]
                       for g in failed["by_function"]])
    inbox = data["inbox"]
    recent = ", ".join(f"{status} {count}" for status, count in inbox["last_hour"].items())
    out += ["", f"Inbox: {inbox['pending']} pending (oldest {_seconds(inbox['oldest_pending_age_seconds'])}), "
                f"{inbox['failed']} failed; last hour: {recent}"]
    spool = data["spool"]
    out.append(f"Spool: {spool['files']} file(s), {spool['bytes']} bytes, oldest "
               f"{_seconds(spool['oldest_age_seconds'])} ({spool['directory']})")
    scheduler = data["scheduler"]
    out.append("Scheduler: " + (f"running (pid {scheduler['pid']} on {scheduler['host']}, heartbeat "
                                f"{_seconds(scheduler['heartbeat_age_seconds'])} ago)"
                                if scheduler["running"] else "NOT RUNNING"))
    for corp in data["corps"]:
        out += ["", f"Corp {corp['corp_id']}"]
        last = corp["last_sync"]
        out.append("  last sync: " + (
            f"run {last['id']} {last['status']} ({', '.join(last['scopes'])}{' full' if last['full'] else ''}), "
            f"{_seconds(last['age_seconds'])} ago, {last['error_count']} error(s)" if last else "never"))
        wecom, budget = corp["wecom"], corp["wecom"]["rate_budget"]
        out.append(f"  WeCom last hour: {wecom['calls']} call(s), {wecom['errors']} error(s)")
        if wecom["apis"]:
            out += ["    " + line for line in _table(
                ["api", "calls", "errors", "errcodes", "peak/min"],
                [[a["api"], a["calls"], a["errors"],
                  " ".join(f"{code}×{n}" for code, n in a["errcodes"].items()) or "-", a["peak_minute"]]
                 for a in wecom["apis"]])]
        out.append(f"  rate budget: headroom {budget['headroom']:.0%} (peak {budget['peak_minute_calls']}/min of "
                   f"{budget['per_minute']}, {budget['hour_calls']}/h of {budget['per_hour']}), burst left "
                   f"{budget['burst_left']:.0%}" + (f", throttled: {', '.join(budget['throttled_apis'])}"
                                                    if budget["throttled_apis"] else ""))
    return "\n".join(out)


@contextmanager
def _reachable() -> Iterator[None]:
    """Redis or the database down: one line, not a traceback."""
    try:
        yield
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach Redis (REDIS_URL): {type(exc).__name__}") from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the database (DATABASE_URL): {type(exc).__name__}") from None


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON (as GET /api/v1/status).")
@click.option("--corp", "corp_ids", multiple=True, help="Only this corp's inbox and corp sections (repeatable).")
def status_command(as_json: bool, corp_ids: tuple[str, ...]) -> None:
    """Queues, failed jobs, inbox, spool, each corp's last sync, WeCom calls and rate budget,
    and the scheduler's heartbeat (docs/operations.md explains every field)."""
    from scrm.schemas.status import StatusSchema
    from scrm.services import status

    with _reachable():
        data = StatusSchema().dump(status.gather(list(corp_ids) or None))
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else render_status(data))


@click.command("failed")
@click.argument("job_ids", nargs=-1)
@click.option("--retry", is_flag=True, help="Requeue the JOB_IDS given (or, with --all, every failed job).")
@click.option("--all", "retry_all", is_flag=True, help="With --retry: every failed job.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="How many failed jobs to list (newest first).")
@click.pass_context
def failed_command(ctx: click.Context, job_ids: tuple[str, ...], retry: bool, retry_all: bool, limit: int) -> None:
    """List failed jobs (id, queue, function, failed at, error line), or requeue them with
    --retry JOB_ID… / --retry --all on the queue they came from."""
    from scrm.services import status

    if not retry:
        if job_ids or retry_all:
            raise click.UsageError("JOB_IDS and --all go with --retry")
        with _reachable():
            jobs = status.failed_jobs(limit)
        if not jobs:
            click.echo("no failed jobs")
            return
        for line in _table(["id", "queue", "function", "failed at", "error"],
                           [[j.id, j.queue, j.function or "?", iso_z(j.failed_at) or "-", j.error or "-"]
                            for j in jobs]):
            click.echo(line)
        return
    if bool(job_ids) == retry_all:
        raise click.UsageError("--retry needs JOB_IDS or --all (not both)")
    with _reachable():
        requeued, missing = status.retry_failed(None if retry_all else list(job_ids))
    for job_id in requeued:
        click.echo(f"requeued {job_id}")
    for job_id in missing:
        click.echo(f"not a failed job: {job_id}", err=True)
    click.echo(f"{len(requeued)} job(s) requeued")
    if missing:
        ctx.exit(1)


OPS_COMMANDS = (status_command, failed_command)
