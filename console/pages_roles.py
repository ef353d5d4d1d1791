"""成员角色 (/console/roles): every member with their role and data scope; an admin edits them in a
drawer. The data: GET /console/api/v1/staff-roles/members, PUT and DELETE
/console/api/v1/staff-roles/<userid> (the Open API's resources; admins only, as the page)."""
from __future__ import annotations

from console import bp
from console.pages import _shell
from scrm.services import policy


def _actions(actions: frozenset[str]) -> str:
    return "readwrite" if policy.WRITE in actions else "read" if policy.READ in actions else ""


def _labels() -> dict:
    return {
        "roles": [{"value": r, "label": policy.ROLE_LABELS[r]} for r in policy.ROLES],
        "scopes": [{"value": s, "label": policy.SCOPE_LABELS[s]} for s in policy.SCOPES],
        "natural_scope": dict(policy.NATURAL_SCOPE),
        "capabilities": [{"family": family, "label": policy.FAMILY_LABELS.get(family, family),
                          **{role: _actions(actions) for role, actions in by_role.items()}}
                         for family, by_role in policy.CAPABILITIES.items()],
    }


@bp.get("/roles")
def roles_page():
    return _shell("console/roles.html", "roles", page="roles", **_labels())
