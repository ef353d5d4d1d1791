"""`flask scrm role ...`: members' roles and data scopes (docs/console.md, Roles and data scopes).

  role set USERID --role admin|manager|operator|sales [--scope self|department|corp]
  role unset USERID     back to the default from WeCom (leader → manager/department, else sales/self)
  role list             every member with their effective role (默认: the default applies)
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from scrm.config import settings

role_cli = AppGroup("role", help="Members' roles and data scopes.")

_corp = click.option("--corp", "corp_id", help="Corp (default: WECOM_CORP_ID).")


@role_cli.command("set")
@click.argument("userid")
@click.option("--role", "role", required=True, type=click.Choice(("admin", "manager", "operator", "sales")))
@click.option("--scope", "data_scope", type=click.Choice(("self", "department", "corp")),
              help="Default: admin and operator corp, manager department, sales self.")
@click.option("--view-mobile", is_flag=True, help="Show customers' remark mobiles unmasked.")
@_corp
def set_command(userid: str, role: str, data_scope: str | None, view_mobile: bool, corp_id: str | None) -> None:
    """Give a member a role (and a data scope)."""
    from scrm.services import setup

    corp_id = corp_id or settings().wecom_corp_id
    if role == "admin" and data_scope not in (None, "corp"):
        raise click.ClickException("an admin's data scope is the whole corp (corp)")
    if not setup.is_member(corp_id, userid):
        raise click.ClickException(f"no member {userid} (run a staff sync first)")
    row = setup.set_role(corp_id, userid, {"role": role, "data_scope": data_scope, "can_view_mobile": view_mobile},
                         actor="cli")
    click.echo(f"{userid}: {row.role} ({row.data_scope})")


@role_cli.command("unset")
@click.argument("userid")
@_corp
def unset_command(userid: str, corp_id: str | None) -> None:
    """Remove a member's role: the default from WeCom applies again."""
    from scrm.services import setup

    row = setup.get_role(corp_id or settings().wecom_corp_id, userid)
    if row is None:
        raise click.ClickException(f"{userid} has no role assigned")
    setup.delete_role(row, actor="cli")
    click.echo(f"{userid}: back to the default")


@role_cli.command("list")
@_corp
def list_command(corp_id: str | None) -> None:
    """Every member who has not left, with their effective role and scope."""
    from scrm.services import policy

    for member in policy.members(corp_id or settings().wecom_corp_id):
        mark = "  默认" if member["is_default"] else ""
        click.echo(f"{member['userid']}\t{member['role']}\t{member['data_scope']}{mark}")
