"""Welcome templates (/api/v1/welcome-templates) and media assets (/api/v1/media)."""
from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import select

from scrm.api.auth import current_corp_id
from scrm.api.common import make_blueprint, row_dict
from scrm.api.writes import found, service_errors
from scrm.extensions import db
from scrm.models import MediaAsset, WelcomeTemplate
from scrm.schemas.welcome import (
    MediaSchema,
    MediaUploadFilesSchema,
    MediaUploadFormSchema,
    WelcomeTemplateInSchema,
    WelcomeTemplatePatchSchema,
    WelcomeTemplateSchema,
)
from scrm.services import media, welcome_templates

blp = make_blueprint("welcome", __name__, "/api/v1", "Welcome templates for new customers, and the media "
                     "their attachments use.")
# Uploads may exceed the app's MAX_CONTENT_LENGTH: WeCom takes files up to 20 MB (plus multipart framing).
MEDIA_MAX_BYTES = max(media.SIZE_LIMITS.values()) + 64 * 1024


@blp.before_request
def media_upload_limit() -> None:
    # Also under the console's mount (/console/api/v1/media: blueprint console_welcome).
    if request.endpoint in ("welcome.upload_media", "console_welcome.upload_media"):
        request.max_content_length = MEDIA_MAX_BYTES


def _out(templates: list[WelcomeTemplate]) -> list[dict[str, Any]]:
    staff = welcome_templates.staff_of([t.id for t in templates])
    return [row_dict(t, userids=staff[t.id]) for t in templates]


@blp.route("/welcome-templates")
@blp.response(200, WelcomeTemplateSchema(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
def list_templates() -> list[dict[str, Any]]:
    """List welcome templates"""
    rows = db.session.scalars(select(WelcomeTemplate).where(
        WelcomeTemplate.corp_id == current_corp_id(), WelcomeTemplate.deleted.is_(False)).order_by(WelcomeTemplate.id))
    return _out(list(rows))


@blp.route("/welcome-templates", methods=["POST"])
@blp.arguments(WelcomeTemplateInSchema)
@blp.response(201, WelcomeTemplateSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_template(data: dict[str, Any]) -> dict[str, Any]:
    """Create a welcome template

    Chosen for a new customer in this order: the template of the channel they came through,
    the staff member's own template (`userids`), the corp default (`is_default`). Limits are
    checked here (422 per field), never at send time.
    """
    with service_errors():
        template = welcome_templates.create(current_corp_id(), data)
    return _out([template])[0]


@blp.route("/welcome-templates/<int:template_id>")
@blp.response(200, WelcomeTemplateSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_template(template_id: int) -> dict[str, Any]:
    """Get a welcome template"""
    return _out([found(welcome_templates.get(current_corp_id(), template_id), "welcome template")])[0]


@blp.route("/welcome-templates/<int:template_id>", methods=["PATCH"])
@blp.arguments(WelcomeTemplatePatchSchema(partial=True))
@blp.response(200, WelcomeTemplateSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def update_template(data: dict[str, Any], template_id: int) -> dict[str, Any]:
    """Change a welcome template (only the fields given)"""
    template = found(welcome_templates.get(current_corp_id(), template_id), "welcome template")
    with service_errors():
        welcome_templates.update_template(template, data)
    return _out([template])[0]


@blp.route("/welcome-templates/<int:template_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def delete_template(template_id: int) -> None:
    """Delete a welcome template (refused while a live channel uses it)"""
    template = found(welcome_templates.get(current_corp_id(), template_id), "welcome template")
    with service_errors():
        welcome_templates.delete_template(template)


@blp.route("/media", methods=["POST"])
@blp.arguments(MediaUploadFormSchema, location="form")
@blp.arguments(MediaUploadFilesSchema, location="files")
@blp.response(201, MediaSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def upload_media(form: dict[str, Any], files: dict[str, Any]) -> MediaAsset:
    """Upload a media asset (image, video, file)

    Multipart: `kind` and `file`. Uploaded to WeCom at once and again before each 3-day expiry,
    so welcome messages and SOP steps never upload at send time. `status` pending: WeCom did not
    take it yet (see `last_error`); the renewal sweep keeps trying.
    """
    upload = files["file"]
    data = upload.read()
    with service_errors():
        return media.add_asset(current_corp_id(), form["kind"], upload.filename or "upload", data,
                               upload.mimetype or None)


@blp.route("/media/<int:media_id>")
@blp.response(200, MediaSchema)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(404, response="NOT_FOUND")
def get_media(media_id: int) -> MediaAsset:
    """Get a media asset (its status and expiry)"""
    asset = db.session.get(MediaAsset, media_id)
    return found(asset if asset and asset.corp_id == current_corp_id() else None, "media")
