"""The register pages without JavaScript: who may open them, marking by form, crèche, notes, closing."""
import pytest
import sqlalchemy as sa

from app.attendance.models import AttendanceMark, SessionNote
from tests.factories import make_creche_booking


@pytest.fixture
def signed_in(login_as, group, clock, during):
    clock.set(during)
    return login_as(group.facilitator)


def reg_url(group):
    return f"/sessions/{group.session.id}/register"


def test_register_page_for_a_facilitator_on_the_rota(client, group, signed_in):
    page = client.get(reg_url(group))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Ama" in html and "Circle of Security" in html
    assert 'data-enrolment-id="%d"' % group.enrolment.id in html
    assert "register.js" in html and "<script>" not in html  # no inline script (CSP)
    assert 'aria-pressed="false"' in html


def test_other_facilitators_and_workers_cannot_open_it(client, login_as, group, clock, during):
    clock.set(during)
    login_as("facilitator")
    assert client.get(reg_url(group)).status_code == 403
    assert client.post(f"{reg_url(group)}/{group.enrolment.id}", data={"status": "attended"}).status_code == 403


def test_worker_cannot_open_a_register(client, login_as, group):
    login_as("worker")
    assert client.get(reg_url(group)).status_code == 403


def test_marking_by_form_and_late_toggle(client, group, signed_in, db):
    r = client.post(f"{reg_url(group)}/{group.enrolment.id}", data={"status": "attended"})
    assert r.status_code == 303
    r = client.post(f"{reg_url(group)}/{group.enrolment.id}", data={"late": "toggle"})
    mark = db.session.scalars(sa.select(AttendanceMark)).one()
    assert mark.status == "attended" and mark.is_late
    html = client.get(reg_url(group)).get_data(as_text=True)
    assert "Here, late" in html


def test_a_bad_mark_gets_a_clear_message_on_the_page(client, group, signed_in, db):
    r = client.post(f"{reg_url(group)}/{group.enrolment.id}", data={"status": "maybe"})
    assert r.status_code == 422
    assert "Choose here (attended), apologies or not here" in r.get_data(as_text=True)
    r = client.post(f"{reg_url(group)}/999999", data={"status": "attended"})
    assert r.status_code == 422 and "not enrolled" in r.get_data(as_text=True)


def test_creche_sign_in_and_out_keeps_what_was_typed_on_error(client, group, signed_in, db):
    booking = make_creche_booking(db.session, group.session, group.enrolment)
    db.session.commit()
    url = f"/sessions/{group.session.id}/creche/{booking.id}"
    assert client.post(url, data={"action": "sign_in"}).status_code == 303
    r = client.post(url, data={"action": "sign_out", f"b{booking.id}-collected_by": "x" * 121})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "x" * 121 in html and "govuk-error-message" in html
    assert client.post(url, data={"action": "sign_out", f"b{booking.id}-collected_by": "Auntie"}).status_code == 303
    assert "collected by Auntie" in client.get(reg_url(group)).get_data(as_text=True)


def test_notes_and_closing(client, group, signed_in, db, clock, login_as):
    r = client.post(f"/sessions/{group.session.id}/note", data={"body": "Lovely group"})
    assert r.status_code == 303
    assert db.session.scalars(sa.select(SessionNote)).one().body == "Lovely group"
    r = client.post(f"/sessions/{group.session.id}/note", data={"body": "y" * 2001})
    assert r.status_code == 422 and "y" * 2001 in r.get_data(as_text=True)
    r = client.post(f"{reg_url(group)}/close", data={})
    assert r.status_code == 422 and "Confirm that you have marked everyone" in r.get_data(as_text=True)
    clock.set(group.session.ends_at)
    login_as(group.facilitator)  # two hours idle: signed out on a shared tablet
    r = client.post(f"{reg_url(group)}/close", data={"confirm": "y"})
    assert r.status_code == 303, r.headers.get("Location")
    db.session.refresh(group.session)
    assert group.session.register_closed_at is not None
    assert db.session.scalars(sa.select(AttendanceMark)).one().is_auto


def test_my_sessions_lists_only_my_rota(client, group, signed_in, db):
    from tests.factories import make_cohort

    other = make_cohort(db.session, start_date=group.cohort.start_date)  # nobody's rota
    db.session.commit()
    html = client.get("/sessions/mine").get_data(as_text=True)
    assert html.count("Open register") == 2  # sessions 1 and 2 (today and next week)
    assert reg_url(group) in html and f"/sessions/{other.sessions[0].id}/register" not in html


def test_service_worker_and_csrf_token_routes(client, app, group, login_as):
    sw = client.get("/sw.js")
    if sw.status_code == 404:
        pytest.skip("assets not built (scripts/build-assets)")
    assert sw.status_code == 200 and sw.headers["Service-Worker-Allowed"] == "/"
    assert "javascript" in sw.headers["Content-Type"]
    assert client.get("/csrf-token").status_code == 302  # signed out: to the sign-in page
    login_as("worker")
    assert "csrf_token" in client.get("/csrf-token").json


def test_the_first_and_last_registers_link_to_outcome_scores(client, group, signed_in):
    first = client.get(reg_url(group)).get_data(as_text=True)
    assert f'href="/sessions/{group.session.id}/outcomes"' in first and "group's first session" in first
    last = client.get(f"/sessions/{group.sessions[-1].id}/register").get_data(as_text=True)
    assert f'href="/sessions/{group.sessions[-1].id}/outcomes"' in last and "group's last session" in last
    middle = client.get(f"/sessions/{group.sessions[2].id}/register").get_data(as_text=True)
    assert "/outcomes" not in middle


def test_a_kept_row_is_never_shown_stale_and_carries_this_requests_csrf_token(client, group, signed_in, db):
    from app.attendance.views import ROWS

    first = client.get(reg_url(group)).get_data(as_text=True)
    assert "Not marked yet" in first
    again = client.get(reg_url(group)).get_data(as_text=True)
    assert ROWS.hits >= 1  # the unchanged row came from the cache...
    assert "<csrf-token>" not in again and again.count('name="csrf_token" value="') >= 2  # ...with a real token
    client.post(f"{reg_url(group)}/{group.enrolment.id}", data={"status": "apologies"})
    after = client.get(reg_url(group)).get_data(as_text=True)
    assert "Not marked yet" not in after and ">Apologies" in after and 'data-status="apologies"' in after


def test_a_name_looking_like_the_placeholder_is_shown_as_written(client, group, signed_in, db):
    group.parent.first_name = "<csrf-token>"
    db.session.commit()
    html = client.get(reg_url(group)).get_data(as_text=True)
    assert "&lt;csrf-token&gt;" in html and "<csrf-token>" not in html


def test_the_fragment_cache_is_bounded_and_least_recently_used_goes_first():
    from app.fragments import FragmentCache, with_csrf

    cache = FragmentCache(max_entries=2)
    renders = []

    def render(text):
        return lambda: renders.append(text) or text

    cache.get_or_render("a", render("A"))
    cache.get_or_render("b", render("B"))
    cache.get_or_render("a", render("A"))  # a hit: "a" is now the most recent
    cache.get_or_render("c", render("C"))  # "b" goes
    cache.get_or_render("b", render("B"))
    assert renders == ["A", "B", "C", "B"] and len(cache) == 2
    assert str(with_csrf('<input value="<csrf-token>">', "t0k.en")) == '<input value="t0k.en">'
