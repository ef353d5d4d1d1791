"""`make prod-check`: the production roles, as the Procfile runs them, on PostgreSQL and a Redis
server, in real mode (SCRM_SANDBOX=0, WECOM_* credentials) with WeCom played by the simulator.

1. Checks the PostgreSQL and Redis servers (one clear message each when missing), creates a
   throwaway database and empties its own Redis database.
2. Starts the WeCom simulator (`python -m sandbox`) on a free loopback port; the service reaches
   it through WECOM_API_BASE_URL and WECOM_OAUTH_URL, as it would reach an egress proxy.
3. Writes the settings into an env file, as an operator's `.env`, and runs the one-off steps
   through the Procfile runner: `flask db upgrade`, the staff and tag sync, an Open API token.
4. Starts web, worker, welcome and scheduler with `python -m deploy.procs start` (honcho).
5. Runs the end-to-end scenario (tests/e2e) against the running stack, checks health, real
   mode and the scheduler, then stops the runner with SIGTERM and checks that every role
   stopped by itself, in time, and unregistered its workers.

Exit 0 only when every check passed. Settings (environment):
  PRODCHECK_PG_ADMIN_URL  (else CI_PG_ADMIN_URL, else postgresql://postgres@127.0.0.1:5432/postgres):
                          a role that may CREATE DATABASE
  PRODCHECK_DB            (scrm_prodcheck) the throwaway database: dropped and created, dropped at the end
  PRODCHECK_REDIS_URL     (else CI_REDIS_URL's server with database 14, else redis://127.0.0.1:6379/14):
                          its database is flushed
  PRODCHECK_KEEP=1        keep the database and the logs directory afterwards
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sandbox.embedded_redis import free_port
from scrm import sandbox_corp

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ROLES = ("web", "worker", "welcome", "scheduler")
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
STOP_WAIT = 60  # seconds for the runner to stop every role (its own grace before SIGKILL is 35)
# What prod-check sets for itself; the rest of the caller's environment passes through, less these.
OWN_PREFIXES = ("WECOM_", "SCRM_", "SANDBOX_", "TEST_", "E2E_", "GUNICORN_", "FLASK_")
OWN_NAMES = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "LOG_FORMAT", "PORT", "WEB_CONCURRENCY"}


def say(message: str) -> None:
    print(f"[prod-check] {message}", flush=True)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class Missing(Exception):
    """A server prod-check needs is not there; the message says what to do."""


# ---- prerequisites ------------------------------------------------------------------------------

def pg_admin_url() -> str:
    return os.environ.get("PRODCHECK_PG_ADMIN_URL") or os.environ.get("CI_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL


def redis_url() -> str:
    if os.environ.get("PRODCHECK_REDIS_URL"):
        return os.environ["PRODCHECK_REDIS_URL"]
    ci = os.environ.get("CI_REDIS_URL")
    if ci:  # the CI server, in a database of prod-check's own (CI's pytest run flushes the other)
        parts = urlsplit(ci)
        return urlunsplit((parts.scheme, parts.netloc, "/14", "", ""))
    return DEFAULT_REDIS_URL


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create ``name``; the service's SQLAlchemy URL for it."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise Missing(f"PRODCHECK_DB must be a plain lower-case PostgreSQL name, got {name!r}")
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise Missing(
            f"make prod-check needs a PostgreSQL server (13 or newer) and a role that may create databases; "
            f"{make_url(admin_url).render_as_string(hide_password=True)} failed: {one_line(exc)} "
            "Start one (e.g. apt-get install postgresql) or point PRODCHECK_PG_ADMIN_URL at one, e.g. "
            "postgresql://postgres@127.0.0.1:5432/postgres") from None
    return make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False)


def empty_redis(url: str) -> None:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)
        client.ping()
        client.flushdb()
    except redis.RedisError as exc:
        raise Missing(
            f"make prod-check needs a Redis server; {url} failed: {one_line(exc)} "
            "Start one (e.g. apt-get install redis-server) or point PRODCHECK_REDIS_URL at a database it may "
            "flush, e.g. redis://127.0.0.1:6379/14") from None


# ---- the stack ------------------------------------------------------------------------------------

def settings_file(path: Path, *, database_url: str, redis: str, port: int, sim_port: int, spool: Path) -> dict:
    """The operator's `.env` of this deployment: real mode, WeCom at the simulator."""
    simulator = f"http://127.0.0.1:{sim_port}"
    values = {
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis,
        "SCRM_SANDBOX": "0",
        "WECOM_CORP_ID": sandbox_corp.SANDBOX_CORP_ID,
        "WECOM_AGENT_ID": str(sandbox_corp.SANDBOX_AGENT_ID),
        "WECOM_SECRET": sandbox_corp.SANDBOX_SECRET,
        "WECOM_TOKEN": sandbox_corp.SANDBOX_TOKEN,
        "WECOM_AES_KEY": sandbox_corp.SANDBOX_AES_KEY,
        "WECOM_API_BASE_URL": f"{simulator}/cgi-bin/",
        "WECOM_OAUTH_URL": f"{simulator}/connect/oauth2/authorize",
        "SCRM_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SCRM_SPOOL_DIR": str(spool),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
    }
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")
    os.chmod(path, 0o600)
    return values


def runner_env(port: int) -> dict[str, str]:
    """The runner's own environment: the caller's, less any setting (the env file has them), plus
    what the production host's process manager would set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES) and k not in OWN_NAMES}
    env.update({
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}",  # loopback here; the image binds 0.0.0.0:$PORT
        "FLASK_SKIP_DOTENV": "1",  # a developer's .env (sandbox mode) must not leak in
        "PYTHONUNBUFFERED": "1",
    })
    return env


def procs(*args: str) -> list[str]:
    return [PY, "-m", "deploy.procs", *args]


def one_off(env_file: Path, env: dict, *argv: str) -> str:
    """Run a one-off command in the deployment's environment (honcho run); its stdout."""
    result = subprocess.run(procs("run", "-e", str(env_file), *argv), cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout[-3000:]}"
                           f"{result.stderr[-3000:]}")
    return result.stdout


def wait_until(predicate: Callable[[], object], what: str, timeout: float, alive: Callable[[], bool]) -> object:
    end = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < end:
        if not alive():
            raise RuntimeError(f"a process exited while waiting for {what}")
        try:
            last = predicate()
            if last:
                return last
        except (requests.RequestException, redis.RedisError) as exc:
            last = exc
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what} (last: {last!r})")


class Checks:
    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str]] = []

    def add(self, name: str, ok: bool, detail: str = "") -> bool:
        self.results.append((name, bool(ok), detail))
        say(f"{'PASS' if ok else 'FAIL'}  {name}{f': {detail}' if detail else ''}")
        return bool(ok)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(ok for _, ok, _ in self.results)


def registered_workers(client: redis.Redis) -> list[str]:
    return sorted(name.decode() for name in client.smembers("rq:workers"))


def worker_queues(client: redis.Redis) -> set[str]:
    queues: set[str] = set()
    for key in client.smembers("rq:workers"):
        queues.update((client.hget(key, "queues") or b"").decode().split(","))
    return queues - {""}


def stop_lines(log_text: str) -> dict[str, str]:
    """honcho's "NAME stopped (rc=N)" lines: role → return code."""
    return {m.group(1): m.group(2) for m in re.finditer(r"\| (\S+) stopped \(rc=(-?\d+)\)", log_text)}


def clean_stop(rc: str) -> bool:
    """Exited by itself (0), or ended by the SIGTERM we sent: Python's default action for it, as
    in the scheduler, which has nothing to flush (-15 from the shell that ran it, or 143)."""
    return rc in ("0", str(-signal.SIGTERM), str(128 + signal.SIGTERM))


def schema_revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def migrations_head() -> str | None:
    config = AlembicConfig(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


# ---- the run ------------------------------------------------------------------------------------

def check(work: Path, checks: Checks) -> None:
    db_name = os.environ.get("PRODCHECK_DB") or "scrm_prodcheck"
    admin, rurl = pg_admin_url(), redis_url()
    empty_redis(rurl)
    database_url = fresh_database(admin, db_name)
    rclient = redis.Redis.from_url(rurl)
    say(f"PostgreSQL database {db_name} (new), Redis {rurl} (emptied); logs in {work}")

    port, sim_port = free_port(), free_port()
    env_file = work / "prodcheck.env"
    values = settings_file(env_file, database_url=database_url, redis=rurl, port=port, sim_port=sim_port,
                           spool=work / "spool")
    env = runner_env(port)
    service, simulator = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"

    sim_log = open(work / "simulator.log", "w")  # noqa: SIM115 - closed in the finally below
    sim_env = {k: v for k, v in env.items() if not k.startswith(("WECOM_", "SANDBOX_"))}
    sim = subprocess.Popen(
        [PY, "-m", "sandbox", "--port", str(sim_port), "--callback-url", f"{service}/wecom/callback",
         "--service-url", service, "--staff", "8", "--customers", "300", "--groups", "10",
         "--latency-ms", "20-60"], cwd=ROOT, env=sim_env, stdout=sim_log, stderr=subprocess.STDOUT,
        start_new_session=True)
    roles_log = open(work / "roles.log", "w")  # noqa: SIM115 - closed in the finally below
    runner: subprocess.Popen | None = None
    try:
        wait_until(lambda: requests.get(f"{simulator}/sandbox/api/", timeout=2).ok, "the simulator", 60,
                   lambda: sim.poll() is None)

        say("one-off: flask db upgrade")
        one_off(env_file, env, "flask", "--app", "wsgi", "db", "upgrade")
        applied, head = schema_revision(database_url), migrations_head()
        checks.add("the one-off step migrated the database to the head revision", applied == head,
                   f"at {applied}, head {head}")
        one_off(env_file, env, "flask", "--app", "wsgi", "scrm", "sync", "--only", "staff,tags", "--no-wait")
        token = one_off(env_file, env, "flask", "--app", "wsgi", "scrm", "token", "create",
                        "prod-check").strip().splitlines()[-1]

        say(f"starting {', '.join(ROLES)} from the Procfile (python -m deploy.procs start)")
        runner = subprocess.Popen(procs("start", "-f", "Procfile", "-e", str(env_file), "--no-colour", *ROLES),
                                  cwd=ROOT, env=env, stdout=roles_log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        running = lambda: runner.poll() is None and sim.poll() is None  # noqa: E731
        ready = wait_until(lambda: requests.get(f"{service}/readyz", timeout=2), "the web role's /readyz", 90,
                           running)
        checks.add("web: /readyz (PostgreSQL and Redis reachable)", ready.status_code == 200, ready.text.strip())
        queues = wait_until(lambda: {"welcome", "callbacks", "messages", "sync", "periodic"} <= worker_queues(rclient)
                            and worker_queues(rclient), "workers on every queue", 60, running)
        checks.add("workers registered on every queue", True, ",".join(sorted(queues)))

        say("end-to-end scenario (tests/e2e) against the running roles")
        scenario = subprocess.run(
            [PY, "-m", "pytest", "-m", "e2e", "tests/e2e", "-p", "no:cacheprovider", "-q"], cwd=ROOT,
            env={**env, **values,  # its `flask` commands run against the stack, as `honcho run` would
                 "E2E_SERVICE_URL": service, "E2E_SIMULATOR_URL": simulator, "E2E_API_TOKEN": token},
            timeout=300)
        checks.add("end-to-end scenario through the production roles", scenario.returncode == 0,
                   f"pytest exit {scenario.returncode}")

        checks.add("every role still running after the scenario", running())
        health = requests.get(f"{service}/healthz", timeout=5)
        checks.add("web: /healthz", health.status_code == 200 and health.json().get("status") == "ok")
        standin = requests.get(f"{service}/sidebar/static/ww-standin.js", timeout=5)
        checks.add("real mode: the sandbox JS-SDK stand-in is not served", standin.status_code == 404,
                   f"HTTP {standin.status_code}")
        # The first sweeps fall due 15 s after the scheduler starts (drain-spool: scrm/queueing.py).
        checks.add("scheduler: sweeps enqueued on the periodic queue", wait_until(
            lambda: rclient.sismember("rq:queues", "rq:queue:periodic"), "a sweep on the periodic queue", 45,
            running))
    finally:
        if runner is not None:
            say("stopping the roles (SIGTERM to the runner)")
            runner.send_signal(signal.SIGTERM)
            try:
                runner.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(runner.pid, signal.SIGKILL)
                runner.wait()
        os.killpg(sim.pid, signal.SIGTERM)
        try:
            sim.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(sim.pid, signal.SIGKILL)
        roles_log.close()
        sim_log.close()

    log_text = (work / "roles.log").read_text(encoding="utf-8", errors="replace")
    stopped = stop_lines(log_text)
    expected = {f"{role}.1" for role in ROLES}
    checks.add("every role stopped on SIGTERM, by itself",
               set(stopped) == expected and all(clean_stop(rc) for rc in stopped.values())
               and "SIGKILL" not in log_text, ", ".join(f"{k} rc={v}" for k, v in sorted(stopped.items())))
    checks.add("workers unregistered from Redis", registered_workers(rclient) == [],
               ", ".join(registered_workers(rclient)))
    checks.add("real mode: no SANDBOX MODE line in the roles' logs", "SANDBOX MODE" not in log_text)
    tracebacks = log_text.count("Traceback (most recent call last)")
    checks.add("no traceback in the roles' logs", tracebacks == 0, f"{tracebacks} traceback(s)")
    if os.environ.get("PRODCHECK_KEEP") != "1":
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        rclient.flushdb()


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="scrm-prodcheck-"))
    checks = Checks()
    try:
        check(work, checks)
    except Missing as exc:
        say(str(exc))
        shutil.rmtree(work, ignore_errors=True)
        return 2
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, with the logs kept
        checks.add("prod-check ran to the end", False, f"{type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    failed = [name for name, ok, _ in checks.results if not ok]
    if checks.passed:
        say(f"all {len(checks.results)} checks passed in {elapsed:.0f} s")
        if os.environ.get("PRODCHECK_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
    else:
        for name in ("roles.log", "simulator.log"):
            path = work / name
            if path.exists():
                say(f"--- last lines of {path}")
                print("\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-60:]), flush=True)
        say(f"{len(failed)} of {len(checks.results)} checks failed in {elapsed:.0f} s: {'; '.join(failed)}")
    print(f"prod-check: {len(checks.results) - len(failed)} passed, {len(failed)} failed", flush=True)
    return 0 if checks.passed else 1


if __name__ == "__main__":
    sys.exit(main())
