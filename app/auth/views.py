"""Sign in and sign out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from app.auth.forms import LoginForm
from app.auth.permissions import public, requires
from app.auth.services import authenticate
from app.extensions import db, limiter
from app.timeutil import now

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@public
def login():
    """Show the sign-in form and sign a member of staff in."""
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data, now())
        if user is not None:
            db.session.commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("The email address or password is not right")
    return render_template("auth/login.html", form=form, title="Sign in"), 200 if not form.errors else 400


@bp.route("/logout", methods=["POST"])
@requires("self")
def logout():
    """Sign out."""
    logout_user()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
