"""The in-chat sidebar (聊天工具栏): the page and its JSON endpoints under /sidebar/.

An HTTP adapter only: input is read with schemas (inputs.py) and every use case is a service
function (the views and edits: scrm/services/sidebar_actions.py, each owning its transaction;
the session: sidebar_session.py); nothing here touches the database itself.

Modules (each adds its routes to ``bp``):
  auth.py     the staff session (signed cookie, checked against the member's row on every
              request), ``require_staff``, and changes only from the page (header or Origin)
  inputs.py   the schemas' loading and the one 422 answer
  oauth.py    WeCom OAuth2 (snsapi_base → code → auth/getuserinfo) that establishes the session
  jssdk.py    JS-SDK signatures with the corp and the agent jsapi_ticket (cached in Redis)
  page.py     GET /sidebar/ (the page) and the sandbox-only assets
  api.py      customer and group views, tags, stage, custom fields, remark, follow-ups, timeline
  content.py  the content library (话术/素材) and SOP reminder tasks, sent in one tap
"""
from __future__ import annotations

from flask import Blueprint, Response, request

bp = Blueprint("sidebar", __name__, url_prefix="/sidebar", template_folder="templates",
               static_folder="static")


@bp.after_request
def no_store(response: Response) -> Response:
    if request.endpoint != "sidebar.static":
        response.headers["Cache-Control"] = "no-store"  # customer data
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


from sidebar import api, auth, content, jssdk, oauth, page  # noqa: E402,F401  (routes)
