"""Configuration from the environment.

Every setting the service needs is read here and nowhere else. Secrets come only from
the environment; nothing secret has a default outside development and testing.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = ROOT / "instance" / "groupwork.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"


class ConfigError(RuntimeError):
    """The environment does not describe a service that can start safely."""


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs, whichever spelling the operator used."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def check_database_url(url: str) -> None:
    """Refuse a DATABASE_URL that is not a SQLite or PostgreSQL URL, with one clear line."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a database URL; expected postgresql://user@host:5432/name "
                          "or sqlite:///path/to/file.db") from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(f"DATABASE_URL must be PostgreSQL or SQLite, not {parsed.get_backend_name()!r}")
    if parsed.get_backend_name() == "postgresql" and not parsed.database:
        raise ConfigError("DATABASE_URL names no database; expected postgresql://user@host:5432/name")


def engine_options(database_url: str) -> dict[str, Any]:
    """SQLAlchemy engine options suited to the database."""
    if database_url.startswith("sqlite"):
        # Several threads (the dev server, tests with real threads) share the file.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    # JIT compiling a report's plan takes longer than running it: off for this OLTP service
    return {"pool_pre_ping": True, "connect_args": {"options": "-c jit=off"}}


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from environment variables."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("GROUPWORK_ENV", "development").strip().lower()
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(f"GROUPWORK_ENV must be development, production or testing, not {mode!r}")
    production = mode == "production"

    database_url = normalise_database_url(env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL)
    check_database_url(database_url)
    secret_key = env.get("SECRET_KEY", "").strip()
    if production:
        if not secret_key:
            raise ConfigError("SECRET_KEY must be set in production (a long random string).")
        if database_url == DEFAULT_DATABASE_URL:
            raise ConfigError("DATABASE_URL must be set in production; the default SQLite file is for development only.")
    if not secret_key:
        secret_key = DEV_SECRET_KEY

    sms_backend = env.get("SMS_BACKEND", "console").strip().lower()
    if sms_backend not in {"console", "twilio"}:
        raise ConfigError(f"SMS_BACKEND must be console or twilio, not {sms_backend!r}")

    public_base_url = env.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").strip().rstrip("/")

    return {
        "GROUPWORK_ENV": mode,
        "TESTING": mode == "testing",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_BASE_URL": public_base_url,
        "PREFERRED_URL_SCHEME": "https" if public_base_url.startswith("https") else "http",
        "SMS_BACKEND": sms_backend,
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID", ""),
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_FROM": env.get("TWILIO_FROM", ""),
        "TWILIO_MESSAGING_SERVICE_SID": env.get("TWILIO_MESSAGING_SERVICE_SID", ""),
        "TWILIO_API_BASE_URL": env.get("TWILIO_API_BASE_URL", "").strip().rstrip("/"),
        "TWILIO_TIMEOUT": float(env.get("TWILIO_TIMEOUT", "15") or 15),
        # unset: the tick picks by the backend it really uses (8 with Twilio, 1 otherwise)
        "SMS_SEND_CONCURRENCY": int(env["SMS_SEND_CONCURRENCY"] or 1) if env.get("SMS_SEND_CONCURRENCY") else None,
        # processes that send side by side in a tick with several batches due; unset: 2 with Twilio
        # on a machine with 2 or more cores, else 1. Only a single-threaded tick (`flask scheduler
        # tick`) forks; 1 turns it off
        "SMS_SEND_PROCESSES": int(env["SMS_SEND_PROCESSES"] or 1) if env.get("SMS_SEND_PROCESSES") else None,
        "SMTP_URL": env.get("SMTP_URL", ""),
        "MAIL_FROM": env.get("MAIL_FROM", "groupwork@localhost"),
        "REDIS_URL": env.get("REDIS_URL", ""),
        "ROTA_TRAVEL_MINUTES": int(env.get("ROTA_TRAVEL_MINUTES", "30") or 30),
        "RETENTION_YEARS": int(env.get("RETENTION_YEARS", "7") or 7),
        "RETENTION_NOTICE_DAYS": int(env.get("RETENTION_NOTICE_DAYS", "30") or 30),
        "LOGIN_ACCOUNT_LIMIT": int(env.get("LOGIN_ACCOUNT_LIMIT", "10") or 10),
        "LOGIN_ACCOUNT_WINDOW_MINUTES": int(env.get("LOGIN_ACCOUNT_WINDOW_MINUTES", "15") or 15),
        "API_TOKEN_HOURS": int(env.get("API_TOKEN_HOURS", "12") or 12),
        # Cookies: HttpOnly and SameSite always; Secure whenever the public URL is HTTPS.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or public_base_url.startswith("https"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": 15 * 60,  # idle logout on shared tablets
        # the cookie's expiry moves when the last-seen time does (app/security.py), not on every request
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "PASSWORD_HASH_METHOD": env.get("PASSWORD_HASH_METHOD", "scrypt"),
        "SEND_SMS_IN_TESTS": _bool(env.get("SEND_SMS_IN_TESTS")),
        # flask-smorest / OpenAPI
        "API_TITLE": "Groupwork API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
