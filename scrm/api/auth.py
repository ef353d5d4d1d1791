"""Bearer-token authentication for /api/v1: every request is scoped to the token's corp and
limited by the token's scope (read: GET; write: changes; admin: staff roles and erasure)."""
from __future__ import annotations

from flask import Response, abort, g, jsonify, request

from scrm.logging import corp_id_var
from scrm.models.corp import TokenScope
from scrm.services.tokens import TokenGrant, console_grant, grant_for

CONSOLE_API_PREFIX = "/console/api/v1/"

SECURITY_DESCRIPTION = (
    "`Authorization: Bearer <token>`. Create a token with `flask scrm token create NAME "
    "[--corp CORP_ID] [--scope read|write|admin] [--expires-in-days N]`; it reads only that corp's "
    "data. Scopes: `read` (GET), `write` (also changes), `admin` (also staff roles, erasing a "
    "customer's personal data, the deployment status, failed jobs and WeCom errors; the default). A request beyond the "
    "token's scope → 403; an expired token → 401. Revoke it with `flask scrm token revoke NAME`."
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def authenticate() -> Response | None:
    """before_request hook: a 401/403 response, or None with `g.api_corp_id` set."""
    if request.path.startswith(CONSOLE_API_PREFIX):
        return _console()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _error(401, "Missing bearer token: send `Authorization: Bearer <token>`.", "")
    grant = grant_for(token)
    if grant is None:
        return _error(401, "Unknown, expired or revoked token.", ', error="invalid_token"')
    g.api_grant = grant
    g.api_corp_id = grant.corp_id
    corp_id_var.set(grant.corp_id)
    needed = TokenScope.READ if request.method in SAFE_METHODS else TokenScope.WRITE
    if not grant.allows(needed):
        return _insufficient(needed)
    return None


def _console() -> Response | None:
    """The console calling the API with its session (console/auth.py has already refused a request
    without a valid session or, for a change, without the CSRF token)."""
    principal = g.get("console")
    if principal is None:  # not reached through the console's hook
        return _error(401, "Sign in to the console first.", "")
    grant = console_grant(principal)
    if grant is None:
        response = jsonify(code=403, status="Forbidden", message="你的角色没有此操作的权限。")
        response.status_code = 403
        return response
    g.api_grant = grant
    g.api_corp_id = grant.corp_id
    corp_id_var.set(grant.corp_id)
    needed = TokenScope.READ if request.method in SAFE_METHODS else TokenScope.WRITE
    if not grant.allows(needed):
        return _insufficient(needed)
    return None


def require_scope(needed: str) -> None:
    """In a view: stop with 403 unless the token's scope includes `needed` (e.g. admin)."""
    grant: TokenGrant = g.api_grant
    if not grant.allows(needed):
        abort(_insufficient(needed))


def current_corp_id() -> str:
    """The corp every query of this request is scoped to."""
    return g.api_corp_id


def current_actor() -> str:
    """The token acting, as the audit log names it."""
    return g.api_grant.actor


def _insufficient(needed: str) -> Response:
    return _error(403, f"This token's scope does not allow this request (needs {needed}).",
                  f', error="insufficient_scope", scope="{needed}"')


def _error(status: int, message: str, challenge_params: str) -> Response:
    # Same shape as the app's JSON error handler for /api/ paths.
    names = {401: "Unauthorized", 403: "Forbidden"}
    response = jsonify({"code": status, "status": names[status], "message": message})
    response.status_code = status
    response.headers["WWW-Authenticate"] = 'Bearer realm="scrm"' + challenge_params  # RFC 6750 §3
    return response
