"""Staff pages for coordinators: the list, adding someone, and what the rota needs to know about them."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.permissions import requires
from app.centres.models import Centre
from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.rota.services import day_label, sessions_during
from app.rota.views import attach_error
from app.staff import services
from app.staff.forms import AvailabilityForm, LeaveForm, NewStaffForm, StaffDetailsForm
from app.staff.models import QUALIFICATION_LABELS
from app.timeutil import now

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _actor():
    return current_user._get_current_object()


def _centre_choices() -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in db.session.scalars(db.select(Centre).order_by(Centre.name))]


def _prepare(form) -> None:
    choices = _centre_choices()
    form.centres.choices = choices
    form.preferred.choices = choices


@bp.route("", endpoint="list")
@requires("staff.manage")
def list_page():
    """Everyone who can sign in, with what the rota knows about them."""
    people = services.list_staff(db.session)
    profiles = services.load_profiles(db.session, [u.id for u in people])
    centres = dict(_centre_choices())
    return render_template("staff/list.html", title="Staff", people=people, profiles=profiles, centres=centres,
                           labels=QUALIFICATION_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@requires("staff.manage")
def new():
    """Add a member of staff and their account."""
    form = NewStaffForm()
    _prepare(form)
    if form.validate_on_submit():
        try:
            user = services.create_staff(
                db.session, email=form.email.data, password=form.password.data, role=form.role.data,
                full_name=form.full_name.data, mobile=form.mobile.data, qualifications=form.qualifications.data,
                now=now(), actor=_actor(), hash_method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))
            services.set_centres(db.session, user, form.centres.data, form.preferred.data, now=now(), actor=_actor())
            if not form.is_enabled.data:
                services.update_staff(db.session, user, full_name=user.full_name, role=user.role, mobile=user.mobile,
                                      is_enabled=False, now=now(), actor=_actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            db.session.commit()
            flash(f"{user.display_name} added. Now add when they can work.", "success")
            return redirect(url_for("staff.detail", user_id=user.id))
    return render_template("staff/form.html", title="Add a member of staff", form=form, user=None), \
        400 if form.errors or form.form_errors else 200


@bp.route("/<int:user_id>")
@requires("staff.manage")
def detail(user_id):
    """One person: account, qualifications, centres, availability and leave."""
    user = services.get_staff(db.session, user_id)
    return _detail_page(user, AvailabilityForm(formdata=None), LeaveForm(formdata=None))


def _detail_page(user, availability_form, leave_form, status=200):
    return render_template("staff/detail.html", title=user.display_name, user=user,
                           details=services.staff_details(db.session, user), labels=QUALIFICATION_LABELS,
                           weekdays=services.WEEKDAYS, availability_form=availability_form,
                           leave_form=leave_form), status


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@requires("staff.manage")
def edit(user_id):
    """Change a person's details, qualifications and centres."""
    user = services.get_staff(db.session, user_id)
    form = StaffDetailsForm()
    _prepare(form)
    if request.method == "GET":
        details = services.staff_details(db.session, user)
        form.full_name.data, form.role.data, form.mobile.data = user.full_name, user.role, user.mobile
        form.is_enabled.data = user.is_enabled
        form.qualifications.data = details["qualifications"]
        form.centres.data = [c.id for c, _pref in details["centres"]]
        form.preferred.data = [c.id for c, pref in details["centres"] if pref]
    elif form.validate_on_submit():
        try:
            services.update_staff(db.session, user, full_name=form.full_name.data, role=form.role.data,
                                  mobile=form.mobile.data, is_enabled=form.is_enabled.data, now=now(), actor=_actor())
            services.set_qualifications(db.session, user, form.qualifications.data, now=now(), actor=_actor())
            services.set_centres(db.session, user, form.centres.data, form.preferred.data, now=now(), actor=_actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("staff.detail", user_id=user.id))
    return render_template("staff/form.html", title=f"Change {user.display_name}", form=form, user=user), \
        400 if form.errors or form.form_errors else 200


@bp.route("/<int:user_id>/availability", methods=["POST"])
@requires("staff.manage")
def add_availability(user_id):
    """Add a weekly window."""
    user = services.get_staff(db.session, user_id)
    form = AvailabilityForm()
    if form.validate_on_submit():
        try:
            start = services.parse_time(form.start_time.data, "start_time")
            end = services.parse_time(form.end_time.data, "end_time")
            services.add_availability(db.session, user, int(form.weekday.data), start, end, now=now(), actor=_actor())
        except (DomainError, ValueError) as exc:
            db.session.rollback()
            attach_error(form, exc if isinstance(exc, DomainError) else ValidationFailed("Choose a day", "weekday"))
        else:
            db.session.commit()
            flash("Availability added.", "success")
            return redirect(url_for("staff.detail", user_id=user.id) + "#availability")
    return _detail_page(user, form, LeaveForm(formdata=None), 400)


@bp.route("/<int:user_id>/availability/<int:availability_id>/remove", methods=["POST"])
@requires("staff.manage")
def remove_availability(user_id, availability_id):
    """Remove a weekly window."""
    user = services.get_staff(db.session, user_id)
    services.remove_availability(db.session, user, availability_id, now=now(), actor=_actor())
    db.session.commit()
    flash("Availability removed.", "success")
    return redirect(url_for("staff.detail", user_id=user.id) + "#availability")


@bp.route("/<int:user_id>/leave", methods=["POST"])
@requires("staff.manage")
def add_leave(user_id):
    """Record leave or a one-off absence."""
    user = services.get_staff(db.session, user_id)
    form = LeaveForm()
    if form.validate_on_submit():
        try:
            services.add_leave(db.session, user, form.start_date.data, form.end_date.data, form.reason.data or "",
                               now=now(), actor=_actor())
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            affected = sessions_during(db.session, user.id, form.start_date.data, form.end_date.data)
            db.session.commit()
            if affected:
                flash(f"Leave added. {user.display_name} is still on the rota for {len(affected)} session"
                      f"{'s' if len(affected) != 1 else ''} in those dates: "
                      + "; ".join(f"{day_label(s.day)} {s.label}" for s in affected[:6])
                      + ". Swap them on the rota.", "warning")
            else:
                flash("Leave added.", "success")
            return redirect(url_for("staff.detail", user_id=user.id) + "#leave")
    return _detail_page(user, AvailabilityForm(formdata=None), form, 400)


@bp.route("/<int:user_id>/leave/<int:leave_id>/remove", methods=["POST"])
@requires("staff.manage")
def remove_leave(user_id, leave_id):
    """Delete a leave record."""
    user = services.get_staff(db.session, user_id)
    services.remove_leave(db.session, user, leave_id, now=now(), actor=_actor())
    db.session.commit()
    flash("Leave removed.", "success")
    return redirect(url_for("staff.detail", user_id=user.id) + "#leave")
