"""The simulator and the dev stack are development tools: the service never imports them."""
from __future__ import annotations

import ast
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = ("scrm", "callbacks", "sidebar", "jobs")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_service_module_imports_the_sandbox_package():
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for package in SERVICE_PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
                 for name in imported_modules(path) if name == "sandbox" or name.startswith("sandbox.")]
    assert offenders == []
    assert not (ROOT / "scrm" / "sandbox").exists() and not (ROOT / "scrm" / "devstack.py").exists()


def test_the_app_and_its_workers_load_without_the_sandbox_package(tmp_path):
    """Even in sandbox mode (no WECOM_* set): the service talks to the simulator over HTTP only."""
    code = ("import sys, wsgi, scrm.cli, scrm.worker; "
            "print(sorted(m for m in sys.modules if m == 'sandbox' or m.startswith('sandbox.')))")
    env = {"SECRET_KEY": secrets.token_hex(32), "PATH": "/usr/bin:/bin",
           "DATABASE_URL": f"sqlite:///{tmp_path}/scrm.db", "REDIS_URL": "redis://127.0.0.1:1/0"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
