"""The start page and the health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from app.auth.permissions import public, requires
from app.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/")
@requires("self")
def home():
    """Each role's start page."""
    return render_template("main/home.html", title="Home")


@bp.route("/healthz")
@public
def health():
    """Liveness and database reachability, for load balancers."""
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
