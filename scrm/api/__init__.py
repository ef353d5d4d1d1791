"""Open API v1 for integrations (flask-smorest). Docs at /api/docs, served without internet."""
from __future__ import annotations

import swagger_ui_bundle
from flask import Blueprint, Flask, send_from_directory
from flask_smorest import Api


def register_api(app: Flask, api: Api) -> None:
    # Swagger UI's JS/CSS come from the swagger-ui-bundle package, not a CDN.
    assets = Blueprint("api_docs_assets", __name__)

    @assets.get("/api/docs/assets/<path:filename>")
    def swagger_asset(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    app.register_blueprint(assets)
    # Swagger UI would otherwise load a validity badge from validator.swagger.io. Read per request.
    app.config.setdefault("OPENAPI_SWAGGER_UI_CONFIG", {"validatorUrl": None})
    from scrm.api import v1

    v1.register(api)
