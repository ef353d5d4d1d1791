"""WeCom → us: verify, decrypt, store once, enqueue, reply. Nothing else happens here."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, abort, request
from sqlalchemy.exc import SQLAlchemyError

from scrm.clock import utcnow
from scrm.config import settings
from scrm.extensions import db
from scrm.logging import corp_id_var
from scrm.services import corps, inbox, welcome
from scrm.wecom.crypto import InvalidCallback, parse_xml

log = logging.getLogger(__name__)
bp = Blueprint("callbacks", __name__)


def _crypto(corp_id: str | None):
    if corp_id is not None and not corps.valid_corp_id(corp_id):
        # Not a WeCom corp id: refused before any lookup (the id is the caller's, so truncated).
        log.warning("callback for malformed corp id %.40r", corp_id)
        abort(404)
    creds = corps.credentials(corp_id)
    if creds is None:
        log.warning("callback for unknown corp %.40r", corp_id)
        abort(404)
    corp_id_var.set(creds.corp_id)
    return creds.corp_id, corps.callback_crypto(creds)


def _signature_args() -> tuple[str, str, str]:
    args = request.args
    return args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")


@bp.get("/wecom/callback")
@bp.get("/wecom/callback/<corp_id>")
def verify_url(corp_id: str | None = None):
    _, crypto = _crypto(corp_id)
    try:
        echo = crypto.echo(*_signature_args(), request.args.get("echostr", ""))
    except InvalidCallback as exc:
        log.warning("rejected URL verification: %s", exc)
        abort(403)
    return Response(echo, mimetype="text/plain")


@bp.post("/wecom/callback")
@bp.post("/wecom/callback/<corp_id>")
def receive(corp_id: str | None = None):
    corp_id, crypto = _crypto(corp_id)
    received_at = utcnow()
    # WeCom's envelopes are a few KB; refuse anything large before reading it.
    request.max_content_length = settings().callback_max_bytes
    body = request.get_data(cache=False)
    try:
        plaintext = crypto.decrypt_body(body, *_signature_args())
        fields = parse_xml(plaintext)
    except InvalidCallback as exc:
        log.warning("rejected callback: %s", exc)
        abort(403 if "signature" in str(exc) else 400)
    try:
        event_id = inbox.store(corp_id, plaintext, received_at, fields)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("database unavailable, spooling callback: %s", type(exc).__name__)
        try:
            inbox.spool(corp_id, plaintext, received_at)
        except OSError as spool_exc:
            # Not durably kept anywhere: make WeCom retry.
            log.error("spool failed too, asking WeCom to retry: %s", spool_exc)
            abort(503)
        return Response("", status=200)
    if event_id is not None:
        if welcome.wants_welcome(fields):  # first: the code is valid for 20 s only
            try:
                welcome.enqueue_welcome(event_id, unique=False, add=(corp_id, fields))  # a new row: no job yet
            except redis.RedisError as exc:
                log.warning("could not enqueue welcome for event %s: %s", event_id, exc)
        inbox.notice(event_id)
    return Response("", status=200)
