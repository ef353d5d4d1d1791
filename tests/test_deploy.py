"""The deployment recipes: Procfile, Dockerfile, compose.yaml, the container entrypoint, the
Procfile runner and prod-check's pieces. No image can be built here (no base image can be
pulled), so these check what can be checked without one: every role's command resolves to a real
entry point with valid arguments, every variable handed to the service is a setting it knows,
and the scripts do what they say when run."""
from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import click
import pytest
import yaml
from gunicorn.config import Config as GunicornConfig

from scrm.config import Settings, load_settings
from scrm.queueing import QUEUES

ROOT = Path(__file__).resolve().parent.parent
ROLES = {"web", "worker", "welcome", "scheduler"}
SETTINGS_ENV = {spec.metadata["env"] for spec in fields(Settings)}
# Read by gunicorn, not by the service: its bind port and worker-process count.
PROCESS_ENV = {"PORT", "WEB_CONCURRENCY"}
SECRETS = {"SECRET_KEY", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY", "SCRM_DATA_KEY", "DATABASE_URL", "REDIS_URL"}


def procfile() -> dict[str, str]:
    """Role → command. Every line starts with `exec`, so the role replaces the runner's shell: it
    gets the stop signal itself, and its exit code is the one the runner reports."""
    roles = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            assert match.group(2).startswith("exec "), line
            roles[match.group(1)] = match.group(2).removeprefix("exec ")
    return roles


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def gunicorn_settings(path: Path) -> GunicornConfig:
    """The config file loaded as gunicorn loads it: each name must be a setting, each value valid."""
    cfg = GunicornConfig()
    for name, value in runpy.run_path(str(path)).items():
        if name.startswith("_") or not name.islower() or callable(value) or isinstance(value, type(os)):
            continue
        assert name in cfg.settings, f"{path.name}: {name} is not a gunicorn setting"
        cfg.set(name, value)
    return cfg


def resolve_command(app, argv: list[str]) -> click.Context:
    """A Procfile/compose command resolved to its entry point, arguments parsed as it would parse
    them (gunicorn: its option parser, the config file and the WSGI app; flask: the click command
    of the app's CLI). Returns the click context (flask) or None (gunicorn)."""
    if argv[0] == "gunicorn":
        args = GunicornConfig().parser().parse_args(argv[1:])
        gunicorn_settings(ROOT / args.config)
        module, _, name = args.args[0].partition(":")
        assert (ROOT / f"{module}.py").is_file()
        from gunicorn.util import import_app

        assert import_app(args.args[0]).name == app.name
        return None
    assert argv[:3] == ["flask", "--app", "wsgi"], argv
    command, ctx, rest = app.cli, None, argv[3:]
    while isinstance(command, click.Group):
        ctx = click.Context(command, info_name=command.name, parent=ctx)
        name, rest = rest[0], rest[1:]
        command = command.get_command(ctx, name)
        assert command is not None, f"no command {name!r} in {argv}"
    return command.make_context(command.name, list(rest), parent=ctx)


# ---- Procfile -------------------------------------------------------------------------------

def test_the_procfile_has_the_four_roles_and_each_runs_a_real_entry_point(app):
    roles = procfile()
    assert set(roles) == ROLES
    for role, command in roles.items():
        ctx = resolve_command(app, shlex.split(command))
        if role == "web":
            assert ctx is None
        else:
            assert ctx.command.name == ("scheduler" if role == "scheduler" else "worker")
            assert set(ctx.params.get("queues") or ()) <= set(QUEUES)
    assert resolve_command(app, shlex.split(roles["welcome"])).params["queues"] == ("welcome",)


def test_the_web_role_drains_requests_before_a_stop_and_a_runner_waits_longer():
    from deploy import procs

    cfg = gunicorn_settings(ROOT / "deploy" / "gunicorn.conf.py")
    assert cfg.worker_class_str == "gthread" and cfg.threads == 4 and cfg.preload_app
    assert cfg.graceful_timeout == 30 and cfg.reuse_port and cfg.keepalive == 30
    assert procs.STOP_GRACE > cfg.graceful_timeout
    assert int(compose()["services"]["web"]["stop_grace_period"].rstrip("s")) > cfg.graceful_timeout


def test_the_runner_checks_the_procfile():
    result = subprocess.run([sys.executable, "-m", "deploy.procs", "check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Valid procfile detected (web, worker, welcome, scheduler)" in result.stderr + result.stdout


def test_the_runner_finds_this_virtualenv_and_lets_a_role_finish_its_stop(tmp_path):
    """deploy.procs puts the interpreter's bin directory first on PATH, and waits STOP_GRACE (not
    honcho's 5 s) before it kills a role that is still finishing after SIGTERM."""
    (tmp_path / "Procfile").write_text(
        "slow: trap 'sleep 6; echo drained; exit 0' TERM; echo \"python=$(command -v python)\"; "
        "while true; do sleep 0.2; done\n")
    (tmp_path / ".env").write_text("")
    log = tmp_path / "out.log"
    with open(log, "w") as out:
        runner = subprocess.Popen([sys.executable, "-m", "deploy.procs", "start", "--no-colour", "-d", str(tmp_path),
                                   "-f", str(tmp_path / "Procfile")], cwd=ROOT, stdout=out,
                                  stderr=subprocess.STDOUT, env={**os.environ, "PATH": "/usr/bin:/bin"},
                                  start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while "python=" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            runner.send_signal(signal.SIGTERM)
            runner.wait(60)
        finally:
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGKILL)
    text = log.read_text()
    assert f"python={os.path.dirname(sys.executable)}/python" in text
    assert "drained" in text and "slow.1 stopped (rc=0)" in text
    assert "SIGKILL" not in text


# ---- the container image --------------------------------------------------------------------

def test_the_dockerfile_builds_one_image_whose_command_picks_the_role():
    instructions = dockerfile()
    keywords = [keyword for keyword, _ in instructions]
    args = dict(instructions[::-1])  # the first of each instruction wins
    assert re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim", args["FROM"])
    assert any(kw == "ARG" and rest.startswith("PIP_INDEX_URL") for kw, rest in instructions)
    assert any(kw == "RUN" and "pip install -r requirements.txt" in rest for kw, rest in instructions)
    user = [rest for kw, rest in instructions if kw == "USER"]
    assert user and user[-1] not in ("root", "0") and keywords.index("USER") > keywords.index("COPY")
    assert "/healthz" in args["HEALTHCHECK"]
    entrypoint = json.loads(args["ENTRYPOINT"])
    assert args["WORKDIR"] == "/app" and entrypoint == ["/app/deploy/entrypoint.sh"]
    assert os.access(ROOT / Path(entrypoint[0]).relative_to("/app"), os.X_OK)
    assert json.loads(args["CMD"])[0] in procfile()


def test_the_image_bakes_in_no_secret_and_only_known_settings():
    env_names = set()
    for keyword, rest in dockerfile():
        if keyword == "ENV":
            env_names |= set(re.findall(r"([A-Z_][A-Z0-9_]*)=", rest))
    service_env = {name for name in env_names if not name.startswith(("PYTHON", "PIP_"))}
    assert service_env <= SETTINGS_ENV | PROCESS_ENV, service_env - SETTINGS_ENV - PROCESS_ENV
    assert not env_names & SECRETS
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for pattern in (".env", ".git/", ".venv/", "instance/", "tests/"):
        assert pattern in ignored


@pytest.mark.parametrize("role", sorted(ROLES))
def test_the_entrypoint_runs_the_procfile_line_of_a_role(role, tmp_path):
    for tool in ("gunicorn", "flask"):  # stand-ins that print how they were called
        (tmp_path / tool).write_text('#!/bin/sh\necho "$(basename "$0") $*"\n')
        (tmp_path / tool).chmod(0o755)
    result = subprocess.run(["deploy/entrypoint.sh", role], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == procfile()[role]


def test_the_entrypoint_runs_anything_else_as_given():
    result = subprocess.run(["deploy/entrypoint.sh", "sh", "-c", "echo one-off $0", "web"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "one-off web"
    assert subprocess.run(["deploy/entrypoint.sh", ".*"], cwd=ROOT, capture_output=True, timeout=30).returncode == 127


# ---- compose.yaml ---------------------------------------------------------------------------

def app_services(doc: dict) -> dict[str, dict]:
    return {name: svc for name, svc in doc["services"].items() if svc.get("image") == "scrm:latest"}


def test_compose_runs_each_role_of_the_image_after_the_one_off_migration(app):
    doc = compose()
    services = app_services(doc)
    assert set(services) == ROLES | {"migrate"}
    for name, svc in services.items():
        if name == "migrate":
            ctx = resolve_command(app, svc["command"])
            assert ctx.command.name == "upgrade" and ctx.parent.command.name == "db"
            assert svc["restart"] == "no" and svc["depends_on"] == {"postgres": {"condition": "service_healthy"}}
            continue
        assert svc["command"] == [name] and name in procfile()
        assert svc["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                     "redis": {"condition": "service_healthy"},
                                     "migrate": {"condition": "service_completed_successfully"}}
        assert svc["init"] is True and svc["env_file"] == ".env"
        assert svc["environment"]["SCRM_SANDBOX"] == "0"
        assert bool(svc["healthcheck"].get("disable")) is (name != "web")
    assert services["scheduler"]["deploy"]["replicas"] == 1
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_compose_gives_postgres_and_redis_health_checks_and_named_volumes():
    doc = compose()
    for name in ("postgres", "redis"):
        svc = doc["services"][name]
        assert svc["healthcheck"]["test"][0] == "CMD"
        volume = svc["volumes"][0].split(":")[0]
        assert volume in doc["volumes"]
    image_env = " ".join(rest for kw, rest in dockerfile() if kw == "ENV")
    spool_dir = re.search(r"SCRM_SPOOL_DIR=(\S+)", image_env).group(1)
    assert doc["services"]["web"]["volumes"] == [f"spool:{spool_dir}"] and "spool" in doc["volumes"]
    # The worker runs the drain-spool sweep: it must see the web's spool.
    assert f"spool:{spool_dir}" in doc["services"]["worker"]["volumes"]


def test_compose_hands_the_service_only_settings_it_knows_and_documents_its_own_variables():
    text = (ROOT / "compose.yaml").read_text()
    for svc in app_services(compose()).values():
        names = set(svc.get("environment") or {})
        assert names <= SETTINGS_ENV | PROCESS_ENV, names - SETTINGS_ENV - PROCESS_ENV
    interpolated = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    assert interpolated == {"POSTGRES_PASSWORD", "PIP_INDEX_URL", "WEB_CONCURRENCY"}
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    for name in interpolated:
        assert f"`{name}`" in deployment, f"{name} is not documented in docs/deployment.md"


# ---- prod-check's pieces ----------------------------------------------------------------------

def test_prod_check_configures_real_mode_with_the_simulator_as_wecom(tmp_path):
    from deploy import prodcheck

    values = prodcheck.settings_file(tmp_path / "env", database_url="postgresql+psycopg://u@h/d",
                                     redis="redis://h:6379/14", port=5123, sim_port=5124, spool=tmp_path)
    assert set(values) <= SETTINGS_ENV | PROCESS_ENV, set(values) - SETTINGS_ENV - PROCESS_ENV
    settings = load_settings(values)
    assert settings.sandbox is False
    assert settings.wecom_api_base_url == "http://127.0.0.1:5124/cgi-bin/"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert (tmp_path / "env").stat().st_mode & 0o077 == 0
    from honcho.environ import parse  # the runner's own .env parser reads the same values

    assert parse((tmp_path / "env").read_text()) == values


def test_prod_check_keeps_the_callers_settings_out_of_the_roles(monkeypatch):
    from deploy import prodcheck

    monkeypatch.setenv("WECOM_CORP_ID", "wwreal")
    monkeypatch.setenv("SCRM_WELCOME_THREADS", "1")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    env = prodcheck.runner_env(5123)
    assert not {"WECOM_CORP_ID", "SCRM_WELCOME_THREADS", "DATABASE_URL"} & set(env)
    assert env["GUNICORN_CMD_ARGS"] == "--bind 127.0.0.1:5123" and env["FLASK_SKIP_DOTENV"] == "1"


def test_prod_check_says_what_it_needs_when_a_server_is_missing(monkeypatch):
    from deploy import prodcheck
    from sandbox.embedded_redis import free_port

    closed = free_port()
    with pytest.raises(prodcheck.Missing, match="needs a PostgreSQL server .*PRODCHECK_PG_ADMIN_URL"):
        prodcheck.fresh_database(f"postgresql://postgres@127.0.0.1:{closed}/postgres", "scrm_prodcheck")
    with pytest.raises(prodcheck.Missing, match="needs a Redis server.*PRODCHECK_REDIS_URL"):
        prodcheck.empty_redis(f"redis://127.0.0.1:{closed}/14")
    monkeypatch.delenv("PRODCHECK_REDIS_URL", raising=False)
    monkeypatch.setenv("CI_REDIS_URL", "redis://ci-redis:6380/15")
    assert prodcheck.redis_url() == "redis://ci-redis:6380/14"


def test_prod_check_reads_how_each_role_stopped():
    from deploy import prodcheck

    log = ("12:00:00 system    | web.1 stopped (rc=0)\n12:00:01 system    | scheduler.1 stopped (rc=-15)\n"
           "12:00:02 system    | worker.1 stopped (rc=1)\n")
    stopped = prodcheck.stop_lines(log)
    assert stopped == {"web.1": "0", "scheduler.1": "-15", "worker.1": "1"}
    assert [prodcheck.clean_stop(rc) for rc in stopped.values()] == [True, True, False]
