"""Messages pages: the coordinator's overview, the wording editor, a parent's text history."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.permissions import requires
from app.errors import ValidationFailed
from app.extensions import db
from app.messaging import receivers  # noqa: F401  (connect the event receivers)
from app.messaging import services
from app.messaging import templates as wording
from app.messaging.forms import WordingForm
from app.messaging.models import MESSAGE_STATUSES
from app.messaging.segments import analyse, ucs2_warning
from app.messaging.sms import mask_number
from app.timeutil import now

bp = Blueprint("messaging", __name__, url_prefix="/messages")

STATUS_COLOURS = {"queued": "grey", "sending": "blue", "sent": "turquoise", "delivered": "green", "failed": "red",
                  "undelivered": "red", "cancelled": "grey"}
INTENT_LABELS = {"stop": "Opted out (STOP)", "start": "Opted back in (START)", "apology": "Possible apology",
                 "message": "Reply"}


def _helpers() -> dict:
    return {"kind_labels": wording.KIND_LABELS, "status_colours": STATUS_COLOURS, "mask": mask_number,
            "intent_labels": INTENT_LABELS, "language_names": wording.LANGUAGE_NAMES}


@bp.route("")
@requires("templates.manage")
def overview():
    """Failures, opt-outs, numbers to fix, texts from unknown numbers, and the wordings."""
    from app.messaging.models import SmsTemplate

    saved = {(t.kind, t.language) for t in db.session.scalars(sa.select(SmsTemplate))}
    grid = [(kind, [(lang, (kind, lang) in saved, wording.default_body(kind, lang) is not None)
                    for lang in wording.LANGUAGES]) for kind in wording.KIND_PLACEHOLDERS]
    return render_template("messaging/overview.html", title="Messages", data=services.overview(db.session, now=now()),
                           grid=grid, statuses=MESSAGE_STATUSES, **_helpers())


def _language_or_404(kind: str, language: str) -> None:
    if kind not in wording.KIND_PLACEHOLDERS or language not in wording.LANGUAGES:
        abort(404)


@bp.route("/wording/<kind>/<language>", methods=["GET", "POST"])
@requires("templates.manage")
def edit_wording(kind: str, language: str):
    """Edit one wording, with its length, encoding and cost in SMS segments."""
    _language_or_404(kind, language)
    current, is_custom = services.effective_wording(db.session, kind, language)
    status = 200
    if request.method == "POST":
        form = WordingForm()
        if form.validate():
            try:
                body = wording.check_wording(kind, form.body.data)
                if form.save.data:
                    services.save_wording(db.session, kind, language, body, now=now(), actor=current_user)
                    db.session.commit()
                    flash(f"Saved: {wording.KIND_LABELS[kind]} in {wording.LANGUAGE_NAMES[language]}.", "success")
                    return redirect(url_for("messaging.edit_wording", kind=kind, language=language))
            except ValidationFailed as exc:
                form.body.errors = [*form.body.errors, exc.message]
        if form.errors:
            status = 400
    else:
        form = WordingForm(data={"body": current})
    text = form.body.data or ""
    preview = wording.render(text, wording.sample_values(kind, language)) if text else ""
    english = wording.default_body(kind, "en")
    return render_template(
        "messaging/edit_wording.html", title=f"{wording.KIND_LABELS[kind]} ({wording.LANGUAGE_NAMES[language]})",
        form=form, kind=kind, language=language, is_custom=is_custom, preview=preview,
        preview_info=analyse(preview) if preview else None, warning=ucs2_warning(preview) if preview else None,
        template_info=analyse(text), placeholders=[(p, wording.PLACEHOLDERS[p]) for p in wording.KIND_PLACEHOLDERS[kind]],
        english=english if language != "en" else None, has_default=wording.default_body(kind, language) is not None,
        **_helpers()), status


@bp.route("/wording/<kind>/<language>/reset", methods=["POST"])
@requires("templates.manage")
def reset_wording(kind: str, language: str):
    """Go back to the built-in wording."""
    _language_or_404(kind, language)
    if services.reset_wording(db.session, kind, language, now=now(), actor=current_user):
        db.session.commit()
        flash("Back to the standard wording.", "success")
    return redirect(url_for("messaging.edit_wording", kind=kind, language=language))


@bp.route("/parents/<int:parent_id>")
@requires("messages.view")
def parent_history(parent_id: int):
    """Every text to and from one parent, with its status."""
    from app.parents.services import full_name, get_parent

    parent = get_parent(db.session, parent_id, current_user)
    sent, received = services.history(db.session, parent.id)
    return render_template("messaging/parent_history.html", title=f"Texts: {full_name(parent)}", parent=parent,
                           messages=sent, inbound=received, **_helpers())
