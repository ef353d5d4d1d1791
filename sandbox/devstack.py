"""`make run`: the whole service on one machine, in one terminal.

Loads `.env` (creating it from `.env.example` with a fresh SECRET_KEY on first run, readable by
its owner only: mode 0600, and an existing `.env` readable by others is narrowed to 0600), starts an
embedded redis-server when REDIS_URL is not set, applies migrations, then runs the web server
(gunicorn), the `welcome` workers, a worker for the other queues and the scheduler, with their
logs combined and prefixed. Once they are up it prints one banner with every URL.

While it runs, `.env` carries a block with what `flask …` in another terminal needs and could not
know (the embedded Redis's URL; in sandbox mode the simulator's address): sandbox/envfile.py.
It is removed again on stop.

Ctrl-C stops the web, the workers and the scheduler first, then the simulator, then Redis
(sandbox/supervisor.py), without error lines; the exit code is 0.

With no WECOM_* credentials it runs in sandbox mode: it also starts the WeCom simulator
(`python -m sandbox`) and points the service at it. The simulator keeps its world in
SANDBOX_STATE_FILE across restarts, as the service keeps its database: by default
instance/sandbox-world.json, or beside the SQLite file DATABASE_URL names; with DATABASE_URL
naming a server, only if SANDBOX_STATE_FILE is set ("-": never kept).

Settings: SCRM_HOST (127.0.0.1), SCRM_PORT (5000), SCRM_WEB_WORKERS (2),
SCRM_REDIS_PORT (6390) and SCRM_REDIS_DIR (instance/redis) for the embedded Redis,
SCRM_ENV_FILE (.env; "-" for none), SCRM_WELCOME_WORKERS (1 welcome worker process);
sandbox: SANDBOX_PORT (5001), SANDBOX_STAFF (20), SANDBOX_CUSTOMERS (3000), SANDBOX_GROUPS (60),
SANDBOX_LATENCY_MS (50-150), SANDBOX_CALLBACK_WORKERS (1: callbacks delivered in order; more for
bursts, e.g. bench/welcome.py), SANDBOX_STATE_FILE; SCRM_PUBLIC_URL defaults to
http://SCRM_HOST:SCRM_PORT there.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from sandbox import envfile
from sandbox.supervisor import Stopper, Supervisor, http_ok, port_taken, run_once, say, tcp_open

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ENV_FILE_MODE = envfile.ENV_FILE_MODE


def env_file_path() -> Path | None:
    setting = os.environ.get("SCRM_ENV_FILE", str(ROOT / ".env"))
    return None if setting == "-" else Path(setting)


def load_env() -> dict[str, str]:
    """The environment, over `.env` (SCRM_ENV_FILE names another file; "-" reads none). The dev
    stack's own block in the file (written while it runs) is not read."""
    env_file = env_file_path()
    if env_file is None:
        return dict(os.environ)
    if env_file.exists():
        envfile.make_private(env_file, say)
    else:
        envfile.create_from_example(env_file, ROOT / ".env.example")
        say(f"created {env_file.name} (mode 0600) from .env.example (sandbox mode until you put your WeCom "
            "app's credentials in it)")
    env = envfile.own_values(env_file)
    env.update(os.environ)  # the real environment wins over .env
    env.setdefault("LOG_FORMAT", "text")  # a person reads this terminal; production keeps JSON
    return env


def state_file(env: dict[str, str]) -> str | None:
    """Where the simulator keeps its world (None: not kept): beside the service's data."""
    setting = env.get("SANDBOX_STATE_FILE")
    if setting:
        return None if setting == "-" else setting
    database = env.get("DATABASE_URL")
    if not database:
        return str(ROOT / "instance" / "sandbox-world.json")
    parts = urlsplit(database)
    if parts.scheme.startswith("sqlite") and parts.path not in ("", "/", "/:memory:"):
        sqlite_file = Path(parts.path[1:])  # sqlite:///relative or sqlite:////absolute
        return str(sqlite_file.with_name(sqlite_file.stem + ".sandbox-world.json"))
    return None


def main() -> int:
    stopper = Stopper()
    env = load_env()
    from scrm.config import ConfigError, load_settings, sandbox_mode

    try:
        load_settings({**env, "REDIS_URL": env.get("REDIS_URL") or "redis://embedded"},
                      instance_path=str(ROOT / "instance"))
        sandbox = sandbox_mode(env)
    except ConfigError as exc:
        say(f"configuration error: {exc}")
        return 2
    host, port = env.get("SCRM_HOST", "127.0.0.1"), env.get("SCRM_PORT", "5000")
    sim_port = env.get("SANDBOX_PORT", "5001")
    redis_port = env.get("SCRM_REDIS_PORT", "6390")
    ports = {"SCRM_PORT": (host, port), **({"SANDBOX_PORT": ("127.0.0.1", sim_port)} if sandbox else {}),
             **({} if env.get("REDIS_URL") else {"SCRM_REDIS_PORT": ("127.0.0.1", redis_port)})}
    for name, (bind_host, bind_port) in ports.items():
        if not bind_port.isdigit():
            say(f"configuration error: {name} must be a port number (got {bind_port!r})")
            return 2
        if port_taken(bind_host, int(bind_port)):
            say(f"error: port {bind_port} on {bind_host} is in use (another `make run`?): stop that, or set {name}")
            return 2

    redis_server = None
    env_file = env_file_path()
    try:
        if not env.get("REDIS_URL"):
            from sandbox.embedded_redis import EmbeddedRedis

            try:
                redis_server = EmbeddedRedis(port=int(redis_port), persist=True, own_session=True,
                                             directory=env.get("SCRM_REDIS_DIR", str(ROOT / "instance" / "redis"))
                                             ).start()
            except RuntimeError as exc:
                say(f"error: {exc}")
                return 1
            env["REDIS_URL"] = redis_server.url
        if sandbox:
            env.setdefault("WECOM_API_BASE_URL", f"http://127.0.0.1:{sim_port}/cgi-bin/")
            # The sidebar's OAuth goes to the simulator (in sandbox mode WECOM_OAUTH_URL defaults to
            # the API base's origin) and comes back to PUBLIC_URL: the host the chat window frames.
            env.setdefault("SCRM_PUBLIC_URL", f"http://{host}:{port}")
            say("SANDBOX MODE (no WECOM_* credentials): the service talks to the WeCom simulator")
        if env_file is not None:
            envfile.write_block(env_file, envfile.block_values(env, envfile.own_values(env_file)))
        if not prepare(env, sandbox, stopper):
            return 0 if stopper.requested.is_set() else 1
        return run(env, sandbox, stopper, host, port, sim_port, embedded_redis=redis_server is not None)
    finally:
        if env_file is not None:
            envfile.remove_block(env_file)
        if redis_server:
            redis_server.stop()
        if stopper.requested.is_set():
            say("stopped")


FLASK = [PY, "-m", "flask", "--app", "wsgi"]


def prepare(env: dict[str, str], sandbox: bool, stopper: Stopper) -> bool:
    """Migrations (and in sandbox mode the demo content), quietly: their output only when they fail."""
    steps = [("database migrations", [*FLASK, "db", "upgrade"])]
    if sandbox:
        steps.append(("sample 话术 for the sidebar", [*FLASK, "scrm", "demo-content"]))
    if not all(step(what, cmd, env, stopper) for what, cmd in steps):
        return False
    say("database ready")
    return True


def step(what: str, cmd: list[str], env: dict[str, str], stopper: Stopper) -> bool:
    """A one-off command, quietly: its output only when it fails."""
    code, output = run_once(cmd, ROOT, env, stopper)
    if code is None:
        return False
    if code != 0:
        sys.stdout.write(output)
        say(f"{what} failed (exit code {code}); see the output above")
    return code == 0


def run(env: dict[str, str], sandbox: bool, stopper: Stopper, host: str, port: str, sim_port: str, *,
        embedded_redis: bool) -> int:
    commands: dict[str, list[str]] = {}
    if sandbox:
        commands["simulator"] = [
            PY, "-m", "sandbox", "--port", sim_port,
            "--callback-url", f"http://127.0.0.1:{port}/wecom/callback",
            "--service-url", f"http://{host}:{port}",
            "--staff", env.get("SANDBOX_STAFF", "20"), "--customers", env.get("SANDBOX_CUSTOMERS", "3000"),
            "--groups", env.get("SANDBOX_GROUPS", "60"), "--latency-ms", env.get("SANDBOX_LATENCY_MS", "50-150"),
            "--callback-workers", env.get("SANDBOX_CALLBACK_WORKERS", "1"),
            *(["--state-file", path] if (path := state_file(env)) else [])]
    commands.update({
        "web": [PY, "-m", "gunicorn", "wsgi:app", "--bind", f"{host}:{port}",
                "--workers", env.get("SCRM_WEB_WORKERS", "2"), "--access-logfile", "-"],
        **{f"welcome{i or ''}": [*FLASK, "scrm", "worker", "welcome"]
           for i in range(int(env.get("SCRM_WELCOME_WORKERS", "1")))},
        "worker": [*FLASK, "scrm", "worker"],
        "scheduler": [*FLASK, "scrm", "scheduler"],
    })
    supervisor = Supervisor(ROOT, env, stopper)
    supervisor.start(commands)
    try:
        service = f"http://{host}:{port}"
        simulator = f"http://127.0.0.1:{sim_port}"
        up = (supervisor.wait_until(lambda: tcp_open(host, int(port)), 120)
              and supervisor.wait_until(lambda: http_ok(f"{service}/readyz"), 60)
              and (not sandbox or supervisor.wait_until(lambda: http_ok(f"{simulator}/sandbox/api/"), 120)))
        if stopper.requested.is_set() or supervisor.dead():
            return supervisor.watch()
        if not up:
            say("the service did not answer in time; stopping")
            return 1
        # The simulator's staff names and tag library, for the sidebar (customers and groups arrive
        # by callbacks or `flask scrm sync`), queued once the simulator answers.
        if sandbox and not step("the staff and tag sync",
                                [*FLASK, "scrm", "sync", "--only", "staff,tags", "--no-wait"], env, stopper):
            return 0 if stopper.requested.is_set() else 1
        supervisor.settle()
        if not supervisor.dead() and not stopper.requested.is_set():
            banner(env, service, simulator if sandbox else None)
        return supervisor.watch()
    finally:
        say("stopping: web, workers and scheduler first" + (", then the simulator" if sandbox else "")
            + (", Redis last" if embedded_redis else ""))
        supervisor.stop(last=("simulator",))


def banner(env: dict[str, str], service: str, simulator: str | None) -> None:
    rows = [("service", f"{service}   (WeCom's callback URL: {service}/wecom/callback)")]
    if simulator:
        rows.append(("sandbox page", f"{simulator}/   ← play WeCom here: add customers, open the chat window"))
    rows += [("API docs", f"{service}/api/docs"), ("health", f"{service}/readyz"),
             ("sidebar", f"{service}/sidebar/" + (f"   (inside the sandbox's chat window: {simulator}/chat)"
                                                  if simulator else ""))]
    env_file = env_file_path()
    if env_file is None:
        cli = f"REDIS_URL={env['REDIS_URL']} .venv/bin/flask scrm …"
    elif env_file.resolve() == (ROOT / ".env").resolve():
        cli = "`. .venv/bin/activate`, then `flask scrm …` (while this runs, .env has what flask needs)"
    else:
        cli = f"`. .venv/bin/activate; set -a; . {env_file}; set +a`, then `flask scrm …`"
    rows += [("CLI", f"in another terminal: {cli}")]
    if simulator:
        rows.append(("first steps", "`flask scrm sync` copies the simulated corp's customers and groups in; "
                                    "`flask scrm token create my-crm` prints an Open API token"))
    rows.append(("stop", "Ctrl-C"))
    width = max(len(name) for name, _ in rows)
    rule = "─" * 72
    lines = [rule, "SCRM is running" + (" (sandbox: WeCom is the simulator)" if simulator else ""),
             *(f"  {name:<{width}}  {value}" for name, value in rows), rule]
    print("\n".join(f"[scrm] {line}" for line in lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
