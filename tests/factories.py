"""Test factories: make_<thing>(session, **overrides) with realistic defaults. They flush, never commit.

Add a factory for your feature here (append; keep each small), or in tests/<feature>/ if only it uses it.
"""
from __future__ import annotations

import itertools
from datetime import date, time

from werkzeug.security import generate_password_hash

_seq = itertools.count(1)
_PASSWORD_HASH = None


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        from tests.conftest import TEST_PASSWORD

        _PASSWORD_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")
    return _PASSWORD_HASH


def make_user(session, role: str = "admin", qualifications: tuple[str, ...] = (), centres=(), **overrides):
    """A staff member who can sign in with tests.conftest.TEST_PASSWORD."""
    from app.auth.models import User
    from app.staff.models import StaffCentre, StaffQualification

    n = next(_seq)
    values = {"email": f"{role}{n}@example.org", "role": role, "full_name": f"{role.title()} {n}",
              "password_hash": _password_hash()}
    values.update(overrides)
    user = User(**values)
    session.add(user)
    session.flush()
    for q in qualifications:
        session.add(StaffQualification(user_id=user.id, qualification=q))
    for c in centres:
        session.add(StaffCentre(user_id=user.id, centre_id=c.id))
    session.flush()
    return user


def make_centre(session, rooms: tuple[str, ...] = ("Main hall",), **overrides):
    """A children's centre with rooms."""
    from app.centres.models import Centre, Room

    n = next(_seq)
    values = {"name": f"Centre {n}", "address": f"{n} High Street, London", "postcode": "SW9 7QD",
              "ward": "Stockwell", "creche_capacity": 12}
    values.update(overrides)
    centre = Centre(**values)
    centre.rooms = [Room(name=r) for r in rooms]
    session.add(centre)
    session.flush()
    return centre


def make_parent(session, children: list[dict] | None = None, **overrides):
    """A parent with SMS consent and (by default) one child aged about a year."""
    from app.parents.models import Child, Parent

    n = next(_seq)
    values = {"first_name": f"Parent{n}", "last_name": "Test", "mobile": f"+4474{n:08d}", "postcode": "SW9 7QD",
              "language": "en", "sms_consent": True}
    values.update(overrides)
    parent = Parent(**values)
    for spec in children if children is not None else [{"first_name": f"Child{n}", "date_of_birth": date(2025, 9, 1)}]:
        parent.children.append(Child(**spec))
    session.add(parent)
    session.flush()
    return parent
