"""API tokens: POST /api/v1/auth/tokens."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from app.api.core import BaseSchema, error_response
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
def create_token(credentials):
    """Exchange an email and password for a bearer token."""
    user = authenticate(db.session, credentials["email"], credentials["password"], now())
    if user is None:
        return error_response(401, "The email address or password is not right.")
    hours = current_app.config["API_TOKEN_HOURS"]
    token = issue_token(db.session, user, now(), hours)
    db.session.commit()
    return {"token": token, "expires_in": hours * 3600}
