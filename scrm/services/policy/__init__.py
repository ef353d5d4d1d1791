"""The one access policy: every console page, every console call of the Open API and every
sidebar check asks this package.

  roles.py         roles (admin, manager, operator, sales) and data scopes (self, department
                   and below, corp); a member's role, or the default from WeCom's department leaders
  capabilities.py  which role may read or write which endpoint family; which page each role opens
  scope.py         the userids a member sees, and the query helpers that narrow reads to them
  departments.py   the department tree

Bearer tokens of the Open API are not members: they act for the whole corp within their own
read / write / admin scope (scrm/services/tokens.py), and every helper here is a no-op for them.
"""
from scrm.services.policy.capabilities import (
    CAPABILITIES,
    FAMILY_LABELS,
    READ,
    WRITE,
    allows,
    can_open,
    family_for,
)
from scrm.services.policy.roles import (
    ADMIN,
    MANAGER,
    NATURAL_SCOPE,
    OPERATOR,
    ROLE_LABELS,
    ROLES,
    SALES,
    SCOPE_LABELS,
    SCOPES,
    Role,
    default_role,
    members,
    role_from_row,
    role_of,
    role_query,
)
from scrm.services.policy.scope import (
    Viewer,
    can_view_customer,
    can_view_group,
    customer_visible,
    followers,
    group_visible,
    scope_customers,
    scope_groups,
    scope_select,
    viewable_customers,
    visible_userids,
)

__all__ = [
    "ADMIN", "CAPABILITIES", "FAMILY_LABELS", "MANAGER", "NATURAL_SCOPE", "OPERATOR", "READ", "ROLES",
    "ROLE_LABELS", "SALES", "SCOPES", "SCOPE_LABELS", "WRITE", "Role", "Viewer", "allows", "can_open",
    "can_view_customer", "can_view_group", "customer_visible", "default_role", "family_for", "followers",
    "group_visible", "members", "role_from_row", "role_of", "role_query", "scope_customers", "scope_groups",
    "scope_select", "viewable_customers", "visible_userids",
]
