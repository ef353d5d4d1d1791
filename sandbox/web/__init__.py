"""The sandbox page and the simulated chat window: HTML over the simulator's control API.

  GET /        the sandbox page: a person plays WeCom (forms for the actions) and watches, live,
               what the service does in return (the feed)
  GET /chat?staff=<userid>&customer=<external_userid> | &chat=<chat_id>
               a WeCom-like chat pane with the service's sidebar page framed on the right; the
               frame's JS-SDK stand-in (the service's /sidebar/static/ww-standin.js) asks this
               window for the conversation over postMessage (chat.js answers)
  POST /sandbox/api/chat-messages   {staff, external_userid | chat_id, text, message}: the chat
               window records a message the sidebar sent (ww.sendChatMessage) in the feed
               (kind chat_message), so the sandbox page and tests can see it

Static files (plain JS and CSS, no CDN) live under /sandbox/static/. The service's base URL
comes from ``app.config["SANDBOX_SERVICE_URL"]`` (``python -m sandbox --service-url``).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, render_template, request

from sandbox.feed import shorten

DEFAULT_SERVICE_URL = "http://127.0.0.1:5000"

bp = Blueprint("sandbox_web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/sandbox/static")


def service_url() -> str:
    return (current_app.config.get("SANDBOX_SERVICE_URL") or DEFAULT_SERVICE_URL).rstrip("/")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@bp.after_request
def no_framing_by_others(response):
    # The sandbox page is not meant to be framed; the chat window frames the service, not vice versa.
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/")
def index():
    world = current_app.extensions["sandbox_world"]
    sender = current_app.extensions.get("sandbox_sender")
    return render_template("sandbox_web/index.html", corp_id=world.config.corp_id, service_url=service_url(),
                           callback_url=sender.url if sender else None)


@bp.get("/chat")
def chat():
    url = service_url()
    return render_template("sandbox_web/chat.html", service_url=url, service_origin=origin(url))


@bp.post("/sandbox/api/chat-messages")
def chat_message():
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return jsonify(errors={"text": "消息为空"}), 422
    string = {k: body[k] for k in ("staff", "external_userid", "chat_id") if isinstance(body.get(k), str)}
    message = body.get("message") if isinstance(body.get("message"), dict) else None
    entry = current_app.extensions["sandbox_world"].feed.add(
        "chat_message", via="sidebar", text=text[:2000], message=shorten(message), **string)
    return jsonify(id=entry["id"])
