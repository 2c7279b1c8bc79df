"""The register in real Chromium: tapping, going offline, reloading offline, syncing exactly once, axe."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.attendance.models import AttendanceMark, MarkReceipt
from app.audit.models import AuditEvent
from tests import factories
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

STATUS_BUTTON = {"attended": "Here", "apologies": "Apologies", "absent": "Not here"}


@pytest.fixture
def register(db):
    """A cohort of 12 enrolled parents (one child each), a facilitator on the first session's rota."""
    facilitator = factories.make_user(db.session, role="facilitator")
    cohort = factories.make_cohort(db.session, capacity=12)
    session = cohort.sessions[0]
    factories.make_rota_assignment(db.session, session, facilitator)
    enrolments = []
    for n in range(12):
        parent = factories.make_parent(db.session, first_name=f"Parent{n:02d}", last_name="Test",
                                       children=[{"first_name": f"Baby{n:02d}", "date_of_birth": cohort.start_date}])
        enrolments.append(factories.make_enrolment(db.session, cohort=cohort, parent=parent))
    db.session.commit()
    return facilitator, session, enrolments


class Recorder:
    """Counts the requests that reach the server (to prove that 'offline' really was)."""

    def __init__(self, app):
        self.app, self.inner, self.paths = app, app.wsgi_app, []

    def __call__(self, environ, start_response):
        self.paths.append(environ.get("PATH_INFO"))
        return self.inner(environ, start_response)

    def __enter__(self):
        self.app.wsgi_app = self
        return self

    def __exit__(self, *exc):
        self.app.wsgi_app = self.inner


def tap(page, enrolment, status):
    row = page.locator(f"[data-enrolment-id='{enrolment.id}']")
    row.locator(f"button[data-status='{status}']").click()
    assert row.locator(f"button[data-status='{status}']").get_attribute("aria-pressed") == "true"


def wait_synced(page):
    page.wait_for_function("() => document.querySelector('[data-register-sync-text]').textContent === 'All marks are saved.'")


def stored(db):
    db.session.expire_all()
    return {m.enrolment_id: (m.status, m.is_late) for m in db.session.scalars(sa.select(AttendanceMark))}


def open_register(page, live_server, session):
    page.goto(f"{live_server.url}/sessions/{session.id}/register")
    page.wait_for_selector("[data-register-ready='true']")


def test_offline_marks_sync_exactly_once(app, live_server, page, context, db, register):
    facilitator, session, enrolments = register
    sign_in(page, live_server, facilitator)
    open_register(page, live_server, session)
    # the service worker controls the page and has kept a copy of it
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function(
        "() => caches.keys().then(async ks => { for (const k of ks) { if (await (await caches.open(k)).match(location.pathname)) return true } return false })")

    # 1. a register of 12 parents, by tapping
    first = {e.id: ("attended", "apologies", "absent")[i % 3] for i, e in enumerate(enrolments)}
    for e in enrolments:
        tap(page, e, first[e.id])
    wait_synced(page)
    assert stored(db) == {eid: (status, False) for eid, status in first.items()}

    # 2. offline: 8 more changes (one parent changed twice, one marked late), reload, all still there
    with Recorder(app) as recorder:
        context.set_offline(True)
        page.wait_for_function("() => navigator.onLine === false")
        changes = [(0, "absent"), (1, "attended"), (2, "attended"), (3, "apologies"), (4, "absent"),
                   (5, "attended"), (1, "absent")]
        final = dict(first)
        for index, status in changes:
            tap(page, enrolments[index], status)
            final[enrolments[index].id] = status
        late_row = page.locator(f"[data-enrolment-id='{enrolments[2].id}']")
        late_row.locator("button[data-late-toggle]").click()  # the 8th change: parent 2 came late
        expect(page.locator("[data-register-sync]")).to_contain_text("8 marks waiting to sync")
        queue = page.evaluate("""() => new Promise((resolve, reject) => {
            const open = indexedDB.open('groupwork-register', 2)
            open.onsuccess = () => {
              const req = open.result.transaction('marks').objectStore('marks').getAll()
              req.onsuccess = () => resolve(req.result)
              req.onerror = () => reject(req.error)
            }
        })""")
        assert len(queue) == 8 and len({item["clientMarkId"] for item in queue}) == 8

        response = page.reload()
        assert response is not None and response.from_service_worker
        page.wait_for_selector("[data-register-ready='true']")
        expect(page.locator("[data-register-sync]")).to_contain_text("8 marks waiting to sync")
        for e in enrolments:
            row = page.locator(f"[data-enrolment-id='{e.id}']")
            assert row.locator(f"button[data-status='{final[e.id]}']").get_attribute("aria-pressed") == "true"
        assert late_row.locator("button[data-late-toggle]").get_attribute("aria-pressed") == "true"
        assert recorder.paths == [], f"requests reached the server while offline: {recorder.paths}"
    assert stored(db) == {eid: (status, False) for eid, status in first.items()}  # nothing synced yet

    # 3. back online: the queue syncs, in order, once
    context.set_offline(False)
    wait_synced(page)
    expected = {eid: (status, eid == enrolments[2].id) for eid, status in final.items()}
    assert stored(db) == expected
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceMark)) == 12
    receipts = db.session.scalar(sa.select(sa.func.count()).select_from(MarkReceipt))
    audit = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert receipts == 20

    # 4. the same queue replayed three times changes nothing
    for _ in range(3):
        page.evaluate("""(items) => new Promise((resolve, reject) => {
            const open = indexedDB.open('groupwork-register', 2)
            open.onsuccess = () => {
              const tx = open.result.transaction('marks', 'readwrite')
              for (const item of items) { const copy = {...item}; delete copy.seq; tx.objectStore('marks').add(copy) }
              tx.oncomplete = () => { window.dispatchEvent(new Event('online')); resolve() }
              tx.onerror = () => reject(tx.error)
            }
        })""", queue)
        page.wait_for_function("() => !document.querySelector('[data-register-sync-text]').textContent.includes('waiting')")
        wait_synced(page)
    assert stored(db) == expected
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MarkReceipt)) == receipts
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == audit


def test_marks_survive_signing_out_and_sync_after_the_next_sign_in(app, live_server, page, context, db, register):
    facilitator, session, enrolments = register
    colleague = factories.make_user(db.session, role="facilitator")
    factories.make_rota_assignment(db.session, session, colleague)
    db.session.commit()
    sign_in(page, live_server, facilitator)
    open_register(page, live_server, session)
    context.set_offline(True)
    page.wait_for_function("() => navigator.onLine === false")
    tap(page, enrolments[0], "apologies")
    tap(page, enrolments[1], "absent")
    expect(page.locator("[data-register-sync]")).to_contain_text("2 marks waiting to sync")
    # the session cookie is gone before the tablet is back online (idle logout, signed out elsewhere...)
    context.clear_cookies()
    context.set_offline(False)
    page.wait_for_function("() => document.querySelector('[data-register-sync-text]').textContent.includes('Sign in again')")
    assert stored(db) == {}
    sign_in(page, live_server, colleague)  # the start page runs no register script
    open_register(page, live_server, session)
    wait_synced(page)
    assert stored(db) == {enrolments[0].id: ("apologies", False), enrolments[1].id: ("absent", False)}


def test_the_register_page_has_no_serious_accessibility_violations(live_server, page, db, register):
    from axe_playwright_python.sync_playwright import Axe

    facilitator, session, enrolments = register
    booking = factories.make_creche_booking(db.session, session, enrolments[0])
    db.session.commit()
    sign_in(page, live_server, facilitator)
    open_register(page, live_server, session)
    tap(page, enrolments[1], "attended")
    page.locator(f"#booking-{booking.id} button").click()  # sign in: the sign-out form appears
    page.wait_for_selector(f"#booking-{booking.id} input[type=text]")
    page.wait_for_selector("[data-register-ready='true']")
    results = Axe().run(page)
    serious = [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []
    # targets: every register button is at least 44px high and wide
    sizes = page.eval_on_selector_all(".app-attendance__choices button",
                                      "els => els.map(e => [e.offsetWidth, e.offsetHeight])")
    assert sizes and all(w >= 44 and h >= 44 for w, h in sizes)


def test_the_register_works_by_keyboard(live_server, page, db, register):
    facilitator, session, enrolments = register
    sign_in(page, live_server, facilitator)
    open_register(page, live_server, session)
    row = page.locator(f"[data-enrolment-id='{enrolments[0].id}']")
    row.locator("button[data-status='attended']").focus()
    page.keyboard.press("Tab")  # to "Apologies"
    page.keyboard.press("Enter")
    assert row.locator("button[data-status='apologies']").get_attribute("aria-pressed") == "true"
    wait_synced(page)
    assert stored(db) == {enrolments[0].id: ("apologies", False)}
