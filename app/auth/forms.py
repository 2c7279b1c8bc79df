"""Sign-in, change-password and password-reset forms."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovPasswordInput, GovSubmitInput, GovTextInput
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    """Email and password."""

    email = StringField("Email address", widget=GovTextInput(),
                        validators=[DataRequired("Enter your email address"), Length(max=254)])
    password = PasswordField("Password", widget=GovPasswordInput(),
                             validators=[DataRequired("Enter your password"), Length(max=200)])
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class ChangePasswordForm(FlaskForm):
    """The current password and a new one, twice."""

    current_password = PasswordField("Current password", widget=GovPasswordInput(),
                                     validators=[DataRequired("Enter your current password"), Length(max=200)])
    new_password = PasswordField(
        "New password", widget=GovPasswordInput(),
        description="At least 12 characters. A few unrelated words make a good password.",
        validators=[DataRequired("Enter a new password"), Length(max=200, message="Use 200 characters or fewer")])
    confirm_password = PasswordField(
        "Type the new password again", widget=GovPasswordInput(),
        validators=[DataRequired("Type the new password again"),
                    EqualTo("new_password", message="The two new passwords are not the same")])
    submit = SubmitField("Change password", widget=GovSubmitInput())


class ResetPasswordForm(FlaskForm):
    """An admin confirms resetting a colleague's password."""

    confirm = BooleanField(
        "I will give the temporary password to this person myself, not by e-mail",
        widget=GovCheckboxInput(),
        validators=[DataRequired("Confirm that you will pass the temporary password on in person")])
    submit = SubmitField("Reset password", widget=GovSubmitInput())
