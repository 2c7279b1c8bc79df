"""The worker's families: the list, the family form (with children) and the family page."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.permissions import can, is_admin, requires
from app.errors import DomainError
from app.extensions import db
from app.parents.forms import DEMOGRAPHIC_QUESTIONS, ParentForm
from app.parents.models import Parent
from app.parents.services import (DEMOGRAPHIC_LABELS, DuplicateParent, can_see, create_parent, get_parent,
                                  parent_summary, search_parents, unasked_questions, update_parent)
from app.timeutil import now

bp = Blueprint("parents", __name__, url_prefix="/families")


def _staff_centre_ids(user) -> list[int]:
    from app.staff.models import StaffCentre

    return list(db.session.scalars(sa.select(StaffCentre.centre_id).where(StaffCentre.user_id == user.id)
                                   .order_by(StaffCentre.is_preferred.desc(), StaffCentre.centre_id)))


def _set_choices(form: ParentForm) -> None:
    from app.auth.models import User
    from app.centres.models import Centre

    centres = db.session.scalars(sa.select(Centre).order_by(Centre.name))
    form.centre_id.choices = [("", "Not attached to a centre")] + [(str(c.id), c.name) for c in centres]
    workers = db.session.scalars(sa.select(User).where(User.role.in_(("worker", "admin")), User.is_enabled)
                                 .order_by(User.full_name, User.email))
    form.worker_id.choices = [("", "No one yet")] + [(str(u.id), u.display_name) for u in workers]


def _error_list(form: ParentForm) -> list[dict]:
    """Every message on the form, each linked to its field, for the error summary."""
    items = []
    for field in form:
        if field.name == "children":
            for entry in field:
                for sub in entry.form:
                    for message in sub.errors:
                        anchor = f"{sub.id}-day" if sub.type == "GovDateField" else sub.id
                        items.append({"text": message, "href": f"#{anchor}"})
        else:
            for message in field.errors:
                items.append({"text": message, "href": f"#{field.id}"})
    for message in form.form_errors:
        items.append({"text": message})
    return items


def attach_errors(form: ParentForm, exc: DomainError, rows: list[int]) -> None:
    """Put a service's field errors next to the form's fields (children by their row)."""
    for name, messages in exc.fields.items():
        target = None
        if name.startswith("children."):
            parts = name.split(".")
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(rows):
                child = form.children[rows[int(parts[1])]].form
                target = getattr(child, parts[2] if len(parts) > 2 else "first_name", None) or child.first_name
        elif name in form._fields and name != "children":
            target = form[name]
        if target is not None and isinstance(target.errors, tuple):
            target.errors = list(target.errors)
        for message in messages:
            if target is None:
                form.form_errors.append(message)
            elif message not in target.errors:
                target.errors.append(message)


def _render_form(form: ParentForm, parent: Parent | None, matches=None, status: int = 200):
    title = "Add a family" if parent is None else "Change family details"
    visible = {m.parent.id for m in matches or [] if can_see(db.session, current_user, m.parent)}
    return render_template("parents/form.html", form=form, parent=parent, title=title, matches=matches or [],
                           visible=visible, errors=_error_list(form), questions=DEMOGRAPHIC_QUESTIONS, short_labels=DEMOGRAPHIC_LABELS), status


def _save(form: ParentForm, parent: Parent | None):
    """Validate, call the service, and return (parent, None) or (None, response) to show the form again."""
    valid = form.validate()
    children, rows = form.children_data()
    data = form.parent_data()
    allow = bool(form.not_duplicate.data)
    try:
        if parent is None:
            saved = create_parent(db.session, data | {"children": children}, now=now(), actor=current_user,
                                  allow_duplicate=allow)
        else:
            saved = update_parent(db.session, parent, data | {"children": children}, now=now(), actor=current_user,
                                  allow_duplicate=allow)
    except DuplicateParent as exc:
        db.session.rollback()
        if not valid:
            return None, _render_form(form, parent, status=400)
        return None, _render_form(form, parent, matches=exc.matches, status=409)
    except DomainError as exc:
        db.session.rollback()
        attach_errors(form, exc, rows)
        return None, _render_form(form, parent, status=400)
    if not valid:
        db.session.rollback()
        return None, _render_form(form, parent, status=400)
    db.session.commit()
    return saved, None


def _add_child_row(form: ParentForm) -> None:
    if len(form.children.entries) < form.children.max_entries:
        form.children.append_entry()
    else:
        form.form_errors.append(f"A family can have up to {form.children.max_entries} children on this form")


def _after_save(parent: Parent, form: ParentForm, created: bool):
    unasked = unasked_questions(parent)
    message = ("Family added." if created else "Family details saved.")
    if unasked:
        message += " Not asked yet: " + ", ".join(q.lower() for q in unasked) + "."
    flash(message, "success")
    if form.save_and_enrol.data:
        return redirect(url_for("enrolment.new", parent_id=parent.id))
    return redirect(url_for("parents.view", parent_id=parent.id))


@bp.route("", endpoint="list")
@requires("parents.view")
def list_families():
    """The families this worker follows, and the groups with free places near them."""
    from app.enrolment.services import cohorts_to_join

    query = request.args.get("q", "")[:80]
    parents = search_parents(db.session, current_user, query)
    centre_ids = _staff_centre_ids(current_user)
    cohorts = [c for c in cohorts_to_join(db.session, now=now(), centre_ids=centre_ids) if c.places["free"] > 0]
    if not is_admin(current_user) and centre_ids:
        cohorts = [c for c in cohorts if c.own_centre] or cohorts
    return render_template("parents/list.html", title="Families", parents=parents, query=query,
                           cohorts=cohorts[:6], summary=parent_summary)


@bp.route("/new", methods=["GET", "POST"])
@requires("parents.manage")
def new():
    """Add a parent or carer and their children."""
    form = ParentForm()
    _set_choices(form)
    if request.method == "GET":
        centre_ids = _staff_centre_ids(current_user)
        form.centre_id.data = str(centre_ids[0]) if centre_ids else ""
        form.worker_id.data = str(current_user.id) if current_user.role == "worker" else ""
        return _render_form(form, None)
    if form.add_child.data:
        _add_child_row(form)
        return _render_form(form, None)
    parent, response = _save(form, None)
    if response is not None:
        return response
    return _after_save(parent, form, created=True)


def _initial(parent: Parent) -> dict:
    data = {name: getattr(parent, name) for name in (
        "first_name", "last_name", "postcode", "address", "email", "language", "interpreter_needed", "sms_consent",
        "ethnicity", "relationship_status", "gender", "age_band", "first_time_parent")}
    data["mobile"] = parent_summary(parent)["mobile"]
    data["email"] = parent.email or ""
    data["centre_id"] = str(parent.centre_id or "")
    data["worker_id"] = str(parent.worker_id or "")
    data["children"] = [{"child_id": str(c.id), "first_name": c.first_name, "date_of_birth": c.date_of_birth,
                         "due_date": c.due_date} for c in parent.children]
    return data


@bp.route("/<int:parent_id>")
@requires("parents.view")
def view(parent_id: int):
    """A family: details, children, enrolments, eligibility and the record's history."""
    from app.audit.models import AuditEvent
    from app.auth.models import User
    from app.eligibility.services import check_area, check_eligibility
    from app.enrolment.models import Enrolment

    parent = get_parent(db.session, parent_id, current_user)
    enrolments = list(db.session.scalars(sa.select(Enrolment).where(Enrolment.parent_id == parent.id)
                                         .order_by(Enrolment.created_at.desc(), Enrolment.id.desc())))
    checks = {e.id: check_eligibility(db.session, parent, e.cohort, now=now())
              for e in enrolments if e.status in ("enrolled", "waitlisted")}
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(
        {parent.worker_id, parent.sms_consent_by_id, *(e.eligibility_override_by_id for e in enrolments)} - {None})))}
    history = []
    if can(current_user, "audit.view"):
        history = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.parent_id == parent.id)
                                          .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(15)))
        people.update({u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(
            {h.actor_id for h in history} - {None})))})
    from app.centres.models import Centre

    centre = db.session.get(Centre, parent.centre_id) if parent.centre_id else None
    return render_template("parents/view.html", title=f"{parent.first_name} {parent.last_name}", parent=parent,
                           centre_name=centre.name if centre else None,
                           summary=parent_summary(parent), area=check_area(db.session, parent.postcode),
                           enrolments=enrolments, checks=checks, people=people, history=history,
                           unasked=unasked_questions(parent))


@bp.route("/<int:parent_id>/edit", methods=["GET", "POST"])
@requires("parents.manage")
def edit(parent_id: int):
    """Change a family's details and children."""
    parent = get_parent(db.session, parent_id, current_user)
    form = ParentForm(data=_initial(parent)) if request.method == "GET" else ParentForm()
    _set_choices(form)
    if request.method == "GET":
        return _render_form(form, parent)
    if form.add_child.data:
        _add_child_row(form)
        return _render_form(form, parent)
    saved, response = _save(form, parent)
    if response is not None:
        return response
    return _after_save(saved, form, created=False)
