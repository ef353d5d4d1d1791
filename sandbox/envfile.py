"""`make run`'s `.env`: created private on first run, read without the dev stack's own block, and
that block written while the stack runs so `flask …` in another terminal finds what it needs.

`flask` loads `.env` from the working directory (python-dotenv; the real environment wins). Some
of what the service needs exists only while `make run` runs: the embedded Redis's URL, and in
sandbox mode the simulator's address. The dev stack appends those, between two marker lines, when
it starts and removes them when it stops; every other line of the file is left as it was. The
block is never read back as the person's own settings (a stale one from a killed run is simply
replaced), so a REDIS_URL in it never stops the next `make run` from starting its Redis.
"""
from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Mapping
from io import StringIO
from pathlib import Path

from dotenv import dotenv_values

ENV_FILE_MODE = 0o600  # .env holds SECRET_KEY and the WeCom app's secret: its owner only
BLOCK_START = "# >>> written by `make run` while it runs (removed when it stops): for `flask` in another terminal"
BLOCK_END = "# <<< `make run`"
# What the dev stack may know and `flask` would not: written into the block when the dev stack has
# a value and the file does not define it itself. Never a secret. (LOG_FORMAT: the dev stack's
# `text`, for the person at the terminal, unless the file says otherwise.)
CLI_KEYS = ("REDIS_URL", "DATABASE_URL", "SCRM_SPOOL_DIR", "SCRM_SANDBOX", "WECOM_API_BASE_URL",
            "WECOM_OAUTH_URL", "SCRM_PUBLIC_URL", "LOG_FORMAT")


def create_private(path: Path, text: str) -> None:
    """Write a new file that is never readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, ENV_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def make_private(path: Path, say: Callable[[str], None]) -> None:
    """Narrow an existing file that group or others may read or write to 0600."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(path, ENV_FILE_MODE)
        say(f"{path.name} was mode {mode:04o} (readable by others): changed it to {ENV_FILE_MODE:04o}")
    except PermissionError:
        say(f"warning: {path} is mode {mode:04o}, readable by others, and not yours to chmod")


def create_from_example(path: Path, example: Path) -> None:
    template = example.read_text(encoding="utf-8")
    create_private(path, template.replace("SECRET_KEY=change-me", f"SECRET_KEY={secrets.token_hex(32)}"))


def without_block(text: str) -> str:
    """``text`` without the dev stack's block (every block, should a crash have left two)."""
    kept, inside = [], False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == BLOCK_START:
            inside = True
        elif inside and line.rstrip("\n") == BLOCK_END:
            inside = False
        elif not inside:
            kept.append(line)
    return "".join(kept)


def own_values(path: Path) -> dict[str, str]:
    """The file's settings, the dev stack's block left out."""
    text = without_block(path.read_text(encoding="utf-8"))
    return {key: value for key, value in dotenv_values(stream=StringIO(text)).items() if value is not None}


def _replace(path: Path, text: str) -> None:
    """Replace the file's content atomically, keeping it private (0600 unless it was narrower)."""
    mode = stat.S_IMODE(path.stat().st_mode) & ENV_FILE_MODE if path.exists() else ENV_FILE_MODE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode or ENV_FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def block_values(env: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """What goes into the block: the CLI_KEYS the stack has a value for and the file lacks."""
    return {key: env[key] for key in CLI_KEYS if env.get(key) and not own.get(key)}


def write_block(path: Path, values: Mapping[str, str]) -> None:
    """Put ``values`` into the file's block (replacing any earlier block); no values, no block."""
    text = without_block(path.read_text(encoding="utf-8"))
    if values:
        if text and not text.endswith("\n"):
            text += "\n"
        text += "\n".join([BLOCK_START, *(f"{key}={value}" for key, value in values.items()), BLOCK_END]) + "\n"
    _replace(path, text)


def remove_block(path: Path) -> None:
    if path.exists():
        text = path.read_text(encoding="utf-8")
        if without_block(text) != text:
            _replace(path, without_block(text))
