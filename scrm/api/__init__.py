"""Open API v1 for integrations (flask-smorest). Docs at /api/docs, served without internet."""
from __future__ import annotations

import swagger_ui_bundle
from flask import Blueprint, Flask, send_from_directory
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**31 - 1  # ids are INTEGER columns (PostgreSQL int4)


class RowIdConverter(IntegerConverter):
    """`<int:...>` in a path: a number no row id can reach finds no row (404), never a database
    overflow. (Mapped to 0, not refused: a refusal would turn into a 405 where another method's
    rule has the same path.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= DB_INT_MAX else 0  # ids start at 1


def register_api(app: Flask, api: Api) -> None:
    # Swagger UI's JS/CSS come from the swagger-ui-bundle package, not a CDN.
    assets = Blueprint("api_docs_assets", __name__)

    @assets.get("/api/docs/assets/<path:filename>")
    def swagger_asset(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    app.register_blueprint(assets)
    from scrm.api import metrics

    app.register_blueprint(metrics.bp)  # /metrics (Prometheus), outside the Open API
    # Before the v1 blueprints add their rules: each rule binds its converter when added.
    app.url_map.converters["int"] = RowIdConverter
    # Swagger UI would otherwise load a validity badge from validator.swagger.io. Read per request.
    app.config.setdefault("OPENAPI_SWAGGER_UI_CONFIG", {"validatorUrl": None})
    from scrm.api import v1

    v1.register(api)
    v1.mount_for_console(app)
