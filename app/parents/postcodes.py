"""UK postcodes: checked against the published format and written the one way, "SW9 7QD"."""
from __future__ import annotations

import re

from app.errors import ValidationFailed

# The outward code (area and district) then the inward code (sector and unit). Letters that
# are never used in a position are left out, so "Q1 1AA" or "SW9 7QC" are refused.
_POSTCODE = re.compile(
    r"^(?:GIR0AA|"
    r"(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]|"
    r"[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(text: str | None) -> str | None:
    """The postcode in capitals with one space before the last three characters, or None if not a postcode."""
    compact = re.sub(r"\s+", "", (text or "")).upper()
    if not _POSTCODE.match(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def parse_postcode(text: str | None, field: str = "postcode", *, required: bool = False) -> str:
    """A normalised postcode ("" for a blank optional one); ValidationFailed naming the field otherwise."""
    raw = (text or "").strip()
    if not raw:
        if required:
            raise ValidationFailed("Enter a postcode, like SW9 7QD", field)
        return ""
    postcode = normalise_postcode(raw)
    if postcode is None:
        raise ValidationFailed(f"{raw[:20]} is not a UK postcode: enter a postcode like SW9 7QD", field)
    return postcode
