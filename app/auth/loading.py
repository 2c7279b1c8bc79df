"""How a request finds its user: the session cookie, or a bearer token for the API."""
from __future__ import annotations

from flask import Flask, g, session
from flask_login import user_logged_in

from app.auth.models import User
from app.auth.services import user_for_token
from app.extensions import db, login_manager
from app.timeutil import now


def init_login(app: Flask) -> None:
    """Wire Flask-Login to our users and tokens."""

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            user = db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and user.is_enabled else None

    @login_manager.request_loader
    def load_user_from_token(request):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        user = user_for_token(db.session, token.strip(), now())
        if user is not None:
            g.bearer_auth = True
        return user

    @user_logged_in.connect_via(app)
    def make_session_expire(sender, user, **extra):
        # idle logout: the cookie lives PERMANENT_SESSION_LIFETIME after the last request
        session.permanent = True
