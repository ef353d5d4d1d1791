"""create_app(): settings → logging → extensions → blueprints → CLI → errors."""
from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from flask import Flask, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from scrm import sandbox_clock
from scrm.config import Settings, install, load_settings
from scrm.extensions import api, db, migrate, redis_store
from scrm.logging import configure_logging, corp_id_var, request_id_var

log = logging.getLogger(__name__)


class LazySessionInterface(SecureCookieSessionInterface):
    """Builds the cookie signer only when a request carries a session cookie: WeCom's callbacks
    never do, and building it was a measurable share of each callback's CPU."""

    def open_session(self, app: Flask, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.session_interface = LazySessionInterface()
    os.makedirs(app.instance_path, exist_ok=True)
    settings = install(app, load_settings(instance_path=app.instance_path), test_config)
    app.config.update(
        API_TITLE="SCRM Open API", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearerAuth": []}]},
    )
    app.json.ensure_ascii = False  # Chinese names stay readable in API responses
    configure_logging(settings.log_level, settings.log_format)
    if settings.sandbox:
        log.warning("SANDBOX MODE: no WECOM_* credentials set; WeCom is the simulator at %s",
                    settings.wecom_api_base_url)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                    render_as_batch=True)
    redis_store.init_app(app)
    api.init_app(app)
    _install_sandbox(app, settings)

    from callbacks import bp as callbacks_bp
    from console import bp as console_bp
    from scrm.api import register_api
    from sidebar import bp as sidebar_bp

    app.register_blueprint(callbacks_bp)
    app.register_blueprint(sidebar_bp)
    app.register_blueprint(console_bp)
    register_api(app, api)

    from scrm.cli import scrm_cli

    # Its session hooks keep the customer list's search rows current on every commit (workers too).
    from scrm.services.customer_search import search_rows  # noqa: F401

    app.cli.add_command(scrm_cli)
    _register_request_hooks(app)
    _register_health(app)
    return app


def _install_sandbox(app: Flask, settings: Settings) -> None:
    """In sandbox mode the clock follows the simulator's 「时间快进」 and the sandbox corp's chat
    archive is the simulator's; otherwise neither (scrm/sandbox_clock.py,
    scrm/services/events/sandbox.py)."""
    sandbox_clock.install(app)
    if settings.sandbox:
        # Deferred like the blueprints: a deployment that is not a sandbox never loads it.
        from scrm.services.events.sandbox import install_simulator_archive

        install_simulator_archive(settings)


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        request_id_var.set(g.request_id)
        corp_id_var.set(None)

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(("/api/", "/console/api/v1/")):
            body = {"code": exc.code, "status": exc.name, "message": exc.description}
            errors = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
            if errors:
                body["errors"] = errors
            response = jsonify(body)
            if getattr(exc, "retry_after", None) is not None:  # 429 / 503 raised with retry_after=
                response.headers["Retry-After"] = str(exc.retry_after)
            return response, exc.code
        return exc.get_response()

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"code": 500, "status": "Internal Server Error"}), 500


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        checks = {}
        try:
            db.session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["database"] = f"error: {type(exc).__name__}"
        finally:
            db.session.rollback()
        try:
            redis_store.client.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
