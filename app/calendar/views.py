"""Calendar feeds (public, by secret token), single-session downloads, and the link pages for staff."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from app.auth.permissions import public, requires
from app.calendar import receivers  # noqa: F401  (connects the e-mail invitation receivers)
from app.calendar import services
from app.calendar.forms import LinkActionForm
from app.cohorts.models import Cohort, CohortSession
from app.extensions import db
from app.parents.models import Parent
from app.timeutil import now

bp = Blueprint("calendar", __name__)

#: Feeds carry personal data (who goes to which group, where): never stored by a browser or
#: proxy. Calendar apps poll on their own schedule (REFRESH-INTERVAL asks for hourly), so a
#: max-age would save nothing and only delay a moved session.
FEED_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


def _not_found() -> Response:
    """The one answer for unknown, revoked and malformed tokens: it says nothing more."""
    return Response("Not found\n", status=404, mimetype="text/plain", headers=FEED_HEADERS)


def _ics(body: bytes, filename: str, *, inline: bool) -> Response:
    response = Response(body, status=200, content_type="text/calendar; charset=utf-8", headers=FEED_HEADERS)
    response.headers["Content-Disposition"] = f"{'inline' if inline else 'attachment'}; filename={filename}"
    return response


def _owner_for(token: str):
    return services.find_link_and_owner(db.session, token)


@bp.route("/calendar/<token>.ics")
@public
def feed(token: str):
    """A parent's, staff member's or cohort's feed, for calendar apps to subscribe to."""
    link, owner = _owner_for(token)
    if owner is None:
        return _not_found()
    moment = now()
    body = services.feed_ics(db.session, owner, now=moment)
    services.touch(link, moment)
    db.session.commit()
    return _ics(body, "groupwork.ics", inline=True)


@bp.route("/calendar/<token>/session/<int:session_id>.ics")
@public
def feed_session(token: str, session_id: int):
    """One session from the feed, to open and add (for calendars that cannot subscribe)."""
    _, owner = _owner_for(token)
    body = services.owner_session_ics(db.session, owner, session_id, now=now()) if owner is not None else None
    if body is None:
        return _not_found()
    return _ics(body, f"session-{session_id}.ics", inline=False)


@bp.route("/calendar/sessions/<int:session_id>.ics")
@requires("cohorts.view")
def session_download(session_id: int):
    """One session as an .ics file for staff to hand out (no family's details in it)."""
    session = db.session.get(CohortSession, session_id)
    if session is None:
        abort(404)
    return _ics(services.session_ics(db.session, session, now=now()), f"session-{session_id}.ics", inline=False)


def _link_page(owner, *, template_args: dict, manage_url: str):
    """Show an owner's link (GET) or create, rotate or revoke it (POST)."""
    form = LinkActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash("That did not work. Choose one of the buttons on the page.", "error")
            return redirect(manage_url)
        moment = now()
        action = form.action.data
        if action == "revoke":
            services.revoke(db.session, owner, now=moment, actor=current_user)
            message = "The calendar link is switched off. Calendars using it will stop updating."
        elif action == "rotate":
            services.rotate(db.session, owner, now=moment, actor=current_user)
            message = "A new calendar link has been made. The old one no longer works."
        else:
            services.ensure_link(db.session, owner, now=moment, actor=current_user)
            message = "The calendar link is ready."
        db.session.commit()
        flash(message, "success")
        return redirect(manage_url)
    link = services.current_link(db.session, owner)
    url = services.url_of(link) if link is not None else None
    return render_template("calendar/link.html", link=link, url=url,
                           webcal=services.webcal_url(url) if url else None, manage_url=manage_url,
                           **template_args)


@bp.route("/calendar/mine", methods=["GET", "POST"])
@requires("self")
def mine():
    """My rota as a calendar link for my phone."""
    return _link_page(current_user._get_current_object(), manage_url=url_for("calendar.mine"), template_args={
        "title": "My calendar link", "heading": "My calendar link", "caption": None, "audience": "staff",
        "back_href": url_for("main.home")})


@bp.route("/parents/<int:parent_id>/calendar", methods=["GET", "POST"])
@requires("calendar.manage")
def parent_link(parent_id: int):
    """A parent's private calendar link: show, make a new one, or switch it off."""
    parent = db.session.get(Parent, parent_id)
    if parent is None or parent.erased_at is not None or not services.may_manage_parent(
            db.session, current_user, parent):
        abort(404)
    back = _url_or_home("parents.show", parent_id=parent.id)
    return _link_page(parent, manage_url=url_for("calendar.parent_link", parent_id=parent.id), template_args={
        "title": "Calendar link", "heading": "Calendar link",
        "caption": f"{parent.first_name} {parent.last_name}", "audience": "parent", "back_href": back,
        "email_invites": services.email_enabled() and services.may_email(parent)})


@bp.route("/cohorts/<int:cohort_id>/calendar", methods=["GET", "POST"])
@requires("calendar.manage")
def cohort_link(cohort_id: int):
    """A cohort's calendar link, for the centre's shared calendar."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404)
    back = _url_or_home("cohorts.show", cohort_id=cohort.id)
    return _link_page(cohort, manage_url=url_for("calendar.cohort_link", cohort_id=cohort.id), template_args={
        "title": "Cohort calendar link", "heading": "Calendar link for the centre",
        "caption": f"{cohort.programme.public_name}, {cohort.centre.name}, from {cohort.start_date:%d %B %Y}",
        "audience": "cohort", "back_href": back})


def _url_or_home(endpoint: str, **values) -> str:
    """A link back to another feature's page, or home while that page does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return url_for("main.home")
