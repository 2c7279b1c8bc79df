"""Enrol a family into a group, withdraw them, or move them to a later group."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app.auth.permissions import can, requires
from app.eligibility.services import check_eligibility, ward_of
from app.enrolment.forms import EnrolForm, TransferForm, WithdrawForm
from app.enrolment.services import (CohortChoice, cohorts_to_join, enrol, get_enrolment, get_open_cohort, transfer,
                                    withdraw)
from app.errors import DomainError
from app.extensions import db
from app.parents.services import child_label, get_parent
from app.timeutil import format_local, now

bp = Blueprint("enrolment", __name__)

#: service field -> form field
FIELD_MAP = {"eligibility": "cohort_id", "parent_id": "cohort_id", "transfer_to_cohort_id": "cohort_id",
             "status": None}


def _cohort_label(choice: CohortChoice) -> str:
    cohort = choice.cohort
    first = min((s.starts_at for s in cohort.sessions if s.status == "scheduled"), default=None)
    when = format_local(first, "%a %d %b %Y, %H:%M") if first else cohort.start_date.strftime("%d %b %Y")
    return f"{cohort.programme.name} at {cohort.centre.name}, from {when}"


def _cohort_hint(choice: CohortChoice, check) -> str:
    places = choice.places
    if places["free"]:
        text = f"{places['free']} of {places['capacity']} places free"
    else:
        text = f"Full: the family joins the waiting list ({places['waitlisted']} waiting)"
    if choice.started:
        text += ". Already started"
    if check is not None:
        text += ". " + ("Eligible" if check.eligible else "Not eligible: " + "; ".join(check.reasons))
    return text


def _choices(form, options: list[CohortChoice], parent) -> list[dict]:
    """Radio items for the groups, each with its places and eligibility as a hint."""
    form.cohort_id.choices = [(str(c.cohort.id), _cohort_label(c)) for c in options]
    hints = []
    for choice in options:
        check = check_eligibility(db.session, parent, choice.cohort, now=now())
        hints.append({"hint": {"text": _cohort_hint(choice, check)}})
    return hints


def _attach(form, exc: DomainError) -> None:
    for name, messages in exc.fields.items():
        target_name = FIELD_MAP.get(name, name)
        target = form[target_name] if target_name and target_name in form._fields else None
        if name == "eligibility":
            messages = ["Not eligible: " + "; ".join(messages) + (
                ". To enrol them anyway, give your reason below" if can(current_user, "eligibility.override")
                else ". A coordinator can enrol the family with a reason")]
        for message in messages:
            if target is None:
                form.form_errors.append(message)
            else:
                if isinstance(target.errors, tuple):
                    target.errors = list(target.errors)
                target.errors.append(message)


def _errors(form) -> list[dict]:
    items = [{"text": m, "href": f"#{f.id}"} for f in form for m in f.errors]
    return items + [{"text": m} for m in form.form_errors]


def _chosen_cohort(form, options: list[CohortChoice]):
    ids = {str(c.cohort.id): c.cohort for c in options}
    cohort = ids.get(form.cohort_id.data or "")
    if cohort is None and not form.cohort_id.errors:
        form.cohort_id.errors = [*form.cohort_id.errors, "Choose one of the groups listed"]
    return cohort


@bp.route("/families/<int:parent_id>/enrol", methods=["GET", "POST"])
@requires("enrolments.manage")
def new(parent_id: int):
    """Enrol a family: the group, crèche places and who referred them, on one page."""
    from app.staff.models import StaffCentre

    parent = get_parent(db.session, parent_id, current_user)
    form = EnrolForm()
    ward = ward_of(db.session, parent.postcode)
    centre_ids = set(db.session.scalars(sa.select(StaffCentre.centre_id).where(StaffCentre.user_id == current_user.id)))
    if parent.centre_id:
        centre_ids.add(parent.centre_id)
    options = cohorts_to_join(db.session, now=now(), ward=ward.name if ward else None, centre_ids=centre_ids,
                              exclude_parent_id=parent.id)
    hints = _choices(form, options, parent)
    born = [c for c in parent.children if c.date_of_birth is not None]
    form.creche_child_ids.choices = [(c.id, child_label(c)) for c in born]
    status = 200
    if form.is_submitted():
        valid = form.validate()
        cohort = _chosen_cohort(form, options)
        if valid and cohort is not None:
            try:
                outcome = enrol(db.session, cohort, parent, referral_source=form.referral_source.data,
                                creche_child_ids=form.creche_child_ids.data or [],
                                override_reason=form.eligibility_override_reason.data or None,
                                now=now(), actor=current_user)
            except DomainError as exc:
                db.session.rollback()
                _attach(form, exc)
            else:
                db.session.commit()
                flash(_enrolled_message(parent, outcome), "success")
                return redirect(url_for("parents.view", parent_id=parent.id))
        status = 400
    return render_template("enrolment/enrol.html", form=form, parent=parent, options=options, hints=hints,
                           errors=_errors(form), title="Enrol in a group"), status


def _enrolled_message(parent, outcome) -> str:
    enrolment = outcome.enrolment
    name = f"{parent.first_name} {parent.last_name}"
    group = enrolment.cohort.programme.name
    text = (f"{name} is enrolled in {group}." if enrolment.status == "enrolled"
            else f"{group} is full: {name} is on the waiting list.")
    waiting = {b.child.first_name for b in outcome.bookings if b.status == "waitlisted"}
    booked = {b.child.first_name for b in outcome.bookings if b.status == "booked"}
    if booked:
        text += " Crèche place for " + ", ".join(sorted(booked)) + "."
    if waiting:
        text += " On the crèche waiting list for some sessions: " + ", ".join(sorted(waiting)) + "."
    return text


def _enrolment_page(enrolment_id: int):
    enrolment = get_enrolment(db.session, enrolment_id, current_user)
    return enrolment, enrolment.parent


@bp.route("/enrolments/<int:enrolment_id>/withdraw", methods=["GET", "POST"], endpoint="withdraw")
@requires("enrolments.manage")
def withdraw_page(enrolment_id: int):
    """Withdraw a parent from a group, with their reason; the place goes to the waiting list."""
    enrolment, parent = _enrolment_page(enrolment_id)
    form = WithdrawForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                withdraw(db.session, enrolment, reason=form.reason.data, now=now(), actor=current_user)
            except DomainError as exc:
                db.session.rollback()
                _attach(form, exc)
            else:
                db.session.commit()
                flash(f"{parent.first_name} {parent.last_name} has withdrawn from "
                      f"{enrolment.cohort.programme.name}.", "success")
                return redirect(url_for("parents.view", parent_id=parent.id))
        status = 400
    return render_template("enrolment/withdraw.html", form=form, enrolment=enrolment, parent=parent,
                           errors=_errors(form), title="Withdraw from a group"), status


@bp.route("/enrolments/<int:enrolment_id>/transfer", methods=["GET", "POST"], endpoint="transfer")
@requires("enrolments.manage")
def transfer_page(enrolment_id: int):
    """Move a parent to a later group, keeping this one as history."""
    enrolment, parent = _enrolment_page(enrolment_id)
    form = TransferForm()
    ward = ward_of(db.session, parent.postcode)
    options = cohorts_to_join(db.session, now=now(), ward=ward.name if ward else None,
                              centre_ids={enrolment.cohort.centre_id}, exclude_parent_id=parent.id,
                              starting_after=enrolment.cohort.start_date)
    hints = _choices(form, options, parent)
    status = 200
    if form.is_submitted():
        valid = form.validate()
        cohort = _chosen_cohort(form, options)
        if valid and cohort is not None:
            try:
                outcome = transfer(db.session, enrolment, get_open_cohort(db.session, cohort.id), now=now(),
                                   actor=current_user,
                                   override_reason=form.eligibility_override_reason.data or None)
            except DomainError as exc:
                db.session.rollback()
                _attach(form, exc)
            else:
                db.session.commit()
                new_status = ("has a place" if outcome.enrolment.status == "enrolled" else "is on the waiting list")
                flash(f"{parent.first_name} {parent.last_name} moved to {cohort.programme.name} from "
                      f"{cohort.start_date:%d %B %Y} and {new_status}.", "success")
                return redirect(url_for("parents.view", parent_id=parent.id))
        status = 400
    return render_template("enrolment/transfer.html", form=form, enrolment=enrolment, parent=parent, options=options,
                           hints=hints, errors=_errors(form), title="Move to a later group"), status
