"""`make run`: the whole service on one machine, in one terminal.

Loads `.env` (creating it from `.env.example` with a fresh SECRET_KEY on first run, readable by
its owner only: mode 0600, and an existing `.env` readable by others is narrowed to 0600), starts an
embedded redis-server when REDIS_URL is not set, applies migrations, then runs the web server
(gunicorn), a `welcome` worker, a worker for the other queues and the scheduler, with their
logs combined and prefixed. Ctrl-C stops everything cleanly.

With no WECOM_* credentials it runs in sandbox mode: it also starts the WeCom simulator
(`python -m sandbox`) and points the service at it.

Settings: SCRM_HOST (127.0.0.1), SCRM_PORT (5000), SCRM_WEB_WORKERS (2),
SCRM_REDIS_PORT (6390) and SCRM_REDIS_DIR (instance/redis) for the embedded Redis,
SCRM_ENV_FILE (.env; "-" for none), SCRM_WELCOME_WORKERS (2 welcome worker processes);
sandbox: SANDBOX_PORT (5001), SANDBOX_STAFF (20), SANDBOX_CUSTOMERS (3000), SANDBOX_GROUPS (60),
SANDBOX_LATENCY_MS (50-150), SANDBOX_CALLBACK_WORKERS (1: callbacks delivered in order; more for
bursts, e.g. bench/welcome.py); SCRM_PUBLIC_URL defaults to http://SCRM_HOST:SCRM_PORT there.
"""
from __future__ import annotations

import os
import secrets
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def say(message: str) -> None:
    print(f"[scrm] {message}", flush=True)


ENV_FILE_MODE = 0o600  # .env holds SECRET_KEY and the WeCom app's secret: its owner only


def create_private(path: Path, text: str) -> None:
    """Write a new file that is never readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, ENV_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def make_private(path: Path) -> None:
    """Narrow an existing file that group or others may read or write to 0600."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(path, ENV_FILE_MODE)
        say(f"{path.name} was mode {mode:04o} (readable by others): changed it to {ENV_FILE_MODE:04o}")
    except PermissionError:
        say(f"warning: {path} is mode {mode:04o}, readable by others, and not yours to chmod")


def load_env() -> dict[str, str]:
    """The environment, over `.env` (SCRM_ENV_FILE names another file; "-" reads none)."""
    env_file_setting = os.environ.get("SCRM_ENV_FILE", str(ROOT / ".env"))
    if env_file_setting == "-":
        return dict(os.environ)
    env_file = Path(env_file_setting)
    if env_file.exists():
        make_private(env_file)
    else:
        template = (ROOT / ".env.example").read_text(encoding="utf-8")
        create_private(env_file, template.replace("SECRET_KEY=change-me", f"SECRET_KEY={secrets.token_hex(32)}"))
        say(f"created {env_file.name} (mode 0600) from .env.example (sandbox mode until you put your WeCom "
            "app's credentials in it)")
    env = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    env.update(os.environ)  # the real environment wins over .env
    env.setdefault("LOG_FORMAT", "text")  # a person reads this terminal; production keeps JSON
    return env


def pump(name: str, stream) -> None:
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{name:>9} | {line}")
        sys.stdout.flush()


def main() -> int:
    env = load_env()
    from scrm.config import ConfigError, load_settings, sandbox_mode

    try:
        load_settings({**env, "REDIS_URL": env.get("REDIS_URL") or "redis://embedded"},
                    instance_path=str(ROOT / "instance"))
    except ConfigError as exc:
        say(f"configuration error: {exc}")
        return 2

    redis_server = None
    if not env.get("REDIS_URL"):
        from sandbox.embedded_redis import EmbeddedRedis

        redis_server = EmbeddedRedis(port=int(env.get("SCRM_REDIS_PORT", "6390")),
                                     directory=env.get("SCRM_REDIS_DIR", str(ROOT / "instance" / "redis")),
                                     persist=True).start()
        env["REDIS_URL"] = redis_server.url
        say(f"REDIS_URL not set: started an embedded redis-server at {redis_server.url}")

    host, port = env.get("SCRM_HOST", "127.0.0.1"), env.get("SCRM_PORT", "5000")
    commands: dict[str, list[str]] = {}
    if sandbox_mode(env):
        sim_port = env.get("SANDBOX_PORT", "5001")
        env.setdefault("WECOM_API_BASE_URL", f"http://127.0.0.1:{sim_port}/cgi-bin/")
        # The sidebar's OAuth goes to the simulator (in sandbox mode WECOM_OAUTH_URL defaults to
        # the API base's origin) and comes back to PUBLIC_URL: the host the chat window frames.
        env.setdefault("SCRM_PUBLIC_URL", f"http://{host}:{port}")
        commands["simulator"] = [
            PY, "-m", "sandbox", "--port", sim_port,
            "--callback-url", f"http://127.0.0.1:{port}/wecom/callback",
            "--service-url", f"http://{host}:{port}",
            "--staff", env.get("SANDBOX_STAFF", "20"), "--customers", env.get("SANDBOX_CUSTOMERS", "3000"),
            "--groups", env.get("SANDBOX_GROUPS", "60"), "--latency-ms", env.get("SANDBOX_LATENCY_MS", "50-150"),
            "--callback-workers", env.get("SANDBOX_CALLBACK_WORKERS", "1")]
        say(f"SANDBOX MODE (no WECOM_* credentials): play WeCom at http://127.0.0.1:{sim_port}/")

    flask = [PY, "-m", "flask", "--app", "wsgi"]
    try:
        say("applying database migrations")
        if subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env).returncode != 0:
            say("migrations failed; see the error above")
            return 1
        if sandbox_mode(env):  # sample 话术 for the sidebar (only while the library is empty)
            subprocess.run([*flask, "scrm", "demo-content"], cwd=ROOT, env=env)
            # The simulator's staff names and tag library, for the sidebar (the worker runs it once
            # the simulator is up; customers and groups arrive by callbacks or `flask scrm sync`).
            subprocess.run([*flask, "scrm", "sync", "--only", "staff,tags", "--no-wait"], cwd=ROOT, env=env)
        commands.update({
            "web": [PY, "-m", "gunicorn", "wsgi:app", "--bind", f"{host}:{port}",
                    "--workers", env.get("SCRM_WEB_WORKERS", "2"), "--access-logfile", "-"],
            **{f"welcome{i or ''}": [*flask, "scrm", "worker", "welcome"]
               for i in range(int(env.get("SCRM_WELCOME_WORKERS", "2")))},
            "worker": [*flask, "scrm", "worker"],
            "scheduler": [*flask, "scrm", "scheduler"],
        })
        return supervise(commands, env, host, port)
    finally:
        if redis_server:
            redis_server.stop()


def supervise(commands: dict[str, list[str]], env: dict[str, str], host: str, port: str) -> int:
    procs: dict[str, subprocess.Popen] = {}
    stopping = threading.Event()

    def stop(*_args) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, cmd in commands.items():
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        procs[name] = proc
        threading.Thread(target=pump, args=(name, proc.stdout), daemon=True).start()
    say(f"callback URL: http://{host}:{port}/wecom/callback   health: /readyz   API docs: /api/docs")
    say("press Ctrl-C to stop")
    exit_code = 0
    while not stopping.wait(0.5):
        dead = [name for name, proc in procs.items() if proc.poll() is not None]
        if dead:
            say(f"{', '.join(dead)} exited; stopping everything")
            exit_code = 1
            break
    say("stopping")
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for name, proc in procs.items():
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop in time; killing it")
            proc.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
