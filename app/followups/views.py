"""Follow-up lists (each worker's, the coordinators') and recording outcomes."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.permissions import is_admin, requires
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.followups import services
from app.followups.forms import OutcomeForm
from app.followups.models import OUTCOME_LABELS, FollowUp
from app.timeutil import now, today_london

bp = Blueprint("followups", __name__)

VIEW_LABELS = {"mine": "Mine", "coordinator": "Coordinators' list", "escalated": "Escalated",
               "unassigned": "Nobody assigned", "all": "All open"}


def _context(followups: list[FollowUp]) -> dict:
    """Parents, sessions and recent attendance for a list of follow-ups, in a few queries."""
    from app.auth.models import User
    from app.cohorts.models import Cohort, CohortSession
    from app.parents.models import Parent

    parent_ids = {f.parent_id for f in followups if f.parent_id}
    session_ids = {f.session_id for f in followups if f.session_id}
    user_ids = {f.assigned_to_id for f in followups if f.assigned_to_id}
    parents = {p.id: p for p in db.session.scalars(sa.select(Parent).where(Parent.id.in_(parent_ids)))} \
        if parent_ids else {}
    sessions = {s.id: s for s in db.session.scalars(
        sa.select(CohortSession).where(CohortSession.id.in_(session_ids))
        .options(joinedload(CohortSession.cohort).joinedload(Cohort.centre)))} if session_ids else {}
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    glance = services.recent_attendance(db.session, [f.enrolment_id for f in followups], now=now())
    from app.attendance.models import AttendanceMark

    pairs = [(f.session_id, f.enrolment_id) for f in followups if f.kind == "missed_session" and f.enrolment_id]
    current = {}
    if pairs:
        current = {(m.session_id, m.enrolment_id): m.status for m in db.session.scalars(
            sa.select(AttendanceMark).where(sa.tuple_(AttendanceMark.session_id, AttendanceMark.enrolment_id)
                                            .in_(pairs)))}
    return {"parents": parents, "sessions": sessions, "users": users, "glance": glance, "current_marks": current,
            "kind_labels": services.KIND_LABELS, "outcome_labels": OUTCOME_LABELS, "today": today_london(now())}


@bp.route("/follow-ups", endpoint="list")
@requires("followups.view")
def list_followups():
    """Follow-ups ordered by due date: a worker's own; for coordinators, their list and everyone's."""
    admin = is_admin()
    view = request.args.get("view") or ("coordinator" if admin else "mine")
    if view not in services.VIEWS or (not admin and view != "mine"):
        view = "coordinator" if admin else "mine"
    status = "done" if request.args.get("status") == "done" else "open"
    followups = services.list_followups(db.session, current_user, status=status, view=view)
    return render_template("followups/list.html", title="Follow-ups", followups=followups, view=view,
                           status=status, views=VIEW_LABELS if admin else {}, **_context(followups))


def _form_for(followup: FollowUp, formdata=None) -> OutcomeForm:
    form = OutcomeForm(formdata=formdata, version=str(followup.version))
    form.outcome.choices = services.outcome_choices(followup.kind)
    return form


def _show(followup: FollowUp, form: OutcomeForm, status: int = 200):
    return render_template("followups/show.html", title="Follow-up", followup=followup, form=form,
                           **_context([followup])), status


@bp.route("/follow-ups/<int:followup_id>")
@requires("followups.view")
def show(followup_id: int):
    """One follow-up: who to call, why, the parent's recent attendance, and the outcome form."""
    followup = services.get_visible(db.session, current_user, followup_id)
    return _show(followup, _form_for(followup))


@bp.route("/follow-ups/<int:followup_id>", methods=["POST"])
@requires("followups.manage")
def record(followup_id: int):
    """Record what happened; "no answer" keeps it open for the next working day."""
    followup = services.get_visible(db.session, current_user, followup_id)
    form = _form_for(followup, request.form)
    if not form.validate_on_submit():
        return _show(followup, form, 422)
    outcome = form.outcome.data or None
    if outcome and outcome not in dict(form.outcome.choices):
        form.outcome.errors = ["Choose one of the outcomes listed"]
        return _show(followup, form, 422)
    try:
        version = int(form.version.data) if (form.version.data or "").isdigit() else None
        services.record_outcome(db.session, followup, outcome=outcome, note=form.note.data, now=now(),
                                actor=current_user._get_current_object(), expected_version=version)
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        followup = services.get_visible(db.session, current_user, followup_id)
        target = form.note if exc.field == "note" else form.outcome
        target.errors = [exc.message]
        return _show(followup, form, exc.status)
    db.session.commit()
    if followup.status == "open":
        flash(f"Saved. It stays on the list, due {followup.due_date:%A %d %B}.", "success")
    elif outcome in ("wants_withdraw", "wants_transfer"):
        flash("Saved. Withdrawing or transferring is done on the family's enrolment, with a reason: "
              "nothing has changed automatically.", "success")
    else:
        flash("Saved.", "success")
    return redirect(url_for("followups.list"), 303)
