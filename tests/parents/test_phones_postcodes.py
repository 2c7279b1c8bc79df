"""Mobile numbers and postcodes (no database)."""
import pytest

from app.errors import ValidationFailed
from app.parents.phones import display_mobile, parse_mobile
from app.parents.postcodes import normalise_postcode, parse_postcode


@pytest.mark.parametrize("typed, stored", [
    ("07400 123456", "+447400123456"),
    ("07400123456", "+447400123456"),
    ("+44 7400 123456", "+447400123456"),
    ("0044 7400 123456", "+447400123456"),
    ("(07400) 123-456", "+447400123456"),
    ("07624 300123", "+447624300123"),    # Isle of Man
    ("07797 123456", "+447797123456"),    # Jersey
    ("07781 123456", "+447781123456"),    # Guernsey
    ("07911 123456", "+447911123456"),    # Guernsey
    ("+33 6 12 34 56 78", "+33612345678"),  # a French mobile, with its country code
    ("+353 85 123 4567", "+353851234567"),  # Irish mobile
])
def test_mobiles_are_stored_as_e164(typed, stored):
    assert parse_mobile(typed) == stored


def test_blank_is_no_number():
    assert parse_mobile("") is None and parse_mobile("   ") is None and parse_mobile(None) is None


@pytest.mark.parametrize("typed, words", [
    ("020 7946 0000", "is a landline: enter a mobile number so we can send reminders"),
    ("0161 496 0000", "is a landline"),
    ("0800 123 4567", "is not a mobile number"),
    ("07045 123456", "is not a mobile number"),          # personal numbering, not a mobile
    ("06 12 34 56 78", "is not a UK mobile number"),      # French number without +33
    ("07700 900123", "is not a UK mobile number"),        # Ofcom's drama range is not a real number
    ("+44 7400 12345", "not a valid phone number"),
    ("+33 1 23 45 67 89", "is a landline"),
    ("call me", "Enter a mobile number like 07400 123456"),
    ("0" * 40, "Enter a mobile number like 07400 123456"),
])
def test_not_a_mobile_is_refused_with_a_clear_message(typed, words):
    with pytest.raises(ValidationFailed) as err:
        parse_mobile(typed)
    assert err.value.field == "mobile"
    assert words in err.value.message


def test_display_is_the_way_people_write_it():
    assert display_mobile("+447400123456") == "07400 123456"
    assert display_mobile("+33612345678") == "+33 6 12 34 56 78"
    assert display_mobile(None) == ""


@pytest.mark.parametrize("typed, stored", [
    ("sw97qd", "SW9 7QD"), (" SE24  0AA ", "SE24 0AA"), ("ec1a1bb", "EC1A 1BB"), ("W1A 0AX", "W1A 0AX"),
    ("M1 1AE", "M1 1AE"), ("DN55 1PT", "DN55 1PT"), ("e1w 1aa", "E1W 1AA"), ("GIR 0AA", "GIR 0AA"),
])
def test_postcodes_are_normalised(typed, stored):
    assert normalise_postcode(typed) == stored
    assert parse_postcode(typed) == stored


@pytest.mark.parametrize("typed", ["SW9", "12345", "SW9 7QC", "Q1 1AA", "SW99 7QDD", "SW9-7QD!"])
def test_malformed_postcodes_are_refused(typed):
    assert normalise_postcode(typed) is None
    with pytest.raises(ValidationFailed) as err:
        parse_postcode(typed)
    assert err.value.field == "postcode" and "is not a UK postcode" in err.value.message


def test_blank_postcode_is_allowed_unless_required():
    assert parse_postcode("") == ""
    with pytest.raises(ValidationFailed):
        parse_postcode(" ", required=True)
