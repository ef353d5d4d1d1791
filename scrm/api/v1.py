"""Open API v1 resources, all under /api/v1 and all behind a corp-scoped bearer token."""
from __future__ import annotations

from copy import deepcopy

from flask import Flask
from flask_smorest import Api

from scrm.api import (
    bulk_jobs,
    channel_costs,
    channels,
    churn,
    community,
    contents,
    corp_tags,
    customer_search,
    customers,
    events,
    group_labels,
    group_report,
    group_sops,
    group_stats,
    groups,
    handovers,
    mass_messages,
    ops,
    recall,
    report_channels,
    reports,
    reports_churn,
    reports_funnel,
    sidebar_admin,
    sops,
    status,
    syncs,
    welcome,
    welcome_outcomes,
)
from scrm.api.auth import SECURITY_DESCRIPTION

API_DESCRIPTION = """API for integrations (CRM sync, BI) and operators (channel codes, welcome
templates, customer SOPs, recall playbooks, handovers when staff leave); it also starts and follows synchronisations
with WeCom (`/api/v1/syncs`).

* **Auth**: every `/api/v1` request needs `Authorization: Bearer <token>`; a token reads only its
  own corp's data. Missing, unknown, expired or revoked → 401 with `WWW-Authenticate: Bearer`.
  A token's scope: `read` (GET), `write` (also changes), `admin` (also staff roles and erasing a
  customer, `GET /api/v1/status`, failed jobs and WeCom errors); beyond it → 403
  (`error="insufficient_scope"`).
* **Personal data**: reads of customers and of welcome outcomes are recorded in the audit log
  per customer and token;
  `POST /api/v1/customers/{external_userid}/erase` anonymises one customer (PIPL).
* **Times**: ISO-8601 UTC with a `Z` suffix, to the second (stored as naive UTC). Query
  parameters accept any ISO-8601 form; a value without an offset is taken as UTC.
* **Lists**: `page` (from 1) and `page_size` (default 50, at most 200); the `X-Pagination`
  response header carries `total`, `total_pages`, `page`, `next_page`, ... as JSON.
* **Errors**: `{"code", "status", "message"}`; ids and numbers out of range → 404 / 422;
  bodies over 1 MB (media uploads: 20 MB) → 413; invalid query parameters → 422 with
  `errors: {"query": {"<field>": ["<message>", ...]}}`; an invalid JSON body → 422 with
  `errors: {"json": {"<field>": [...]}}` (checks against stored data name nested fields as
  dotted paths, e.g. `steps.0.attachments.1.media`); WeCom refusing a
  change (channel codes, group codes, group welcome templates, corp tags) → 502 with its errcode in the
  message, a WeCom limit → 409 (e.g. 41055), WeCom busy → 503 with `Retry-After`; nothing changed.
* Text such as customer names and remarks is customer-controlled: escape it before rendering.
"""


MODULES = (customers, groups, events, welcome, welcome_outcomes, channels, sops, syncs, contents,
           sidebar_admin, status, community, group_labels, group_stats, group_sops, handovers, churn, recall,
           mass_messages, ops, corp_tags, customer_search, bulk_jobs, reports,
           reports_funnel, reports_churn, report_channels, channel_costs,
           group_report)

# The console (console/) calls the same resources with its session instead of a token:
# /console/api/v1/... — same views, schemas and validation, under the console's cookie and CSRF
# check (scrm/api/auth.py tells the two apart by the path).
CONSOLE_PREFIX = "/console"


def register(api: Api) -> None:
    for module in MODULES:
        api.register_blueprint(module.blp)
    _describe(api)


def mount_for_console(app: Flask) -> None:
    """Each resource again under /console/api/v1 (not in the OpenAPI document: the same operations)."""
    for module in MODULES:
        app.register_blueprint(module.blp, name=f"console_{module.blp.name}",
                               url_prefix=CONSOLE_PREFIX + module.blp.url_prefix)


def _describe(api: Api) -> None:
    """Add prose to the spec options app.py set (it declares bearerAuth and requires it globally)."""
    options = api.spec.options
    components = options["components"] = deepcopy(options.get("components", {}))  # not app.config's
    scheme = components.setdefault("securitySchemes", {}).setdefault(
        "bearerAuth", {"type": "http", "scheme": "bearer"})
    scheme["description"] = SECURITY_DESCRIPTION
    options["info"] = {**options.get("info", {}), "description": API_DESCRIPTION}
