"""The one form of the calendar pages: a link action (create, rotate, revoke), with CSRF."""
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

ACTIONS = ("create", "rotate", "revoke")


class LinkActionForm(FlaskForm):
    """Which change to make to a calendar link."""

    action = HiddenField(validators=[DataRequired("Choose what to do with the link"),
                                     AnyOf(ACTIONS, message="Choose what to do with the link")])
