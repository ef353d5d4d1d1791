"""Group welcome templates (入群欢迎语): our copy of WeCom's `group_welcome_template/*`
(docs/wecom/api.md#group-welcome-templates). WeCom holds the template; we keep a copy with a name,
in the content library's attachment format (media by our MediaAsset id), and bring it in step with
`get` on refresh (a template WeCom no longer knows is marked deleted here).

Every change goes to WeCom first; our row changes only when WeCom took it (a create whose commit
fails is deleted from WeCom again)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scrm.clock import utcnow
from scrm.extensions import db
from scrm.models import CommunityStatus, GroupWelcomeTemplate, MediaAsset
from scrm.services.community.common import LimitReached, commit_or_undo, corp_rows, get_in_corp, is_gone
from scrm.services.content import validate_attachments, wecom_attachments
from scrm.services.corps import wecom_client
from scrm.services.validation import Invalid, raise_if
from scrm.wecom import WeComError

TEMPLATE_LIMIT_ERRCODE = 41055


def _attachment_errors(corp_id: str, attachment: dict | None) -> dict[str, list[str]]:
    if not attachment:
        return {}
    errors = {key.replace("attachments.0", "attachment"): messages
              for key, messages in validate_attachments(corp_id, [attachment]).items()}
    if not errors and not wecom_attachments(corp_id, [attachment], utcnow()).attachments:
        errors["attachment.media"] = [f"Media {attachment.get('media')} is not uploaded to WeCom yet "
                                      "(see GET /api/v1/media/<id>); try again once it is ready."]
    return errors


def wecom_body(template: GroupWelcomeTemplate) -> dict[str, Any]:
    """The add/edit body: text.content, at most one attachment under its msgtype, notify."""
    body: dict[str, Any] = {"notify": 1 if template.notify else 0}
    if template.text:
        body["text"] = {"content": template.text}
    if template.attachment:
        converted = wecom_attachments(template.corp_id, [template.attachment], utcnow()).attachments
        if not converted:
            raise Invalid({"attachment.media": ["The attachment's media is not in WeCom any more; upload it again."]})
        kind = converted[0]["msgtype"]
        body[kind] = converted[0][kind]
    return body


def _refused(exc: WeComError) -> Exception:
    if exc.errcode == TEMPLATE_LIMIT_ERRCODE:
        return LimitReached(exc.errcode, "WeCom allows at most 100 group welcome templates per corp: "
                                         "delete one before adding another")
    return exc


def get(corp_id: str, template_id: int) -> GroupWelcomeTemplate | None:
    return get_in_corp(GroupWelcomeTemplate, corp_id, template_id)


def list_query(corp_id: str, include_deleted: bool = False):
    return corp_rows(GroupWelcomeTemplate, corp_id, include_deleted)


def create(corp_id: str, data: dict[str, Any]) -> GroupWelcomeTemplate:
    raise_if(_attachment_errors(corp_id, data.get("attachment")))
    template = GroupWelcomeTemplate(corp_id=corp_id, name=data["name"], text=data.get("text"),
                                    attachment=data.get("attachment"), notify=data.get("notify", True),
                                    status=CommunityStatus.ACTIVE)
    body = wecom_body(template)
    client = wecom_client(corp_id)
    db.session.rollback()  # no transaction open while WeCom answers
    try:
        reply = client.group_welcome_template("add", body)
    except WeComError as exc:
        raise _refused(exc) from exc
    template.template_id = reply["template_id"]
    db.session.add(template)
    commit_or_undo(lambda: client.group_welcome_template("del", {"template_id": reply["template_id"]}),
                   f"group welcome template {reply['template_id']}")
    return template


def update(template: GroupWelcomeTemplate, data: dict[str, Any]) -> GroupWelcomeTemplate:
    if template.status != CommunityStatus.ACTIVE:
        raise Invalid({"id": ["The template was deleted."]})
    raise_if(_attachment_errors(template.corp_id, data.get("attachment")))
    text = data.get("text", template.text)
    attachment = data.get("attachment", template.attachment)
    if not text and not attachment:
        raise Invalid({"text": ["A template needs text or an attachment."]})
    wecom_changed = any(key in data and data[key] != getattr(template, key) for key in ("text", "attachment", "notify"))
    with db.session.no_autoflush:  # the changes reach the database only once WeCom took them
        for key in ("name", "text", "attachment", "notify"):
            if key in data:
                setattr(template, key, data[key])
        body = {"template_id": template.template_id, **wecom_body(template)} if wecom_changed else None
    if body is not None:
        try:
            wecom_client(template.corp_id).group_welcome_template("edit", body)
        except WeComError:
            db.session.rollback()
            raise
    db.session.commit()
    return template


def delete(template: GroupWelcomeTemplate) -> None:
    """`del` in WeCom (one it no longer knows counts as deleted), then our row is kept, deleted."""
    if template.status == CommunityStatus.DELETED:
        return
    try:
        wecom_client(template.corp_id).group_welcome_template("del", {"template_id": template.template_id})
    except WeComError as exc:
        if not is_gone(exc):
            raise
    template.status = CommunityStatus.DELETED
    db.session.commit()


def refresh(template: GroupWelcomeTemplate) -> GroupWelcomeTemplate:
    """Read the template back from WeCom (`get`) and take its text and attachment; a template
    WeCom no longer knows is marked deleted."""
    if template.status != CommunityStatus.ACTIVE:
        return template
    try:
        reply = wecom_client(template.corp_id).group_welcome_template("get", {"template_id": template.template_id})
    except WeComError as exc:
        if not is_gone(exc):
            raise
        template.status = CommunityStatus.DELETED
        db.session.commit()
        return template
    template.text = (reply.get("text") or {}).get("content") or None
    template.attachment = _attachment_from_wecom(template, reply)
    db.session.commit()
    return template


def refresh_all(corp_id: str) -> dict[str, int]:
    """refresh() every active template of the corp; counts of those read and of those gone."""
    ids = list(db.session.scalars(select(GroupWelcomeTemplate.id).where(
        GroupWelcomeTemplate.corp_id == corp_id, GroupWelcomeTemplate.status == CommunityStatus.ACTIVE)))
    gone = 0
    for template_id in ids:
        gone += refresh(db.session.get(GroupWelcomeTemplate, template_id)).status == CommunityStatus.DELETED
    return {"checked": len(ids), "deleted": gone}


def _attachment_from_wecom(template: GroupWelcomeTemplate, reply: dict) -> dict | None:
    """WeCom's attachment in our saved form: links and picture URLs as they are, media by the
    MediaAsset holding that media_id (else our own attachment of the same kind is kept)."""
    for kind in ("image", "link", "miniprogram", "file", "video"):
        body = reply.get(kind)
        if not body:
            continue
        if kind == "link":
            return {"msgtype": "link", **{k: body[k] for k in ("title", "url", "desc", "picurl") if body.get(k)}}
        if kind == "image" and body.get("pic_url") and not body.get("media_id"):
            return {"msgtype": "image", "pic_url": body["pic_url"]}
        media_id = body.get("pic_media_id") if kind == "miniprogram" else body.get("media_id")
        asset = db.session.scalar(select(MediaAsset.id).where(
            MediaAsset.corp_id == template.corp_id, MediaAsset.media_id == media_id).limit(1))
        ours = template.attachment if (template.attachment or {}).get("msgtype") == kind else None
        if asset is not None:
            extra = {k: body[k] for k in ("title", "appid", "page") if kind == "miniprogram" and body.get(k)}
            return {"msgtype": kind, "media": asset, **extra}
        return ours
    return None
