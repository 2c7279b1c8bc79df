"""Secret feed links: made once and reused, hashed at rest, rotated and revoked, and a 404 that tells nothing."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.calendar import services
from app.calendar.models import CalendarToken
from tests import factories


def token_from(url: str) -> str:
    return urlsplit(url).path.removeprefix("/calendar/").removesuffix(".ics")


@pytest.fixture
def parent(db):
    parent = factories.make_parent(db.session)
    factories.make_enrolment(db.session, parent=parent)
    db.session.commit()
    return parent


def test_the_url_is_https_secret_and_the_same_each_time(db, parent, now):
    url = services.parent_feed_url(db.session, parent, now=now)
    assert url.startswith("https://groupwork.test/calendar/") and url.endswith(".ics")
    assert services.parent_feed_url(db.session, parent, now=now) == url
    token = token_from(url)
    assert len(token) == 43 and len(token) * 6 >= 128  # base64url of a 256-bit HMAC
    link = db.session.scalars(sa.select(CalendarToken)).one()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    # the token itself is nowhere in the row
    assert token not in " ".join(str(getattr(link, c.key)) for c in CalendarToken.__table__.columns)
    assert services.webcal_url(url) == "webcal://" + url.removeprefix("https://")
    other = factories.make_parent(db.session)
    assert token_from(services.parent_feed_url(db.session, other, now=now)) != token


def test_a_link_depends_on_the_secret_key(app, client, db, parent, now):
    url = services.parent_feed_url(db.session, parent, now=now)
    db.session.commit()
    assert client.get(urlsplit(url).path).status_code == 200
    app.config["SECRET_KEY"] = "another-secret"  # a stolen database without the key opens nothing
    assert client.get(urlsplit(url).path).status_code == 404


def test_rotate_makes_a_new_link_and_the_old_one_stops(client, db, parent, now):
    old = services.parent_feed_url(db.session, parent, now=now)
    new = services.rotate(db.session, parent, now=now)
    db.session.commit()
    assert new != old
    assert client.get(urlsplit(old).path).status_code == 404
    assert client.get(urlsplit(new).path).status_code == 200
    assert services.parent_feed_url(db.session, parent, now=now) == new


def test_revoke_switches_the_link_off_and_is_audited(client, db, parent, now):
    url = services.parent_feed_url(db.session, parent, now=now)
    assert services.revoke(db.session, parent, now=now) == 1
    db.session.commit()
    assert client.get(urlsplit(url).path).status_code == 404
    assert services.current_link(db.session, parent) is None
    fresh = services.parent_feed_url(db.session, parent, now=now)
    assert fresh != url
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.parent_id == parent.id)
                                 .where(AuditEvent.entity_type == "CalendarToken").order_by(AuditEvent.id)).all()
    assert actions == ["calendar_link.create", "calendar_link.revoke", "calendar_link.create"]


def test_feed_headers(client, db, parent, now):
    url = services.parent_feed_url(db.session, parent, now=now)
    db.session.commit()
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == "inline; filename=groupwork.ics"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert client.head(urlsplit(url).path).status_code == 200


def test_fetching_notes_when_a_calendar_app_last_looked_at_most_hourly(app, client, db, parent, now, clock):
    url = services.parent_feed_url(db.session, parent, now=now)
    db.session.commit()
    client.get(urlsplit(url).path)
    link = db.session.scalars(sa.select(CalendarToken)).one()
    db.session.refresh(link)
    assert link.last_fetched_at == now
    clock.set(now + timedelta(minutes=20))
    client.get(urlsplit(url).path)
    db.session.refresh(link)
    assert link.last_fetched_at == now
    clock.set(now + timedelta(hours=2))
    client.get(urlsplit(url).path)
    db.session.refresh(link)
    assert link.last_fetched_at == now + timedelta(hours=2)


def test_unknown_revoked_and_malformed_tokens_get_the_same_plain_404(app, client, db, parent, now):
    revoked = services.parent_feed_url(db.session, parent, now=now)
    services.revoke(db.session, parent, now=now)
    db.session.commit()
    probes = [
        urlsplit(revoked).path,
        "/calendar/" + "A" * 43 + ".ics",  # well formed, never issued
        "/calendar/abc.ics",
        "/calendar/" + "A" * 42 + "!.ics",
        "/calendar/" + "x" * 5000 + ".ics",
        "/calendar/%00%ff.ics",
        "/calendar/" + "A" * 43 + "/session/1.ics",
    ]
    answers = set()
    for path in probes:
        response = client.get(path)
        answers.add((response.status_code, response.data, response.headers["Content-Type"],
                     response.headers["Cache-Control"]))
    assert answers == {(404, b"Not found\n", "text/plain; charset=utf-8", "no-store")}


def test_erased_parents_and_disabled_staff_have_no_feed(client, db, parent, now):
    from app.timeutil import now as clock_now

    staff = factories.make_user(db.session, role="facilitator")
    parent_url = services.parent_feed_url(db.session, parent, now=now)
    staff_url = services.staff_feed_url(db.session, staff, now=now)
    db.session.commit()
    assert client.get(urlsplit(staff_url).path).status_code == 200
    parent.erased_at = clock_now()
    staff.is_enabled = False
    db.session.commit()
    assert client.get(urlsplit(parent_url).path).status_code == 404
    assert client.get(urlsplit(staff_url).path).status_code == 404


def test_each_owner_kind_has_its_own_link(db, now):
    user = factories.make_user(db.session, role="worker")
    cohort = factories.make_cohort(db.session)
    parent = factories.make_parent(db.session)
    urls = {services.staff_feed_url(db.session, user, now=now), services.cohort_feed_url(db.session, cohort, now=now),
            services.parent_feed_url(db.session, parent, now=now)}
    assert len(urls) == 3
    kinds = sorted(link.owner_kind for link in db.session.scalars(sa.select(CalendarToken)))
    assert kinds == ["cohort", "parent", "user"]
