"""The in-chat sidebar (聊天工具栏) page and its JSON endpoints. The real sidebar is a later issue.

For now ``GET /sidebar/`` is a placeholder: outside sandbox mode it only says the sidebar comes
in a later release; in sandbox mode (``app.config["SANDBOX"]``) it runs inside the simulator's
chat window, learns the conversation through the JS-SDK stand-in (``static/ww-standin.js``) and
shows the customer's or group's record as the service knows it.

Sandbox-only (404 otherwise):
  GET /sidebar/static/ww-standin.js           the stand-in for @wecom/jssdk
  GET /sidebar/sandbox/customers/<external_userid>?timeline_limit=N
  GET /sidebar/sandbox/groups/<chat_id>?include_quit=true
      the Open API v1 detail JSON (same views, same schemas), read as the deployment's own corp
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import NotFound

from scrm.logging import corp_id_var

bp = Blueprint("sidebar", __name__, url_prefix="/sidebar", template_folder="templates",
               static_folder="static")

SANDBOX_ONLY_ASSETS = {"ww-standin.js"}


def sandbox() -> bool:
    return bool(current_app.config.get("SANDBOX"))


@bp.before_request
def sandbox_only() -> None:
    """The stand-in and the JSON endpoints below do not exist outside sandbox mode."""
    endpoint = request.endpoint or ""
    if sandbox():
        return
    asset = (request.view_args or {}).get("filename") if endpoint == "sidebar.static" else None
    if endpoint.startswith("sidebar.sandbox_") or asset in SANDBOX_ONLY_ASSETS:
        abort(404)


@bp.after_request
def no_store(response: Response) -> Response:
    if request.endpoint != "sidebar.static":
        response.headers["Cache-Control"] = "no-store"  # customer data
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/")
def index():
    config = current_app.config
    return render_template("sidebar/index.html", sandbox=sandbox(), corp_id=config.get("WECOM_CORP_ID", ""),
                           agent_id=config.get("WECOM_AGENT_ID", ""))


def _open_api(view, **kwargs) -> Response:
    """Answer with an Open API v1 view, scoped to this deployment's corp (in sandbox mode: the
    sandbox corp). The views read the corp from ``g.api_corp_id``, which the API's bearer auth
    sets; the sandbox sidebar has no token, so it is set here."""
    g.api_corp_id = current_app.config["WECOM_CORP_ID"]
    corp_id_var.set(g.api_corp_id)
    try:
        return view(**kwargs)
    except NotFound as exc:
        response = jsonify(code=404, status="Not Found", message=exc.description)
        response.status_code = 404
        return response


@bp.get("/sandbox/customers/<external_userid>")
def sandbox_customer(external_userid: str):
    from scrm.api.customers import get_customer

    return _open_api(get_customer, external_userid=external_userid)


@bp.get("/sandbox/groups/<chat_id>")
def sandbox_group(chat_id: str):
    from scrm.api.groups import get_group

    return _open_api(get_group, chat_id=chat_id)
