"""UK mobile numbers: parsed with phonenumbers, stored as E.164, only mobiles accepted.

A number written the UK way (07400 123456) is read as a UK number. Numbers from the Isle of
Man (07624), Jersey (07797, 07700...) and Guernsey (07781, 07839, 07911) share the +44
country code and are mobiles too: phonenumbers files them under IM, JE and GG. A number from
abroad must start with + (or 00) and its country code; there it is accepted when it is a
mobile, or when the country's plan cannot tell mobiles from landlines (the USA, Canada).
"""
from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from app.errors import ValidationFailed

#: regions that share the +44 country code: their numbers must be real mobiles
UK_REGIONS = frozenset({"GB", "IM", "JE", "GG"})
EXAMPLE = "07400 123456"
NEEDS_MOBILE = "enter a mobile number so we can send reminders"


def parse_mobile(text: str | None, field: str = "mobile") -> str | None:
    """The E.164 form of a mobile number, None for a blank one; ValidationFailed (field) otherwise."""
    raw = (text or "").strip()
    if not raw:
        return None
    if len(raw) > 30:
        raise ValidationFailed(f"Enter a mobile number like {EXAMPLE}", field)
    try:
        number = phonenumbers.parse(raw, "GB")
    except NumberParseException:
        raise ValidationFailed(f"Enter a mobile number like {EXAMPLE}", field) from None
    international = raw.startswith("+") or raw.startswith("00")
    if not phonenumbers.is_valid_number(number):
        if not international and number.country_code == 44:
            raise ValidationFailed(
                f"{raw} is not a UK mobile number. Enter a number like {EXAMPLE}, or for a number from abroad "
                "start with + and the country code", field)
        raise ValidationFailed(f"{raw} is not a valid phone number: check the country code and the digits", field)
    kind = phonenumbers.number_type(number)
    region = phonenumbers.region_code_for_number(number)
    if region in UK_REGIONS or number.country_code == 44:
        if kind == PhoneNumberType.FIXED_LINE:
            raise ValidationFailed(f"{raw} is a landline: {NEEDS_MOBILE}", field)
        if kind != PhoneNumberType.MOBILE:
            raise ValidationFailed(f"{raw} is not a mobile number: {NEEDS_MOBILE}", field)
    elif kind == PhoneNumberType.FIXED_LINE:
        raise ValidationFailed(f"{raw} is a landline: {NEEDS_MOBILE}", field)
    elif kind not in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationFailed(f"{raw} is not a mobile number: {NEEDS_MOBILE}", field)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def display_mobile(e164: str | None) -> str:
    """A stored number as people write it: 07400 123456 for UK mobiles, international otherwise."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    if number.country_code == 44:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
