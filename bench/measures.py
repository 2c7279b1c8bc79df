"""The figures of the benchmark, each beside the floor it is compared with."""
from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Flask, jsonify

from bench.run import Figure, QueryCounter, compare, summary, timed, timed_together

ROOT = Path(__file__).resolve().parent.parent
floor_metadata = sa.MetaData()
floor_rows = sa.Table("bench_floor_rows", floor_metadata,
                      sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("value", sa.String(64), nullable=False))


def install_floor_routes(app: Flask) -> None:
    """The floors: the least a route can do on this stack (select one row by key; insert and commit one row)."""
    from app.auth.permissions import public
    from app.cohorts.models import CohortSession
    from app.extensions import db

    bp = Blueprint("bench_floor", __name__)

    @bp.route("/bench/floor/row/<int:row_id>")
    @public
    def select_row(row_id: int):
        """Select one row by primary key."""
        row = db.session.get(CohortSession, row_id)
        return jsonify({"id": row.id, "starts_at": row.starts_at.isoformat()})

    @bp.route("/bench/floor/insert", methods=["POST"])
    @public
    def insert_row():
        """Insert and commit one row."""
        db.session.execute(floor_rows.insert().values(value=uuid.uuid4().hex))
        db.session.commit()
        return jsonify({"ok": True}), 201

    app.register_blueprint(bp)


def create_floor_table(db) -> None:
    floor_metadata.create_all(db.engine)


def _admin_token(client) -> str:
    from bench.generate import BENCH_PASSWORD

    response = client.post("/api/v1/auth/tokens", json={"email": "coordinator@bench.test", "password": BENCH_PASSWORD})
    assert response.status_code == 201, response.json
    return response.json["token"]


def _busiest_recent_session(db) -> int:
    """A held session with the most enrolled parents (a full register)."""
    from app.cohorts.models import CohortSession
    from app.enrolment.models import Enrolment

    row = db.session.execute(
        sa.select(CohortSession.id, sa.func.count(Enrolment.id).label("n"))
        .join(Enrolment, Enrolment.cohort_id == CohortSession.cohort_id)
        .where(CohortSession.starts_at < datetime(2026, 11, 22, tzinfo=timezone.utc), Enrolment.status == "enrolled")
        .group_by(CohortSession.id).order_by(sa.desc("n"), sa.desc(CohortSession.id)).limit(1)).first()
    return row.id


def register_figures(app, quick: bool) -> list[Figure]:
    """1. The tablet register, HTML and JSON, against selecting one row by key; SQL statements per request."""
    from app.extensions import db

    client = app.test_client()
    token = _admin_token(client)
    auth = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        session_id = _busiest_recent_session(db)
        small_id = db.session.execute(sa.text("SELECT MIN(id) FROM cohort_sessions")).scalar()
        counter = QueryCounter(db.engine)
    from bench.generate import BENCH_PASSWORD

    html = app.test_client()
    html.post("/login", data={"email": "coordinator@bench.test", "password": BENCH_PASSWORD})
    n = 60 if quick else 300

    def get_ok(c, url, **kw):
        r = c.get(url, **kw)
        assert r.status_code == 200, (url, r.status_code)

    samples = timed_together({
        "floor": lambda: get_ok(client, f"/bench/floor/row/{session_id}"),
        "api": lambda: get_ok(client, f"/api/v1/sessions/{session_id}/register", headers=auth),
        "page": lambda: get_ok(html, f"/sessions/{session_id}/register"),
    }, n)
    floor, api, page = samples["floor"], samples["api"], samples["page"]
    statements = {
        "api_full_register": counter.measure(lambda: client.get(f"/api/v1/sessions/{session_id}/register", headers=auth)),
        "api_other_register": counter.measure(lambda: client.get(f"/api/v1/sessions/{small_id}/register", headers=auth)),
        "html_full_register": counter.measure(lambda: html.get(f"/sessions/{session_id}/register")),
        "html_other_register": counter.measure(lambda: html.get(f"/sessions/{small_id}/register")),
    }
    same = statements["api_full_register"] == statements["api_other_register"] and \
        statements["html_full_register"] == statements["html_other_register"]
    few = max(statements.values()) <= 10
    figures = [
        compare("1a register JSON vs select-one-row", api, floor, 3, quick, sql_statements=statements,
                statements_constant=same, statements_at_most_10=few),
        compare("1b register HTML page vs select-one-row", page, floor, 4, quick),
    ]
    if not quick and not (same and few):
        figures[0].met = False
    return figures


def attendance_put_figure(app, quick: bool) -> Figure:
    """2. PUT attendance against inserting and committing one row."""
    from app.extensions import db

    client = app.test_client()
    auth = {"Authorization": f"Bearer {_admin_token(client)}"}
    with app.app_context():
        session_id = _busiest_recent_session(db)
        enrolments = [r[0] for r in db.session.execute(sa.text(
            "SELECT e.id FROM enrolments e JOIN cohort_sessions s ON s.cohort_id = e.cohort_id "
            "WHERE s.id = :s AND e.status = 'enrolled'"), {"s": session_id})]
    n = 60 if quick else 300
    statuses = ["attended", "apologies", "absent"]
    state = {"i": 0}

    def put():
        i = state["i"] = state["i"] + 1
        enrolment = enrolments[i % len(enrolments)]
        marked = datetime(2026, 11, 23, 10, tzinfo=timezone.utc) + timedelta(seconds=i)
        r = client.put(f"/api/v1/sessions/{session_id}/attendance/{enrolment}", headers=auth,
                       json={"status": statuses[i % 3], "client_mark_id": str(uuid.uuid4()),
                             "marked_at": marked.isoformat()})
        assert r.status_code in (200, 201), r.json

    def floor():
        r = client.post("/bench/floor/insert")
        assert r.status_code == 201

    samples = timed_together({"put": put, "floor": floor}, n)
    return compare("2  PUT attendance vs insert-and-commit", samples["put"], samples["floor"], 3, quick)


def calendar_figure(app, quick: bool) -> Figure:
    """3. A parent's calendar feed (three cohorts) against serialising the same events with icalendar alone."""
    import icalendar

    from app.calendar.services import parent_feed_url
    from app.cohorts.models import CohortSession
    from app.enrolment.models import Enrolment
    from app.extensions import db
    from app.parents.models import Parent

    with app.app_context():
        parent = db.session.get(Parent, 1)
        cohorts = db.session.scalars(sa.select(sa.text("id")).select_from(sa.text("cohorts"))
                                     .order_by(sa.text("id DESC")).limit(3)).all()
        for cohort_id in cohorts:
            if not db.session.scalar(sa.select(Enrolment.id).where(Enrolment.parent_id == parent.id,
                                                                   Enrolment.cohort_id == cohort_id)):
                db.session.add(Enrolment(parent_id=parent.id, cohort_id=cohort_id, status="enrolled",
                                         referral_source="gp", enrolled_at=datetime.now(timezone.utc)))
        db.session.commit()
        url = parent_feed_url(db.session, parent, now=datetime.now(timezone.utc))
        db.session.commit()
        sessions = db.session.scalars(sa.select(CohortSession).join(Enrolment, Enrolment.cohort_id == CohortSession.cohort_id)
                                      .where(Enrolment.parent_id == parent.id, Enrolment.status == "enrolled")).all()
        rows = [(s.id, s.starts_at, s.ends_at, s.sequence) for s in sessions]
    path = "/calendar/" + url.split("/calendar/", 1)[1]
    client = app.test_client()

    def feed():
        r = client.get(path)
        assert r.status_code == 200 and r.data.count(b"BEGIN:VEVENT") == len(rows)

    def bare():
        cal = icalendar.Calendar()
        cal.add("prodid", "-//bench//EN")
        cal.add("version", "2.0")
        for sid, start, end, seq in rows:
            ev = icalendar.Event()
            ev.add("uid", f"session-{sid}@bench")
            ev.add("dtstart", start)
            ev.add("dtend", end)
            ev.add("summary", "Group")
            ev.add("sequence", seq)
            ev.add("dtstamp", start)
            cal.add_component(ev)
        cal.to_ical()

    n = 40 if quick else 200
    samples = timed_together({"feed": feed, "bare": bare}, n)
    return compare("3  parent calendar feed (3 cohorts) vs icalendar alone", samples["feed"], samples["bare"], 3,
                   quick, events=len(rows))


def report_figures(app, quick: bool) -> list[Figure]:
    """4. The attendance report for ten years and for one term against one hand-written GROUP BY."""
    from app.extensions import db
    from app.reports.services import attendance_report

    figures = []
    with app.app_context():
        first = db.session.execute(sa.text("SELECT MIN(starts_at) FROM cohort_sessions")).scalar()
        first_day = first.date() if hasattr(first, "date") else date.fromisoformat(str(first)[:10])
        periods = [("ten years", first_day, date(2026, 11, 22)), ("one term", date(2026, 4, 13), date(2026, 7, 22))]
        for label, start, end in periods:
            lo = datetime.combine(start, dtime(0), tzinfo=timezone.utc)
            hi = datetime.combine(end + timedelta(days=1), dtime(0), tzinfo=timezone.utc)
            sql = sa.text("SELECT m.status, COUNT(*) FROM attendance_marks m JOIN cohort_sessions s ON s.id = m.session_id "
                          "WHERE s.starts_at >= :lo AND s.starts_at < :hi GROUP BY m.status")

            def bare():
                db.session.execute(sql, {"lo": lo, "hi": hi}).all()

            def report():
                attendance_report(db.session, start=start, end=end)

            n = 10 if quick else 30
            samples = timed_together({"report": report, "bare": bare}, n, 2)
            figures.append(compare(f"4  attendance report, {label} vs one GROUP BY", samples["report"],
                                   samples["bare"], 3, quick))
    return figures


def scheduler_figure(app, url: str, quick: bool) -> Figure:
    """5. A scheduler tick with 10,000 due reminders through the twilio SDK to a fake Twilio, against a bare loop."""
    from twilio.rest import Client

    from app.extensions import db
    from app.messaging.models import OutboxMessage
    from app.scheduler import tick

    due = 500 if quick else 10_000
    fake = _FakeTwilioProcess()
    try:
        app.config.update(SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="bench-token",
                          TWILIO_FROM="+447700000000", TWILIO_API_BASE_URL=fake.url)
        moment = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
        with app.app_context():
            # only the rows made here are due: everything else queued waits a year
            db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.status == "queued")
                               .values(send_after=moment + timedelta(days=365)))
            db.session.commit()
            # an untimed tick first (a steady state): it queues and sends the reminders the data set
            # already calls for, so the timed tick sends the same `due` messages as the bare loop
            tick(moment)
            parents = db.session.execute(sa.select(sa.text("id, mobile")).select_from(sa.text("parents"))
                                         .order_by(sa.text("id")).limit(2000)).all()
            db.session.execute(OutboxMessage.__table__.insert(), [
                {"kind": "reminder", "parent_id": parents[i % len(parents)][0], "language": "en",
                 "to_number": parents[i % len(parents)][1], "body": f"Reminder {i}", "status": "queued",
                 "send_after": moment - timedelta(minutes=5), "dedupe_key": f"bench:{i}", "attempts": 0,
                 "created_at": moment, "updated_at": moment} for i in range(due)])
            ids = db.session.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key.like("bench:%"))).all()
            db.session.commit()
            t = time.perf_counter()
            tick(moment)
            tick_ms = (time.perf_counter() - t) * 1000
            sent = db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.id.in_(ids),
                                                                     OutboxMessage.status.in_(("sent", "delivered"))))
        client = Client("AC" + "0" * 32, "bench-token")
        from app.messaging.sms import point_client_at

        point_client_at(client, fake.url)
        t = time.perf_counter()
        for i in range(due):
            client.messages.create(to=f"+4474{i:08d}", from_="+447700000000", body="Reminder")
        bare_ms = (time.perf_counter() - t) * 1000
    finally:
        fake.stop()
    ratio = bare_ms / tick_ms if tick_ms else None
    return Figure("5  scheduler tick, due reminders via twilio SDK vs bare loop", round(tick_ms, 1), None,
                  round(bare_ms, 1), round(ratio, 2) if ratio else None, ">= 1x (speed)",
                  None if quick else (ratio is not None and ratio >= 1 and sent == due),
                  {"due": due, "sent": sent, "ratio_is": "bare_loop_ms / tick_ms"})


class _FakeTwilioProcess:
    """tests/fake_twilio.py in its own process, as Twilio is: its work is not on the sender's interpreter (GIL).

    The tick and the bare loop talk to the same fake, so the comparison is unchanged; only the fake's
    own CPU time no longer competes with the sender's threads for one interpreter lock.
    """

    SCRIPT = ("import sys; from tests.fake_twilio import FakeTwilio; f = FakeTwilio(); f.start(); "
              "print(f.url, flush=True); sys.stdin.read()")

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", self.SCRIPT], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError("the fake Twilio did not start")

    def stop(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def rota_figure(app, quick: bool) -> Figure:
    """6. Rota auto-fill for a term of 40 cohorts of 8 sessions and 30 staff."""
    from app.extensions import db
    from app.rota.autofill import autofill_term

    from bench.generate import make_rota_term

    with app.app_context():
        start, end = make_rota_term(db.session, cohorts=10 if quick else 40, staff=30)
        db.session.commit()
        t = time.perf_counter()
        result = autofill_term(db.session, start, end, now=datetime(2026, 11, 22, tzinfo=timezone.utc), actor=None)
        elapsed = time.perf_counter() - t
        db.session.commit()
    extra = {k: getattr(result, k) for k in ("violations", "sessions_per_person", "distinct_facilitators",
                                                "unfilled") if hasattr(result, k)}
    per_person = extra.get("sessions_per_person") or {}
    if isinstance(per_person, dict) and per_person:
        extra["sessions_per_person"] = {"min": min(per_person.values()), "max": max(per_person.values())}
    distinct = extra.get("distinct_facilitators") or {}
    if isinstance(distinct, dict) and distinct:
        extra["distinct_facilitators"] = {"mean": round(sum(distinct.values()) / len(distinct), 2),
                                                     "max": max(distinct.values())}
    violations = extra.get("violations")
    n_violations = len(violations) if isinstance(violations, (list, tuple)) else violations
    extra["violations"] = n_violations
    if isinstance(extra.get("unfilled"), (list, tuple)):
        extra["unfilled"] = len(extra["unfilled"])
    return Figure("6  rota auto-fill, 40 cohorts x 8 sessions, 30 staff", round(elapsed * 1000, 1), None, None, None,
                  "< 5 s, 0 violations", None if quick else (elapsed < 5 and not n_violations), extra)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def load_figures(app, url: str, quick: bool, seconds: int) -> list[Figure]:
    """7 and 8. gunicorn with 4 workers, 50 simulated facilitators marking registers; peak memory of the web process."""
    from app.extensions import db

    port = _free_port()
    env = dict(os.environ, DATABASE_URL=url, GROUPWORK_ENV="testing", SECRET_KEY="bench-secret",
               PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    workers = "4"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", workers, "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        client = app.test_client()
        token = _admin_token(client)
        from app.cohorts.models import CohortSession
        from app.enrolment.models import Enrolment

        with app.app_context():
            # registers of sessions that have started (the latest ones): "not here" is refused before then
            started = datetime(2026, 11, 22, tzinfo=timezone.utc)
            rows = db.session.execute(
                sa.select(CohortSession.id, Enrolment.id)
                .join(Enrolment, Enrolment.cohort_id == CohortSession.cohort_id)
                .where(Enrolment.status == "enrolled", CohortSession.status == "scheduled",
                       CohortSession.starts_at < started)
                .order_by(CohortSession.id.desc()).limit(600)).all()
        from bench.load import run_load, run_paced, run_wrk

        users = 50 if not quick else 10
        # untimed first: every worker has booted (imported the app, opened its connections)
        run_wrk(f"http://127.0.0.1:{port}", token, rows, users=users, seconds=5) or \
            run_load(f"http://127.0.0.1:{port}", token, rows, users=users, seconds=5)
        stats = run_wrk(f"http://127.0.0.1:{port}", token, rows, users=users, seconds=seconds) or \
            run_load(f"http://127.0.0.1:{port}", token, rows, users=users, seconds=seconds)
        registers: dict[int, list[int]] = {}
        for session_id, enrolment_id in rows:
            registers.setdefault(session_id, []).append(enrolment_id)
        paced = run_paced(f"http://127.0.0.1:{port}", token, registers, users=users, seconds=seconds)
        worker_pids = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                      text=True).stdout.split()]
        peak_mb = max([_vm_hwm_kb(p) for p in worker_pids + [proc.pid]] or [0]) / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    memory = Figure("7  peak memory of one web worker (VmHWM)", None, None, None, None, "< 250 MB",
                    None if quick else peak_mb < 250, {"peak_mb": round(peak_mb, 1)})
    load = Figure(f"8  HTTP load, gunicorn x{workers}, {stats['users']} taps back to back, {seconds}s",
                  stats["median_ms"], stats["p95_ms"], None, None, "0 errors, p95 < 150 ms",
                  None if quick else (stats["errors"] == 0 and stats["p95_ms"] < 150),
                  {k: stats[k] for k in ("requests", "errors", "error_kinds", "throughput_rps", "tool")})
    paced_figure = Figure(f"8b HTTP load, {paced['users']} facilitators at a brisk pace, {seconds}s",
                          paced["median_ms"], paced["p95_ms"], None, None, "0 errors, p95 < 150 ms",
                          None if quick else (paced["errors"] == 0 and paced["p95_ms"] < 150),
                          {k: paced[k] for k in ("requests", "errors", "error_kinds", "throughput_rps", "tool")})
    return [memory, load, paced_figure]


def run_all(app, url: str, *, quick: bool, only: set[str], load_seconds: int) -> list[Figure]:
    """Run every figure (or the chosen ones), recording a failure to measure as an error, not a crash."""
    steps = [
        ("1", lambda: register_figures(app, quick)),
        ("2", lambda: [attendance_put_figure(app, quick)]),
        ("3", lambda: [calendar_figure(app, quick)]),
        ("4", lambda: report_figures(app, quick)),
        ("5", lambda: [scheduler_figure(app, url, quick)]),
        ("6", lambda: [rota_figure(app, quick)]),
        ("8", lambda: load_figures(app, url, quick, load_seconds)),
    ]
    figures: list[Figure] = []
    for number, step in steps:
        if only and number not in only:
            continue
        try:
            figures.extend(step())
        except Exception as exc:  # noqa: BLE001 - a broken figure is reported, the others still run
            import traceback

            traceback.print_exc()
            figures.append(Figure(f"{number}  (could not be measured)", extra={"error": repr(exc)[:300]}))
    return figures
