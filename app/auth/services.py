"""Staff accounts: passwords, sign-in and API tokens. No Flask request objects here."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import ROLES, ApiToken, User
from app.errors import Conflict, ValidationFailed

MIN_PASSWORD_LENGTH = 12
_COMMON_FILE = Path(__file__).with_name("data") / "common_passwords.txt"
# The most common choices that pass the length rule, plus the list of common passwords and the
# words people build them from (app/auth/data/common_passwords.txt).
COMMON_PASSWORDS = frozenset({
    "password1234", "password12345", "passwordpassword", "123456789012", "qwertyuiopas", "iloveyou1234",
    "letmein12345", "welcome12345", "changeme1234", "administrator", "qwerty123456", "football1234",
    "monkey123456", "abcdefghijkl", "111111111111", "000000000000", "password123!", "groupwork123",
} | {line.strip().lower() for line in _COMMON_FILE.read_text(encoding="utf-8").splitlines()
     if line.strip() and not line.startswith("#")})
#: keyboard and alphabet runs: a password that is a piece of one of these is refused
_RUNS = ("1234567890" * 3, "0987654321" * 3, "qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz",
         "zyxwvutsrqponmlkjihgfedcba", "mnbvcxzlkjhgfdsapoiuytrewq", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p")
_PADDING = "0123456789!@#$%^&*()-_=+.,?~ "
# A fixed hash to compare against when the user does not exist, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")


def normalise_email(email: str) -> str:
    """Sign-in names are compared case-insensitively."""
    return (email or "").strip().lower()


def is_common_password(password: str) -> bool:
    """True for a listed password, a listed word padded with digits or symbols, or a keyboard run."""
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return True
    core = lowered.strip(_PADDING)
    if core and core in COMMON_PASSWORDS:
        return True
    squashed = "".join(ch for ch in core if ch.isalnum())
    if squashed in COMMON_PASSWORDS:
        return True
    # the same word twice (monkeymonkey) or a run along the keyboard (qwertyuiopas)
    half = len(squashed) // 2
    if half and squashed[:half] == squashed[half:] and squashed[:half] in COMMON_PASSWORDS:
        return True
    return any(lowered in run for run in _RUNS)


def check_password_policy(password: str) -> None:
    """Refuse short or common passwords, naming the field."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", "password")
    if is_common_password(password):
        raise ValidationFailed("That password is too common; choose another.", "password")


def hash_password(password: str, method: str = "scrypt") -> str:
    """A salted hash (scrypt by default)."""
    return generate_password_hash(password, method=method)


def create_user(db: Session, email: str, password: str, role: str, *, full_name: str = "",
                hash_method: str = "scrypt") -> User:
    """Create a staff account; flushes, does not commit."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise ValidationFailed("Enter an email address like name@example.org.", "email")
    if role not in ROLES:
        raise ValidationFailed(f"Role must be one of: {', '.join(ROLES)}.", "role")
    check_password_policy(password)
    if db.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"An account for {email} already exists.", "email")
    user = User(email=email, password_hash=hash_password(password, hash_method), role=role, full_name=full_name)
    db.add(user)
    db.flush()
    return user


def authenticate(db: Session, email: str, password: str, now: datetime) -> User | None:
    """The enabled user with this email and password, or None (never says which part was wrong)."""
    user = db.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_enabled:
        return None
    user.last_login_at = now
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(db: Session, user: User, now: datetime, hours: int = 12) -> str:
    """A new bearer token for the user; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), created_at=now,
                    expires_at=now + timedelta(hours=hours)))
    db.flush()
    return token


def user_for_token(db: Session, token: str, now: datetime) -> User | None:
    """The user a valid, unexpired, unrevoked token belongs to."""
    if not token or len(token) > 200:
        return None
    # one indexed query (token_hash is unique) for the token and its user, on every API request
    return db.scalar(_token_user_statement(), {"token_hash": _token_hash(token), "now": now})


@cache
def _token_user_statement() -> sa.Select:
    """Built once: it runs on every API request."""
    return (sa.select(User).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == sa.bindparam("token_hash"), ApiToken.revoked_at.is_(None),
                   ApiToken.expires_at > sa.bindparam("now", type_=ApiToken.expires_at.type),
                   User.is_enabled.is_(True)))


def revoke_token(db: Session, token: str, now: datetime) -> bool:
    """Revoke a token; True if it existed."""
    row = db.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None:
        return False
    row.revoked_at = now
    return True


def set_password(user: User, password: str, hash_method: str = "scrypt") -> None:
    """Change a password after checking the policy."""
    check_password_policy(password)
    user.password_hash = hash_password(password, hash_method)
    user.must_change_password = False


def _temporary_password() -> str:
    """A random temporary password that passes the policy: four groups easy to read out."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
    while True:
        candidate = "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))
        if not is_common_password(candidate):
            return candidate


def start_password_reset(db: Session, user: User, *, now: datetime, actor=None,
                         hash_method: str = "scrypt") -> str:
    """An admin resets a colleague's password: returns a temporary password to pass on in person.

    The account must choose a new password at its next sign-in, and every API token it holds
    is revoked, so whoever had the old password (or a token) is shut out at once.
    """
    from app.audit.services import record

    temporary = _temporary_password()
    user.password_hash = hash_password(temporary, hash_method)
    user.must_change_password = True
    for token in user.tokens:
        if token.revoked_at is None:
            token.revoked_at = now
    record(db, "password_reset", user, actor=actor, at=now, changes={"must_change_password": [False, True]})
    db.flush()
    return temporary


def change_password(db: Session, user: User, current: str, new: str, *, now: datetime,
                    hash_method: str = "scrypt") -> None:
    """The user changes their own password; the current one must be right and the new one different."""
    from app.audit.services import record

    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationFailed("Your current password is not right.", "current_password")
    if new == current:
        raise ValidationFailed("Choose a password different from the current one.", "new_password")
    try:
        set_password(user, new, hash_method)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, "new_password") from None
    record(db, "password_change", user, actor=user, at=now, changes={"password": ["(changed)", "(changed)"]})
    db.flush()
