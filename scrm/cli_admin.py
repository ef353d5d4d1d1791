"""`flask scrm admin ...`: the console's local administrators (docs/console.md).

  admin create --username NAME [--password-stdin]        a new administrator
  admin set-password --username NAME [--password-stdin]  a new password (their sessions end)
  admin list                                             every administrator of the corp

Without --password-stdin the password is asked for twice at the terminal (not echoed); with
it, the first line of standard input is the password (scripts: `printf '%s\\n' "$PW" | flask …`).
"""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from scrm.clock import iso_z
from scrm.config import settings

admin_cli = AppGroup("admin", help="The console's local administrators.")

_corp = click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")
_username = click.option("--username", required=True, help="Login name (3-64 letters, digits, _ . @ -).")
_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _run(change, corp_id: str | None, username: str, password: str, done: str) -> None:
    from scrm.services.console.admins import AdminError

    try:
        row = change(corp_id or settings().wecom_corp_id, username, password)
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{done} {row.username}")


@admin_cli.command("create")
@_username
@_stdin
@_corp
def create_command(username: str, password_stdin: bool, corp_id: str | None) -> None:
    """Create a local administrator of the console."""
    from scrm.services.console import admins

    _run(admins.create, corp_id, username, _password(password_stdin), "created administrator")


@admin_cli.command("set-password")
@_username
@_stdin
@_corp
def set_password_command(username: str, password_stdin: bool, corp_id: str | None) -> None:
    """Give an administrator a new password; their console sessions end."""
    from scrm.services.console import admins

    _run(admins.set_password, corp_id, username, _password(password_stdin), "new password set for")


@admin_cli.command("list")
@_corp
def list_command(corp_id: str | None) -> None:
    """List the local administrators: username, created, password changed, last sign-in."""
    from scrm.services.console import admins

    rows = admins.list_admins(corp_id or settings().wecom_corp_id)
    if not rows:
        click.echo("no administrators (create one: flask scrm admin create --username NAME)")
    for row in rows:
        click.echo(f"{row.username}\tcreated {iso_z(row.created_at)}\tpassword changed "
                   f"{iso_z(row.password_changed_at)}\tlast sign-in {iso_z(row.last_login_at) or '-'}")
