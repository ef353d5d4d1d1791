"""GET /sidebar/: the page. Sandbox-only assets (the JS-SDK stand-in) are 404 outside sandbox mode."""
from __future__ import annotations

from flask import abort, current_app, jsonify, render_template, request

from sidebar import bp

SANDBOX_ONLY_ASSETS = {"ww-standin.js"}


def sandbox() -> bool:
    return bool(current_app.config.get("SANDBOX"))


@bp.before_request
def sandbox_only() -> None:
    """The stand-in and the sandbox endpoints below do not exist outside sandbox mode."""
    endpoint = request.endpoint or ""
    if sandbox():
        return
    asset = (request.view_args or {}).get("filename") if endpoint == "sidebar.static" else None
    if endpoint.startswith("sidebar.sandbox_") or asset in SANDBOX_ONLY_ASSETS:
        abort(404)


@bp.get("/")
def index():
    config = current_app.config
    return render_template("sidebar/index.html", sandbox=sandbox(), corp_id=config.get("WECOM_CORP_ID", ""),
                           agent_id=config.get("WECOM_AGENT_ID", ""))


def _detail(detail: dict | None, schema, what: str):
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
