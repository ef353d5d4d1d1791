"""The console (管理后台) at /console/: where operators and managers work (issue #14).

An HTTP adapter only: pages are server-rendered Jinja shells that load vendored release files
(Vue 3, Element Plus with its zh-CN locale, its icons, ECharts: static/vendor/VERSIONS.md; no CDN,
no build step) and our small scripts (static/*.js); data comes from JSON endpoints under
/console/api/. Every use case is a service in scrm/services/console/ (or the area's own).

Modules (each adds its routes or hooks to ``bp``):
  auth.py   the session cookie → the principal (``g.console``) on every request, the sign-in
            gate, and the CSRF check on every state-changing request
  login.py  sign-in (local administrator; WeCom web login) and sign-out
  menu.py   the left menu's sections
  pages.py  the shell pages (工作台, 「即将推出」 for sections not built yet) and their JSON

Rule for templates: nothing from the database is rendered by Jinja inside the Vue mount point
(``#app``): Vue would compile it as a template. Data reaches the page as JSON (the bootstrap
``<script type="application/json">`` or /console/api/) and is bound with v-text / :prop.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static")

# Vue's in-DOM templates are compiled in the browser ('unsafe-eval'); Element Plus sets style
# attributes ('unsafe-inline' styles). Nothing is loaded from anywhere but here.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
                           "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


@bp.after_request
def security_headers(response: Response) -> Response:
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


from console import (  # noqa: E402,F401  (routes and hooks)
    access,
    auth,
    login,
    pages,
    pages_community,
    pages_customers,
    pages_jobs,
    pages_mass,
    pages_operator,
    pages_ops,
    pages_reports,
    pages_roles,
)
