"""Eligible areas for coordinators: the wards, how many postcodes each has, and the CSV upload."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.permissions import requires
from app.eligibility.forms import AreaUploadForm
from app.eligibility.models import Ward
from app.eligibility.services import import_areas, read_area_csv, set_ward_eligible, ward_overview
from app.errors import DomainError
from app.extensions import db
from app.timeutil import now

bp = Blueprint("eligibility", __name__)

#: rows with problems listed on the page; the rest are counted
SHOW_ERRORS = 100


@bp.route("/areas", methods=["GET", "POST"])
@requires("areas.manage")
def areas():
    """The eligible wards and the upload of a ward and postcode CSV file."""
    form = AreaUploadForm()
    result = None
    status = 200
    if form.is_submitted():
        upload = form.file.data
        if not form.validate() or upload is None or not getattr(upload, "filename", ""):
            form.file.errors = [*form.file.errors, "Choose a CSV file to import"]
            status = 400
        else:
            try:
                text = io.TextIOWrapper(upload.stream, encoding="utf-8-sig", newline="")
                result = import_areas(db.session, read_area_csv(text), now=now(), actor=current_user)
            except UnicodeDecodeError:
                db.session.rollback()
                form.file.errors = ["The file is not UTF-8 text: save it as \"CSV UTF-8\" and try again"]
                status = 400
            except DomainError as exc:
                db.session.rollback()
                form.file.errors = [exc.message]
                status = 400
            else:
                db.session.commit()
    errors = [{"text": m, "href": "#file"} for m in form.file.errors]
    return render_template("eligibility/areas.html", form=form, wards=ward_overview(db.session), result=result,
                           shown_errors=(result.errors[:SHOW_ERRORS] if result else []), errors=errors,
                           title="Eligible areas"), status


@bp.route("/areas/<int:ward_id>/eligible", methods=["POST"])
@requires("areas.manage")
def toggle(ward_id: int):
    """Open a ward to new families, or stop new enrolments from it."""
    ward = db.session.get(Ward, ward_id)
    if ward is None:
        abort(404)
    eligible = request.form.get("eligible") == "yes"
    set_ward_eligible(db.session, ward, eligible, now=now(), actor=current_user)
    db.session.commit()
    flash(f"{ward.name} {'now takes' if eligible else 'no longer takes'} new families.", "success")
    return redirect(url_for("eligibility.areas"))
