"""What the signed-in principal may open in the console: the menu shows, and the pages answer,
only the sections their role can use (scrm/services/policy decides; the data behind each page is
checked again by the Open API's console path, scrm/api/auth.py)."""
from __future__ import annotations

from flask import g, request

from console import bp
from console.auth import refuse
from scrm.services import policy

NOT_PAGES = frozenset({"api", "login", "logout", "static"})
# The console's own JSON endpoints (/console/api/<name>/…, not the Open API's /console/api/v1):
# the page whose data each serves, so a role that cannot open the page cannot read them either.
CONSOLE_API_PAGES = {"channels": "channels", "group-codes": "community", "dashboard": ""}


def role() -> str:
    """The principal's role, once per request (a local administrator is an admin)."""
    principal = g.get("console")
    if principal is None:
        return ""
    if principal.kind == "admin":
        return policy.ADMIN
    cached = g.get("console_role")
    if cached is None or cached[0] != principal.userid:
        cached = g.console_role = (principal.userid, policy.role_of(principal.corp_id, principal.userid).role)
    return cached[1]


def can_open(slug: str) -> bool:
    return policy.can_open(role(), slug)


@bp.before_request
def gate_pages():
    """A page of a section the role cannot use: 403 (the menu does not offer it either)."""
    if g.get("console") is None:
        return None
    parts = request.path.removeprefix("/console/").split("/")
    slug = parts[0]
    if slug == "api" and len(parts) > 1 and parts[1] in CONSOLE_API_PAGES:
        slug = CONSOLE_API_PAGES[parts[1]]
    if slug in NOT_PAGES or can_open(slug):
        return None
    return refuse(403, "你的角色无权使用此页面。")
