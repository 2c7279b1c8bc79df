"""Uploading the list of eligible wards and postcodes."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovFileInput, GovSubmitInput
from wtforms import SubmitField


class AreaUploadForm(FlaskForm):
    """A CSV file with the header "ward,postcode"."""

    file = FileField("CSV file of wards and postcodes", widget=GovFileInput(),
                     description="Two columns with the header ward,postcode; one postcode a line. Importing the "
                                 "same file again changes nothing; a postcode in a new ward moves there.")
    submit = SubmitField("Import", widget=GovSubmitInput())
