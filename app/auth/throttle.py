"""Per-account sign-in throttling: too many wrong passwords for one account pause its sign-in.

Flask-Limiter already limits sign-in attempts per address; this counts failed attempts per
account (the e-mail typed, known or not, so the answer does not tell whether an account
exists), in the same storage as the limiter: memory by default, Redis when REDIS_URL is set,
so several web workers share the count. Failures are counted in one-minute buckets and the
last LOGIN_ACCOUNT_WINDOW_MINUTES buckets are added up, so the pause ends exactly that many
minutes after the failures, measured with the app's clock (timeutil.now), which tests fix.

Settings: LOGIN_THROTTLE_ENABLED (default: the same as RATELIMIT_ENABLED),
LOGIN_ACCOUNT_LIMIT (default 10), LOGIN_ACCOUNT_WINDOW_MINUTES (default 15).
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from flask import current_app

from app.auth.services import normalise_email

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 10
DEFAULT_WINDOW_MINUTES = 15
_EXTENSION_KEY = "groupwork_login_throttle"


def _settings() -> tuple[bool, int, int]:
    config = current_app.config
    enabled = config.get("LOGIN_THROTTLE_ENABLED")
    if enabled is None:
        enabled = config.get("RATELIMIT_ENABLED", True)
    return (bool(enabled), int(config.get("LOGIN_ACCOUNT_LIMIT", DEFAULT_LIMIT)),
            int(config.get("LOGIN_ACCOUNT_WINDOW_MINUTES", DEFAULT_WINDOW_MINUTES)))


def storage():
    """The limits storage shared with Flask-Limiter's backend (memory, or Redis with REDIS_URL)."""
    store = current_app.extensions.get(_EXTENSION_KEY)
    if store is None:
        from limits.storage import storage_from_string

        uri = current_app.config.get("RATELIMIT_STORAGE_URI") or current_app.config.get("REDIS_URL") or "memory://"
        store = storage_from_string(uri)
        current_app.extensions[_EXTENSION_KEY] = store
    return store


def _account(email: str) -> str:
    # A digest, so the storage (Redis) never holds sign-in names.
    return hashlib.sha256(normalise_email(email).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _keys(email: str, now: datetime, window: int) -> list[str]:
    minute = int(now.timestamp() // 60)
    account = _account(email)
    return [f"gw-login-fail:{account}:{m}" for m in range(minute - window + 1, minute + 1)]


def failures(email: str, now: datetime) -> int:
    """Failed sign-ins for this account within the window ending now."""
    _enabled, _limit, window = _settings()
    store = storage()
    return sum(int(store.get(key) or 0) for key in _keys(email, now, window))


def is_locked(email: str, now: datetime) -> bool:
    """True while the account has had too many failed sign-ins in the window."""
    enabled, limit, _window = _settings()
    if not enabled:
        return False
    try:
        return failures(email, now) >= limit
    except Exception:  # noqa: BLE001 - a storage outage must not lock everyone out
        log.warning("login throttle storage unavailable; per-account limit not checked", exc_info=True)
        return False


def record_failure(email: str, now: datetime) -> None:
    """Count one failed sign-in for the account."""
    enabled, _limit, window = _settings()
    if not enabled:
        return
    try:
        storage().incr(_keys(email, now, window)[-1], expiry=(window + 1) * 60)
    except Exception:  # noqa: BLE001
        log.warning("login throttle storage unavailable; failure not counted", exc_info=True)


def clear(email: str, now: datetime) -> None:
    """Forget the account's failures (after a successful sign-in or an admin's reset)."""
    enabled, _limit, window = _settings()
    if not enabled:
        return
    try:
        store = storage()
        for key in _keys(email, now, window):
            store.clear(key)
    except Exception:  # noqa: BLE001
        log.warning("login throttle storage unavailable; failures not cleared", exc_info=True)


def locked_message() -> str:
    """What a paused account is told (the same for every e-mail, known or not)."""
    _enabled, _limit, window = _settings()
    return (f"Too many wrong passwords for this account. Wait {window} minutes and try again, "
            "or ask a coordinator to reset your password.")
