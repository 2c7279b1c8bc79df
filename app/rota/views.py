"""Rota pages: the term grid, a cohort's and a session's rota, hand edits, and each person's own rota."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.permissions import can, requires
from app.cohorts.models import CohortSession
from app.cohorts.services import cohort_label
from app.errors import DomainError
from app.extensions import db
from app.rota import services
from app.rota.api import travel_minutes
from app.rota.autofill import autofill_cohort, autofill_term
from app.rota.forms import AssignForm, SwapForm, TermForm
from app.staff.services import list_staff
from app.timeutil import now, today_london

bp = Blueprint("rota", __name__, url_prefix="/rota")

#: weeks the term grid shows when no dates are given
DEFAULT_WEEKS = 15


def _actor():
    return current_user._get_current_object()


def attach_error(form, exc: DomainError) -> None:
    """Put a service's refusal next to the form field it names (or above the form)."""
    placed = False
    for name, messages in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + messages
            placed = True
    if not placed:
        form.form_errors.append(exc.message)


def _staff_choices(role: str | None = None) -> list[tuple[str, str]]:
    people = [u for u in list_staff(db.session) if u.is_enabled and u.role != "commissioner"]
    return [("", "Choose a member of staff")] + [(str(u.id), u.display_name) for u in people]


def _range_from_request() -> tuple[TermForm, date, date]:
    form = TermForm(request.args if request.args else None)
    start = services.week_start(today_london(now()))
    end = start + timedelta(weeks=DEFAULT_WEEKS, days=-1)
    if request.args:
        if form.validate():
            start, end = form.start_date.data, form.end_date.data
    else:
        form.start_date.data, form.end_date.data = start, end
    return form, start, end


def _weeks(rotas: list[services.SessionRota]) -> list[tuple[date, list[services.SessionRota]]]:
    weeks: dict[date, list] = {}
    for rota in rotas:
        weeks.setdefault(services.week_start(rota.slot.day), []).append(rota)
    return sorted(weeks.items())


def _labels(rotas) -> dict[int, str]:
    from app.cohorts.models import Cohort

    ids = {r.slot.cohort_id for r in rotas}
    if not ids:
        return {}
    return {c.id: cohort_label(c) for c in db.session.scalars(db.select(Cohort).where(Cohort.id.in_(ids)))}


@bp.route("")
@requires("rota.manage")
def term():
    """The term grid: sessions by week, who is on, and the gaps."""
    form, start, end = _range_from_request()
    try:
        slots = services.term_slots(db.session, start, end)
    except DomainError as exc:
        attach_error(form, exc)
        start = end = today_london(now())
        slots = []
    rotas = services.rotas_for(db.session, slots)
    gaps = sum(1 for r in rotas if r.slot.status == "scheduled" and not r.complete)
    unpublished = sum(1 for c in services.cohorts_in_range(db.session, start, end) if c.rota_published_at is None)
    return render_template("rota/term.html", title="Rota", form=form, start=start, end=end, weeks=_weeks(rotas),
                           labels=_labels(rotas), gaps=gaps, unpublished=unpublished), 400 if form.errors else 200


@bp.route("/autofill", methods=["POST"])
@requires("rota.manage")
def autofill_range():
    """Auto-fill every cohort's sessions in the dates shown."""
    start, end = _posted_range()
    result = autofill_term(db.session, start, end, now=now(), actor=_actor(), travel_minutes=travel_minutes())
    db.session.commit()
    return _result_page(result, url_for("rota.term", **_range_args(start, end)), f"{start:%-d %b} to {end:%-d %b %Y}")


@bp.route("/publish", methods=["POST"])
@requires("rota.manage")
def publish_range():
    """Publish the rota of every cohort with sessions in the dates shown."""
    start, end = _posted_range()
    published = services.publish_term(db.session, start, end, now=now(), actor=_actor())
    db.session.commit()
    flash(f"Rota published for {len(published)} cohort{'s' if len(published) != 1 else ''}. "
          "From now on, changes are sent to the staff affected.", "success")
    return redirect(url_for("rota.term", **_range_args(start, end)))


def _range_args(start: date, end: date) -> dict:
    return {"start_date": [str(start.day), str(start.month), str(start.year)],
            "end_date": [str(end.day), str(end.month), str(end.year)]}


def _posted_range() -> tuple[date, date]:
    try:
        start = date.fromisoformat(request.form.get("start_date", ""))
        end = date.fromisoformat(request.form.get("end_date", ""))
    except ValueError:
        from app.errors import ValidationFailed

        raise ValidationFailed("The dates were not understood: choose them again on the rota page.", "start_date")
    services.london_range(start, end)  # refuses a reversed or too long range
    return start, end


def _result_page(result, back: str, what: str):
    sessions = {s.id: s for s in db.session.scalars(db.select(CohortSession).where(
        CohortSession.id.in_([u.session_id for u in result.unfilled])))} if result.unfilled else {}
    return render_template("rota/autofill_result.html", title="Auto-fill result", result=result, back=back,
                           what=what, sessions=sessions)


@bp.route("/cohorts/<int:cohort_id>")
@requires("rota.manage")
def cohort(cohort_id):
    """A cohort's rota, session by session."""
    item = services.get_cohort(db.session, cohort_id)
    slots = list(services.load_slots(db.session, where=CohortSession.cohort_id == item.id).values())
    rotas = services.rotas_for(db.session, slots)
    return render_template("rota/cohort.html", title="Cohort rota", cohort=item, label=cohort_label(item),
                           rotas=rotas)


@bp.route("/cohorts/<int:cohort_id>/autofill", methods=["POST"])
@requires("rota.manage")
def autofill_one(cohort_id):
    """Auto-fill a cohort's sessions still to come."""
    item = services.get_cohort(db.session, cohort_id)
    result = autofill_cohort(db.session, item, now=now(), actor=_actor(), travel_minutes=travel_minutes())
    db.session.commit()
    return _result_page(result, url_for("rota.cohort", cohort_id=item.id), cohort_label(item))


@bp.route("/cohorts/<int:cohort_id>/publish", methods=["POST"])
@requires("rota.manage")
def publish_one(cohort_id):
    """Publish a cohort's rota."""
    item = services.get_cohort(db.session, cohort_id)
    if services.publish(db.session, item, now=now(), actor=_actor()):
        flash("Rota published. From now on, changes are sent to the staff affected.", "success")
    else:
        flash("This rota was already published.", "info")
    db.session.commit()
    return redirect(url_for("rota.cohort", cohort_id=item.id))


def _session_page(session, form, swap_form=None, status=200):
    rota = services.session_rota(db.session, session)
    return render_template("rota/session.html", title="Session rota", session=session, rota=rota, form=form,
                           label=cohort_label(session.cohort), can_force=can(current_user, "rota.force"),
                           swap_form=swap_form), status


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
@requires("rota.manage")
def session(session_id):
    """A session's rota; put someone on it."""
    item = services.get_session(db.session, session_id)
    form = AssignForm()
    form.user_id.choices = _staff_choices()
    if form.validate_on_submit():
        try:
            services.assign(db.session, item, form.user_id.data, form.role.data, now=now(), actor=_actor(),
                            force_reason=form.force_reason.data, travel_minutes=travel_minutes())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            db.session.commit()
            flash("Added to the session.", "success")
            return redirect(url_for("rota.session", session_id=item.id))
    return _session_page(item, form, status=400 if form.errors or form.form_errors else 200)


@bp.route("/sessions/<int:session_id>/remove/<int:user_id>", methods=["POST"])
@requires("rota.manage")
def remove(session_id, user_id):
    """Take someone off a session."""
    item = services.get_session(db.session, session_id)
    services.remove(db.session, item, user_id, now=now(), actor=_actor())
    db.session.commit()
    flash("Taken off the session.", "success")
    return redirect(url_for("rota.session", session_id=item.id))


@bp.route("/sessions/<int:session_id>/swap/<int:user_id>", methods=["GET", "POST"])
@requires("rota.manage")
def swap(session_id, user_id):
    """Swap someone on a session for another person."""
    item = services.get_session(db.session, session_id)
    rota = services.session_rota(db.session, item)
    current = next((a for a in rota.assignments if a.user_id == user_id), None)
    if current is None:
        from app.errors import NotFound

        raise NotFound("That person is not on this session.", "user_id")
    form = SwapForm()
    form.user_id.choices = [c for c in _staff_choices() if c[0] != str(user_id)]
    if form.validate_on_submit():
        try:
            services.swap(db.session, item, user_id, form.user_id.data, now=now(), actor=_actor(),
                          force_reason=form.force_reason.data, travel_minutes=travel_minutes())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            db.session.commit()
            flash("Swapped.", "success")
            return redirect(url_for("rota.session", session_id=item.id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("rota/swap.html", title="Swap", session=item, rota=rota, current=current,
                           person=rota.profiles[user_id], form=form, label=cohort_label(item.cohort),
                           can_force=can(current_user, "rota.force")), status


@bp.route("/mine")
@requires("rota.view")
def mine():
    """My rota: the sessions I am on, from last week onwards."""
    items = services.my_rota(db.session, current_user, now=now())
    drafts = []
    if can(current_user, "rota.manage"):
        published = {a.id for _, a in items}
        drafts = [p for p in services.my_rota(db.session, current_user, now=now(), include_drafts=True)
                  if p[1].id not in published]
    return render_template("rota/mine.html", title="My rota", items=items, drafts=drafts, now=now())
