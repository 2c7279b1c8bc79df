"""An admin's view of a person's audit trail, subject-access export, erasure and the retention list."""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.audit.datarights import SECTION_TITLES, erase_parent, export_parent, trail
from app.audit.forms import EraseForm
from app.auth.models import User
from app.auth.permissions import requires
from app.errors import DomainError
from app.extensions import db
from app.timeutil import now

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _parent_or_404(parent_id: int):
    from app.parents.models import Parent

    parent = db.session.get(Parent, parent_id)
    if parent is None:
        abort(404)
    return parent


@bp.route("/parents/<int:parent_id>")
@requires("audit.view")
def trail_view(parent_id: int):
    """Who changed what about a parent and their children, newest first."""
    parent = _parent_or_404(parent_id)
    events = list(reversed(trail(db.session, parent.id)))
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    return render_template("audit/trail.html", parent=parent, events=events, actors=actors,
                           title="Record of changes")


@bp.route("/parents/<int:parent_id>/export")
@requires("data_rights")
def export_view(parent_id: int):
    """A readable summary of everything held about a parent (subject access request)."""
    parent = _parent_or_404(parent_id)
    data = export_parent(db.session, parent, now=now(), actor=current_user._get_current_object())
    db.session.commit()
    return render_template("audit/export.html", parent=parent, data=data, sections=SECTION_TITLES,
                           title="Information held about a parent")


@bp.route("/parents/<int:parent_id>/export.json")
@requires("data_rights")
def export_json(parent_id: int):
    """Everything held about a parent, as a JSON file to download."""
    parent = _parent_or_404(parent_id)
    data = export_parent(db.session, parent, now=now(), actor=current_user._get_current_object())
    db.session.commit()
    body = json.dumps(data, indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="parent-{parent.id}-subject-access.json"'})


@bp.route("/parents/<int:parent_id>/erase", methods=["GET", "POST"])
@requires("data_rights")
def erase(parent_id: int):
    """Erase a parent's personal data on request, after a confirmation."""
    parent = _parent_or_404(parent_id)
    form = EraseForm()
    if parent.erased_at is not None:
        return render_template("audit/erase.html", parent=parent, form=form, title="Erase personal data")
    if form.validate_on_submit():
        try:
            erase_parent(db.session, parent, reason=form.reason.data, now=now(),
                         actor=current_user._get_current_object())
        except DomainError as exc:
            db.session.rollback()
            getattr(form, exc.field or "reason", form.reason).errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"The personal data of parent {parent.id} has been erased.", "success")
            return redirect(url_for("audit.trail_view", parent_id=parent.id))
    return (render_template("audit/erase.html", parent=parent, form=form, title="Erase personal data"),
            200 if not form.errors else 400)


@bp.route("/retention")
@requires("data_rights")
def retention():
    """The families past the retention period, and what the scheduled job will do (a dry run)."""
    from flask import current_app

    from app.audit.jobs import retention_plan

    plan = retention_plan(db.session, now())
    return render_template("audit/retention.html", plan=plan, years=current_app.config.get("RETENTION_YEARS", 7),
                           title="Retention")
