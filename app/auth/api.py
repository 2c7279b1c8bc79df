"""API tokens: POST /api/v1/auth/tokens."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from app.api.core import BaseSchema, error_response
from app.auth import throttle
from app.auth.permissions import public
from app.auth.services import authenticate, issue_token
from app.extensions import db, limiter
from app.timeutil import now

blp = Blueprint("auth_api", __name__, url_prefix="/api/v1/auth", description="Bearer tokens for the API")


class CredentialsSchema(BaseSchema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(max=200))


class TokenSchema(ma.Schema):
    token = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(metadata={"description": "seconds until the token expires"})


@blp.route("/tokens", methods=["POST"])
@limiter.limit("20 per minute")
@public
@blp.arguments(CredentialsSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(401, description="Wrong email or password")
@blp.alt_response(403, description="The account must change its temporary password on the sign-in page first")
@blp.alt_response(429, description="Too many failed attempts for this account, or from this address")
def create_token(credentials):
    """Exchange an email and password for a bearer token."""
    moment = now()
    if throttle.is_locked(credentials["email"], moment):
        response = error_response(429, throttle.locked_message())
        response.headers["Retry-After"] = str(60 * int(current_app.config.get("LOGIN_ACCOUNT_WINDOW_MINUTES", 15)))
        return response
    user = authenticate(db.session, credentials["email"], credentials["password"], moment)
    if user is None:
        throttle.record_failure(credentials["email"], moment)
        return error_response(401, "The email address or password is not right.")
    throttle.clear(credentials["email"], moment)
    if user.must_change_password:
        db.session.commit()
        return error_response(403, "Your password was reset: sign in on the web page and choose a new one first.")
    hours = current_app.config["API_TOKEN_HOURS"]
    token = issue_token(db.session, user, moment, hours)
    db.session.commit()
    return {"token": token, "expires_in": hours * 3600}
