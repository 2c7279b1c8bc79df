"""Sign in and out, change one's password, and an admin's password reset for a colleague."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.auth import throttle
from app.auth.forms import ChangePasswordForm, LoginForm, ResetPasswordForm
from app.auth.models import User
from app.auth.permissions import public, requires
from app.auth import services as auth_services
from app.auth.services import authenticate, start_password_reset
from app.errors import ValidationFailed
from app.extensions import db, limiter
from app.timeutil import now

bp = Blueprint("auth", __name__)

#: session key holding the time of the last request, for the idle logout (app/security.py)
LAST_SEEN_KEY = "gw_seen"


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
        moment = now()
        if throttle.is_locked(form.email.data, moment):
            form.password.errors.append(throttle.locked_message())
            response = current_app.make_response(
                (render_template("auth/login.html", form=form, title="Sign in"), 429))
            response.headers["Retry-After"] = str(60 * int(current_app.config.get("LOGIN_ACCOUNT_WINDOW_MINUTES", 15)))
            return response
        user = authenticate(db.session, form.email.data, form.password.data, moment)
        if user is not None:
            throttle.clear(form.email.data, moment)
            db.session.commit()
            login_user(user)
            session[LAST_SEEN_KEY] = int(moment.timestamp())
            if user.must_change_password:
                flash("Choose a new password before you go on.")
                return redirect(url_for("auth.change_password", next=_safe_next(request.args.get("next"))))
            return redirect(_safe_next(request.args.get("next")))
        throttle.record_failure(form.email.data, moment)
        form.password.errors.append("The email address or password is not right")
    return render_template("auth/login.html", form=form, title="Sign in"), 200 if not form.errors else 400


@bp.route("/logout", methods=["POST"])
@requires("self")
def logout():
    """Sign out."""
    logout_user()
    session.pop(LAST_SEEN_KEY, None)
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires("self")
def change_password():
    """Change one's own password (required after an admin's reset)."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            auth_services.change_password(
                db.session, current_user._get_current_object(), form.current_password.data, form.new_password.data,
                now=now(), hash_method=current_app.config["PASSWORD_HASH_METHOD"])
        except ValidationFailed as exc:
            getattr(form, exc.field or "new_password").errors.append(exc.message)
        else:
            db.session.commit()
            flash("Your password has been changed.", "success")
            return redirect(_safe_next(request.args.get("next")))
    return (render_template("auth/change_password.html", form=form, title="Change your password"),
            200 if not form.errors else 400)


@bp.route("/users/<int:user_id>/password-reset", methods=["GET", "POST"])
@requires("staff.manage")
def reset_password(user_id: int):
    """An admin resets a colleague's password and is shown a temporary one, once."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = ResetPasswordForm()
    if user.id == current_user.id:
        form.confirm.errors = ["To change your own password, use Change your password"]
        return render_template("auth/reset_password.html", form=form, user=user, own=True,
                               title="Reset a password"), 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        moment = now()
        temporary = start_password_reset(db.session, user, now=moment, actor=current_user._get_current_object(),
                                         hash_method=current_app.config["PASSWORD_HASH_METHOD"])
        throttle.clear(user.email, moment)
        db.session.commit()
        current_app.logger.info("password reset for user %s by user %s", user.id, current_user.id)
        return render_template("auth/reset_done.html", user=user, temporary=temporary, title="Password reset")
    return (render_template("auth/reset_password.html", form=form, user=user, own=False, title="Reset a password"),
            200 if not form.errors else 400)
