"""Entering outcome scores at a group's first and last session."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app.auth.permissions import requires
from app.errors import ValidationFailed
from app.extensions import db
from app.outcomes.forms import outcome_form
from app.outcomes.services import field_name, outcome_sheet, save_scores
from app.timeutil import now

bp = Blueprint("outcomes", __name__)


@bp.route("/sessions/<int:session_id>/outcomes", methods=["GET", "POST"])
@requires("outcomes.enter")
def enter(session_id: int):
    """Show and save each parent's scores on the programme's measures at the first or last session."""
    try:
        sheet = outcome_sheet(db.session, session_id, actor=current_user)
    except ValidationFailed as exc:
        return render_template("outcomes/not_here.html", message=exc.message, title="Outcome scores"), 400
    form = outcome_form(sheet)
    if form.validate_on_submit():
        typed = {field_name(r.enrolment.id, m.key): form[field_name(r.enrolment.id, m.key)].data
                 for r in sheet.rows for m in sheet.measures}
        try:
            changed = save_scores(db.session, sheet, typed, now=now(), actor=current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            for name, messages in exc.fields.items():
                form[name].errors = list(form[name].errors) + messages
        else:
            db.session.commit()
            flash(f"Scores saved ({changed} changed).", "success")
            return redirect(url_for("outcomes.enter", session_id=session_id))
    return render_template("outcomes/enter.html", sheet=sheet, form=form, field_name=field_name,
                           title="Outcome scores"), 400 if form.errors else 200
