"""The register pages: my sessions, a session's register (tablet-first), and the service worker that keeps it offline."""
from __future__ import annotations

import uuid
from pathlib import Path

from flask import (Blueprint, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app.attendance import services
from app.attendance.forms import CloseForm, CollectForm, MarkForm, NoteForm
from app.auth.permissions import can, public, requires
from app.enrolment.models import Enrolment
from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.fragments import CSRF_PLACEHOLDER, FragmentCache, with_csrf
from app.timeutil import now

bp = Blueprint("attendance", __name__)

SERVICE_WORKER = "js/register-sw.js"


def _actor():
    return current_user._get_current_object()


def _open(session_id: int):
    session = services.get_session(db.session, session_id)
    services.check_register_access(db.session, _actor(), session)
    return session


#: rendered register rows (see app/fragments.py)
ROWS = FragmentCache(max_entries=4096)


def row_html(row: services.RegisterRow, *, register_url: str, creche_url: str, csrf: str, row_error: str | None,
             collect_forms: dict) -> Markup:
    """One parent's row of the register, from the cache when nothing it shows has changed."""
    forms = [collect_forms[b.id] for b in row.creche if b.id in collect_forms]

    def render() -> str:
        macro = current_app.jinja_env.get_template("attendance/_register_row.html").module.register_row
        return macro(row, register_url, creche_url, CSRF_PLACEHOLDER, row_error, collect_forms, services.STATUS_LABELS)

    if row_error or any(f.errors or f.collected_by.data for f in forms):
        return with_csrf(render(), csrf)  # a row showing what was just typed or refused: never kept
    key = (register_url, creche_url, row.enrolment, row.display_name, tuple(row.children), row.mark,
           tuple(row.creche))
    return with_csrf(ROWS.get_or_render(key, render), csrf)


def _render(session, *, status: int = 200, note_form: NoteForm | None = None, close_form: CloseForm | None = None,
            collect_forms: dict | None = None, row_errors: dict | None = None):
    if not isinstance(session, services.RegisterSession):
        session = services.register_session(db.session, session.id, _actor())
    rows = services.register_rows(db.session, session)
    if note_form is None:
        note_form = NoteForm(formdata=None, body=session.note_body or "")
    forms = dict(collect_forms or {})
    for row in rows:
        for booking in row.creche:
            if booking.signed_in_at and not booking.signed_out_at:  # only these ask who collected the child
                forms.setdefault(booking.id, CollectForm(formdata=None, prefix=f"b{booking.id}"))
    return render_template(
        "attendance/register.html", title=f"Register: session {session.number}", session=session, rows=rows,
        counts=services.register_counts(rows), note_form=note_form,
        close_form=close_form or CloseForm(formdata=None), collect_forms=forms, row_errors=row_errors or {},
        status_labels=services.STATUS_LABELS, can_close=now() >= session.starts_at,
        outcomes_timepoint=session.timepoint if can(current_user, "outcomes.enter") else None, row_html=row_html,
    ), status


@bp.route("/sessions/mine")
@requires("register.view")
def mine():
    """My sessions today and in the coming week (and recent ones whose register is still open)."""
    sessions = services.sessions_for_user(db.session, _actor(), now=now())
    return render_template("attendance/mine.html", title="My sessions", sessions=sessions, now=now())


@bp.route("/sessions/<int:session_id>/register")
@requires("register.view")
def register(session_id: int):
    """A session's register, for a tablet: tap here, apologies or not here; crèche in and out; notes."""
    return _render(services.register_session(db.session, session_id, _actor()))


@bp.route("/sessions/<int:session_id>/register/<int:enrolment_id>", methods=["POST"])
@requires("register.mark")
def mark(session_id: int, enrolment_id: int):
    """Mark one parent without JavaScript (the page's script sends marks to the API instead)."""
    session = _open(session_id)
    form = MarkForm()
    if not form.validate():
        return _render(session, status=400, row_errors={enrolment_id: "The page had expired. Tap again."})
    enrolment = db.session.get(Enrolment, enrolment_id)
    current = services._mark_row(db.session, session.id, enrolment_id, lock=False) if enrolment else None
    status, is_late = form.status.data, bool(current and current.is_late)
    if form.late.data:
        is_late = not is_late
        status = current.status if current else "attended"  # late means they came
    try:
        services.mark_attendance(db.session, session, enrolment, status=status or "",
                                 client_mark_id=f"web-{uuid.uuid4()}", marked_at=now(), is_late=is_late, now=now(),
                                 actor=_actor())
    except ValidationFailed as exc:
        db.session.rollback()
        message = next(iter(exc.fields.values()))[0] if exc.fields else exc.message
        return _render(session, status=422, row_errors={enrolment_id: message})
    db.session.commit()
    return redirect(url_for("attendance.register", session_id=session.id) + f"#parent-{enrolment_id}", 303)


@bp.route("/sessions/<int:session_id>/creche/<int:booking_id>", methods=["POST"])
@requires("register.mark")
def creche(session_id: int, booking_id: int):
    """Sign a child into the crèche, or out with who collected them."""
    session = _open(session_id)
    booking = services.get_booking(db.session, session, booking_id)
    form = CollectForm(prefix=f"b{booking.id}")
    action = request.form.get("action")
    try:
        if action == "sign_in":
            services.sign_in_child(db.session, session, booking, now=now(), actor=_actor())
        elif action == "sign_out":
            if not form.validate_on_submit():
                raise ValidationFailed(next(iter(form.errors.values()))[0], "collected_by")
            services.sign_out_child(db.session, session, booking, collected_by=form.collected_by.data, now=now(),
                                    actor=_actor())
        else:
            raise ValidationFailed("Choose sign in or sign out.", "collected_by")
    except DomainError as exc:
        db.session.rollback()
        form.collected_by.errors = [exc.message]
        return _render(session, status=exc.status if exc.status in (403, 404) else 422,
                       collect_forms={booking.id: form})
    db.session.commit()
    return redirect(url_for("attendance.register", session_id=session.id) + f"#parent-{booking.enrolment_id}", 303)


@bp.route("/sessions/<int:session_id>/note", methods=["POST"])
@requires("notes.write")
def note(session_id: int):
    """Save the facilitators' note about the session."""
    session = _open(session_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            services.save_note(db.session, session, body=form.body.data or "", now=now(), actor=_actor())
        except ValidationFailed as exc:
            db.session.rollback()
            form.body.errors = [exc.message]
        else:
            db.session.commit()
            flash("Session note saved.", "success")
            return redirect(url_for("attendance.register", session_id=session.id) + "#session-note", 303)
    return _render(session, status=422, note_form=form)


@bp.route("/sessions/<int:session_id>/register/close", methods=["POST"])
@requires("register.mark")
def close(session_id: int):
    """Confirm the register after the session; parents with no mark are recorded as not here."""
    session = _open(session_id)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            count = services.close_register(db.session, session, now=now(), actor=_actor())
        except ValidationFailed as exc:
            db.session.rollback()
            form.confirm.errors = [exc.message]
        else:
            db.session.commit()
            flash(f"Register closed. {count} parent{'s' if count != 1 else ''} not marked "
                  f"{'were' if count != 1 else 'was'} recorded as not here.", "success")
            return redirect(url_for("attendance.register", session_id=session.id), 303)
    return _render(session, status=422, close_form=form)


@bp.route("/csrf-token")
@requires("self")
def csrf_token():
    """A fresh CSRF token for the signed-in user, so a tablet can sync marks queued hours ago."""
    response = jsonify({"csrf_token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sw.js")
@public
def service_worker():
    """The register's service worker, served from the site root so it can control every page."""
    path = Path(current_app.static_folder) / SERVICE_WORKER
    if not path.is_file():
        return "// assets not built: run scripts/build-assets\n", 404, {"Content-Type": "text/javascript"}
    response = send_file(path, mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response
