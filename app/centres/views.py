"""Centre pages: the list, a centre with its rooms and closure days, and the forms to change them."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app.auth.permissions import requires
from app.centres.forms import CentreForm, ClosureForm
from app.centres.services import (
    add_closure, create_centre, get_centre, list_centres, remove_closure, sessions_on_closures, update_centre,
)
from app.errors import DomainError
from app.extensions import db
from app.timeutil import now

bp = Blueprint("centres", __name__, url_prefix="/centres")

FIELD_MAP = {"closure_id": None}


def attach_error(form, exc: DomainError, field_map: dict | None = None) -> None:
    """Show a service's refusal beside the form field it names (or above the form)."""
    mapping = {**FIELD_MAP, **(field_map or {})}
    for name, messages in (exc.fields or {None: [exc.message]}).items():
        target = mapping.get(name, name)
        field = getattr(form, target, None) if target else None
        if field is not None and hasattr(field, "errors") and hasattr(field, "data"):
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)


def _actor():
    return current_user._get_current_object()


def _status(form, exc: DomainError | None = None) -> int:
    if exc is not None and exc.status == 409:
        return 409
    return 400 if form.errors else 200


@bp.route("", methods=["GET"], endpoint="list")
@requires("centres.view")
def index():
    """All centres."""
    return render_template("centres/list.html", centres=list_centres(db.session), title="Centres")


@bp.route("/new", methods=["GET", "POST"])
@requires("centres.manage")
def new():
    """Add a centre."""
    form = CentreForm()
    error = None
    if form.validate_on_submit():
        try:
            centre = create_centre(db.session, name=form.name.data, address=form.address.data or "",
                                   postcode=form.postcode.data or "", ward=form.ward.data or "",
                                   creche_capacity=form.creche_capacity.data, rooms=form.room_names(),
                                   now=now(), actor=_actor())
            db.session.commit()
            flash(f"{centre.name} added.", "success")
            return redirect(url_for("centres.show", centre_id=centre.id))
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            error = exc
    return render_template("centres/form.html", form=form, centre=None, title="Add a centre"), _status(form, error)


@bp.route("/<int:centre_id>", methods=["GET"])
@requires("centres.view")
def show(centre_id):
    """A centre: details, rooms, closure days and any sessions that fall on them."""
    centre = get_centre(db.session, centre_id)
    return _show(centre, ClosureForm())


def _show(centre, closure_form, status=200):
    clashes = sessions_on_closures(db.session, centre, now())
    return render_template("centres/show.html", centre=centre, closure_form=closure_form, clashes=clashes,
                           form=closure_form, title=centre.name), status


@bp.route("/<int:centre_id>/edit", methods=["GET", "POST"])
@requires("centres.manage")
def edit(centre_id):
    """Change a centre's details and rooms."""
    centre = get_centre(db.session, centre_id)
    form = CentreForm(obj=centre)
    if not form.is_submitted():
        form.rooms.data = "\n".join(r.name for r in centre.rooms)
    error = None
    if form.validate_on_submit():
        try:
            update_centre(db.session, centre, name=form.name.data, address=form.address.data or "",
                          postcode=form.postcode.data or "", ward=form.ward.data or "",
                          creche_capacity=form.creche_capacity.data, rooms=form.room_names(), now=now(),
                          actor=_actor())
            db.session.commit()
            flash("Centre saved.", "success")
            return redirect(url_for("centres.show", centre_id=centre.id))
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            error = exc
    return (render_template("centres/form.html", form=form, centre=centre, title=f"Change {centre.name}"),
            _status(form, error))


@bp.route("/<int:centre_id>/closures", methods=["POST"])
@requires("centres.manage")
def add_closure_day(centre_id):
    """Add a closure day."""
    centre = get_centre(db.session, centre_id)
    form = ClosureForm()
    if form.validate_on_submit():
        try:
            closure, affected = add_closure(db.session, centre, form.closure_date.data, form.reason.data or "",
                                            now=now(), actor=_actor())
            db.session.commit()
            message = f"{centre.name} is closed on {closure.closure_date:%-d %B %Y}."
            if affected:
                message += (f" {len(affected)} session{'s fall' if len(affected) != 1 else ' falls'} on that day: "
                            f"move or cancel {'them' if len(affected) != 1 else 'it'} (listed below).")
            flash(message, "success" if not affected else "warning")
            return redirect(url_for("centres.show", centre_id=centre.id))
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
            return _show(get_centre(db.session, centre_id), form, 409 if exc.status == 409 else 400)
    return _show(centre, form, 400)


@bp.route("/<int:centre_id>/closures/<int:closure_id>/delete", methods=["POST"])
@requires("centres.manage")
def remove_closure_day(centre_id, closure_id):
    """Reopen the centre on a closure day."""
    centre = get_centre(db.session, centre_id)
    remove_closure(db.session, centre, closure_id, now=now(), actor=_actor())
    db.session.commit()
    flash("Closure day removed.", "success")
    return redirect(url_for("centres.show", centre_id=centre.id))
