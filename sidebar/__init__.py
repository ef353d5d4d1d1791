"""The in-chat sidebar (聊天工具栏) page and its JSON endpoints. The real sidebar is a later issue.

For now ``GET /sidebar/`` is a placeholder: outside sandbox mode it only says the sidebar comes
in a later release; in sandbox mode (``app.config["SANDBOX"]``) it runs inside the simulator's
chat window, learns the conversation through the JS-SDK stand-in (``static/ww-standin.js``) and
shows the customer's or group's record as the service knows it.

Sandbox-only (404 otherwise):
  GET /sidebar/static/ww-standin.js           the stand-in for @wecom/jssdk
  GET /sidebar/sandbox/customers/<external_userid>?timeline_limit=N
  GET /sidebar/sandbox/groups/<chat_id>
      the Open API v1 detail JSON (same queries, same schemas), read as the deployment's own corp
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

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


def _detail(detail: dict | None, schema, what: str) -> Response:
    """Answer as the Open API v1 detail endpoint would (same schema), for this deployment's corp
    (in sandbox mode, the sandbox corp): the sandbox sidebar has no API token."""
    if detail is None:
        response = jsonify(code=404, status="Not Found", message=f"No {what} with this id.")
        response.status_code = 404
        return response
    return jsonify(schema.dump(detail))


@bp.get("/sandbox/customers/<external_userid>")
def sandbox_customer(external_userid: str):
    from scrm.api.customers import customer_detail
    from scrm.schemas.customers import CustomerDetailSchema

    limit = min(max(request.args.get("timeline_limit", 20, type=int), 1), 200)
    corp_id = current_app.config["WECOM_CORP_ID"]
    return _detail(customer_detail(corp_id, external_userid, limit), CustomerDetailSchema(), "customer")


@bp.get("/sandbox/groups/<chat_id>")
def sandbox_group(chat_id: str):
    from scrm.api.groups import group_detail
    from scrm.schemas.groups import GroupDetailSchema

    corp_id = current_app.config["WECOM_CORP_ID"]
    return _detail(group_detail(corp_id, chat_id), GroupDetailSchema(), "group")
