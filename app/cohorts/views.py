"""Cohort pages: the coordinator's list, a cohort's page, and the forms that change the plan."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.permissions import requires
from app.centres.models import Centre, Room
from app.centres.views import attach_error
from app.cohorts.forms import (
    CancelCohortForm, CancelSessionForm, CohortEditForm, CohortFilterForm, CohortForm, MoveSessionForm,
)
from app.cohorts.models import ScheduleChange
from app.cohorts.scheduling import term_bounds, term_label
from app.cohorts.services import (
    cancel_cohort, cancel_session, change_capacity, change_room, cohort_label, cohort_terms, create_cohort,
    get_cohort, get_session, list_cohorts, local_start, move_session,
)
from app.enrolment.creche import AGE_BANDS, creche_summary
from app.enrolment.models import Enrolment
from app.enrolment.places import places_summary
from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.timeutil import LocalTimeError, london, now
from programmes import registry

bp = Blueprint("cohorts", __name__)

#: service field names -> form field names
FIELDS = {"programme": "programme", "centre_id": "room_id", "room": "room_id", "first_session": "start_date",
          "starts_at": "new_date", "add_catch_up": "add_catch_up", "status": None, "version": None}


def _actor():
    return current_user._get_current_object()


def _status(form, exc: DomainError | None) -> int:
    if exc is not None and exc.status == 409:
        return 409
    return 400 if form.errors else 200


def _programme_choices(blank: str | None = None):
    choices = [(p.key, p.name) for p in sorted(registry().values(), key=lambda p: p.name)]
    return [("", blank)] + choices if blank else choices


def _room_choices(centre_id: int | None = None):
    query = sa.select(Room, Centre.name).join(Centre, Centre.id == Room.centre_id).order_by(Centre.name, Room.name)
    if centre_id is not None:
        query = query.where(Room.centre_id == centre_id)
    rows = db.session.execute(query).all()
    if centre_id is not None:
        return [(str(room.id), room.name) for room, _ in rows]
    return [("", "Choose a centre and room")] + [(str(room.id), f"{name}: {room.name}") for room, name in rows]


def _id(text: str | None) -> int | None:
    """A row id typed or posted as text, or None if it cannot be one (never a database error)."""
    text = (text or "").strip()
    if not text.isdigit() or not 0 < int(text) < 2**31:
        return None
    return int(text)


def _room(room_id: str | None) -> Room | None:
    ident = _id(room_id)
    return db.session.get(Room, ident) if ident else None


@bp.route("/cohorts", methods=["GET"], endpoint="list")
@requires("cohorts.view")
def index():
    """The cohort list, filtered by programme, centre and term."""
    form = CohortFilterForm(request.args)
    form.programme.choices = _programme_choices("All programmes")
    centres = db.session.scalars(sa.select(Centre).order_by(Centre.name)).all()
    form.centre_id.choices = [("", "All centres")] + [(str(c.id), c.name) for c in centres]
    terms = cohort_terms(db.session)
    if form.term.data and form.term.data not in terms and term_bounds(form.term.data):
        terms.append(form.term.data)
    form.term.choices = [("", "All terms")] + [(t, term_label(t)) for t in terms]
    form.validate()
    programme = form.programme.data if form.programme.data in registry() else None
    centre_id = _id(form.centre_id.data)
    term = form.term.data if form.term.data and term_bounds(form.term.data) else None
    cohorts = list_cohorts(db.session, programme=programme, centre_id=centre_id, term=term)
    rows = [(c, places_summary(db.session, c)) for c in cohorts]
    return render_template("cohorts/list.html", form=form, rows=rows, label=cohort_label, title="Cohorts",
                           filtered=bool(programme or centre_id or term))


@bp.route("/cohorts/new", methods=["GET", "POST"])
@requires("cohorts.manage")
def new():
    """Create a cohort and its weekly sessions."""
    form = CohortForm()
    form.programme.choices = _programme_choices("Choose a programme")
    form.room_id.choices = _room_choices()
    error = None
    if form.validate_on_submit():
        room = _room(form.room_id.data)
        try:
            if room is None:
                raise ValidationFailed("Choose a centre and room.", "room")
            first = datetime.combine(form.start_date.data, form.start_time.time)
            cohort = create_cohort(db.session, programme_key=form.programme.data, centre=room.centre, room=room,
                                   first_session=first, duration_minutes=form.duration_minutes.data,
                                   capacity=form.capacity.data, now=now(), actor=_actor())
            db.session.commit()
            flash(f"Cohort created with {len(cohort.sessions)} sessions.", "success")
            return redirect(url_for("cohorts.show", cohort_id=cohort.id))
        except DomainError as exc:
            db.session.rollback()
            field_map = dict(FIELDS)
            if "clocks" in exc.message:
                field_map["first_session"] = "start_time"
            attach_error(form, exc, field_map)
            error = exc
    return render_template("cohorts/new.html", form=form, title="Create a cohort"), _status(form, error)


@bp.route("/cohorts/<int:cohort_id>", methods=["GET"])
@requires("cohorts.view")
def show(cohort_id):
    """A cohort: its sessions, places, waiting list and crèche by session."""
    cohort = get_cohort(db.session, cohort_id)
    programme = cohort.programme
    enrolments = db.session.scalars(sa.select(Enrolment).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status.in_(("enrolled", "waitlisted"))
    ).order_by(Enrolment.status, Enrolment.waitlisted_at, Enrolment.enrolled_at, Enrolment.id)).all()
    enrolled = [e for e in enrolments if e.status == "enrolled"]
    waiting = sorted((e for e in enrolments if e.status == "waitlisted"), key=lambda e: (e.waitlisted_at, e.id))
    creche = {s.id: creche_summary(db.session, s) for s in cohort.sessions} if programme.creche else {}
    changes = db.session.scalars(sa.select(ScheduleChange).where(ScheduleChange.cohort_id == cohort.id)
                                 .order_by(ScheduleChange.id.desc()).limit(20)).all()
    return render_template("cohorts/show.html", cohort=cohort, programme=programme, label=cohort_label(cohort),
                           places=places_summary(db.session, cohort), enrolled=enrolled, waiting=waiting,
                           creche=creche, age_bands=AGE_BANDS, changes=changes, now=now(), title=cohort_label(cohort))


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@requires("cohorts.manage")
def edit(cohort_id):
    """Change a cohort's family places and room."""
    cohort = get_cohort(db.session, cohort_id)
    form = CohortEditForm(data={"capacity": cohort.capacity, "room_id": str(cohort.room_id)})
    form.room_id.choices = _room_choices(cohort.centre_id)
    error = None
    if form.validate_on_submit():
        try:
            room = _room(form.room_id.data)
            if room is None:
                raise ValidationFailed("Choose a room.", "room")
            promoted = change_capacity(db.session, cohort, form.capacity.data, now=now(), actor=_actor())
            change_room(db.session, cohort, room, now=now(), actor=_actor())
            db.session.commit()
            message = "Cohort saved."
            if promoted:
                message += f" {len(promoted)} famil{'y' if len(promoted) == 1 else 'ies'} moved from the waiting list."
            flash(message, "success")
            return redirect(url_for("cohorts.show", cohort_id=cohort.id))
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc, FIELDS)
            error = exc
    return (render_template("cohorts/edit.html", form=form, cohort=cohort, label=cohort_label(cohort),
                            title="Change cohort"), _status(form, error))


@bp.route("/cohorts/<int:cohort_id>/cancel", methods=["GET", "POST"])
@requires("cohorts.manage")
def cancel(cohort_id):
    """Cancel a whole cohort."""
    cohort = get_cohort(db.session, cohort_id)
    form = CancelCohortForm()
    error = None
    if form.validate_on_submit():
        try:
            cancel_cohort(db.session, cohort, reason=form.reason.data, now=now(), actor=_actor())
            db.session.commit()
            flash("Cohort cancelled. Parents and staff will be told.", "success")
            return redirect(url_for("cohorts.show", cohort_id=cohort.id))
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc, FIELDS)
            error = exc
    return (render_template("cohorts/cancel.html", form=form, cohort=cohort, label=cohort_label(cohort),
                            title="Cancel cohort"), _status(form, error))


@bp.route("/sessions/<int:session_id>/move", methods=["GET", "POST"])
@requires("cohorts.manage")
def move(session_id):
    """Move one session to another date, time or room."""
    session = get_session(db.session, session_id)
    day, at = local_start(session)
    form = MoveSessionForm(data={"new_date": day, "new_time": f"{at:%H:%M}", "room_id": str(session.room_id)})
    form.room_id.choices = _room_choices(session.cohort.centre_id)
    error = None
    if form.validate_on_submit():
        try:
            try:
                starts_at = london(datetime.combine(form.new_date.data, form.new_time.time))
            except LocalTimeError as exc:
                raise ValidationFailed(str(exc), "new_time") from None
            room = _room(form.room_id.data)
            if room is None:
                raise ValidationFailed("Choose a room.", "room")
            move_session(db.session, session, starts_at=starts_at, room=room, now=now(), actor=_actor())
            db.session.commit()
            flash(f"Session {session.number} moved. Parents and staff will be told.", "success")
            return redirect(url_for("cohorts.show", cohort_id=session.cohort_id))
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc, FIELDS)
            error = exc
    session = get_session(db.session, session_id)
    return (render_template("cohorts/move.html", form=form, session=session, label=cohort_label(session.cohort),
                            title=f"Move session {session.number}"), _status(form, error))


@bp.route("/sessions/<int:session_id>/cancel", methods=["GET", "POST"])
@requires("cohorts.manage")
def cancel_one(session_id):
    """Cancel one session, optionally with a catch-up after the last."""
    session = get_session(db.session, session_id)
    form = CancelSessionForm()
    error = None
    if form.validate_on_submit():
        try:
            _, catch_up = cancel_session(db.session, session, reason=form.reason.data,
                                         add_catch_up=form.add_catch_up.data, now=now(), actor=_actor())
            db.session.commit()
            message = f"Session {session.number} cancelled."
            if catch_up is not None:
                from app.timeutil import format_local

                message += f" Catch-up session added on {format_local(catch_up.starts_at)}."
            flash(message + " Parents and staff will be told.", "success")
            return redirect(url_for("cohorts.show", cohort_id=session.cohort_id))
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc, FIELDS)
            error = exc
    session = get_session(db.session, session_id)
    return (render_template("cohorts/cancel_session.html", form=form, session=session,
                            label=cohort_label(session.cohort), title=f"Cancel session {session.number}"),
            _status(form, error))
