"""Groupwork: scheduling and tracking parent-infant group programmes at children's centres."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, g, request
from flask_login import current_user
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from app.config import ROOT, ConfigError, engine_options, load_config
from app.extensions import api, csrf, db, limiter, login_manager, migrate

__all__ = ["create_app", "ConfigError"]

#: feature modules with an HTML blueprint `bp` (views.py), in registration order
HTML_FEATURES = ("main", "auth", "centres", "cohorts", "parents", "enrolment", "eligibility", "attendance",
                 "followups", "rota", "staff", "messaging", "calendar", "reports", "outcomes", "audit")
#: feature modules with a flask-smorest blueprint `blp` (api.py)
API_FEATURES = ("auth", "programmes_api", "centres", "cohorts", "parents", "enrolment", "attendance",
                "followups", "rota", "staff", "messaging", "reports", "outcomes")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; `config` overrides what the environment says."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder="static",
                instance_path=str(ROOT / "instance"))
    app.config.update(load_config())
    if config:
        app.config.update(config)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])
    register_templates(app)
    register_extensions(app)
    register_blueprints(app)
    register_security(app)
    register_errorhandlers(app)
    register_commands(app)
    configure_logging(app)
    return app


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file (instance/ is not in a fresh checkout)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def register_templates(app: Flask) -> None:
    """Our templates first, then the GOV.UK Frontend macros."""
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(ROOT / "templates")),
        PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
            "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
        }),
    ])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    from govuk_frontend_wtf.main import WTFormsHelpers

    from app import templating

    WTFormsHelpers(app)
    templating.init_app(app)


def register_extensions(app: Flask) -> None:
    """Bind the extensions to this app."""
    from app import models  # noqa: F401  (the whole metadata, for Alembic and create_all)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    app.config.setdefault("RATELIMIT_ENABLED", not app.config.get("TESTING"))
    if app.config.get("REDIS_URL"):
        app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    limiter.init_app(app)
    api.init_app(app)

    from app.auth.loading import init_login

    init_login(app)


def register_blueprints(app: Flask) -> None:
    """One HTML blueprint and one API blueprint per feature."""
    from importlib import import_module

    for name in HTML_FEATURES:
        try:
            module = import_module(f"app.{name}.views")
        except ModuleNotFoundError as exc:
            if exc.name != f"app.{name}.views":
                raise
            continue
        app.register_blueprint(module.bp)
    for name in API_FEATURES:
        module_name = f"app.{name}.api" if name != "programmes_api" else "app.api.programmes"
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        csrf.exempt(module.blp)  # the API checks CSRF itself for cookie-authenticated calls
        api.register_blueprint(module.blp)
    try:
        from app.messaging.webhooks import bp as webhooks_bp
    except ModuleNotFoundError as exc:
        if exc.name != "app.messaging.webhooks":
            raise
    else:
        csrf.exempt(webhooks_bp)  # Twilio signs its requests instead
        app.register_blueprint(webhooks_bp)


def register_security(app: Flask) -> None:
    """Deny by default, CSRF for cookie-authenticated API calls, and security headers."""
    from app.security import enforce_permissions, security_headers

    app.before_request(enforce_permissions)
    app.after_request(security_headers)


def register_errorhandlers(app: Flask) -> None:
    """Domain errors and HTTP errors: JSON under /api/, HTML pages elsewhere."""
    from app.api.core import error_response, html_error, is_api_request
    from app.errors import DomainError

    def domain_error(exc: DomainError):
        db.session.rollback()
        if is_api_request():
            return error_response(exc.status, exc.message, exc.fields, exc.code)
        return html_error(exc.status if exc.status in (400, 403, 404) else 400, exc.message)

    def server_error(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.url_rule)
        if is_api_request():
            return error_response(500, "Something went wrong on our side.")
        try:
            return html_error(500)
        except Exception:  # noqa: BLE001 - the error page itself must not fail
            return "Something went wrong on our side.", 500

    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(500, server_error)


def register_commands(app: Flask) -> None:
    """flask create-user, demo-data, scheduler, ..."""
    from app.cli import register

    register(app)


def configure_logging(app: Flask) -> None:
    """Plain log lines; no personal data is ever passed to a logger."""
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
