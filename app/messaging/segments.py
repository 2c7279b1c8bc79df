"""How many SMS segments a text costs: GSM-7 (160 characters) or UCS-2 (70), and which character forces UCS-2.

One character outside the GSM 03.38 alphabet (an en dash, a curly quote, "ã") switches the
whole message to UCS-2, so a 150-character reminder that cost one SMS costs three.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

#: GSM 03.38 basic character set (one septet each)
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: GSM 03.38 extension table: each costs two septets (escape + character)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM_SINGLE, GSM_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

#: plain replacements for the characters that most often sneak in from word processors
SUGGESTIONS = {
    "\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2026": "...", "\u00a0": " ", "\u2022": "-", "\u00b4": "'", "\u0060": "'",
}


@dataclass(frozen=True)
class SegmentInfo:
    """What a text costs to send."""

    #: "GSM-7" or "UCS-2"
    encoding: str
    #: characters as a person counts them
    characters: int
    #: septets (GSM-7) or UTF-16 code units (UCS-2)
    units: int
    segments: int
    #: characters outside GSM-7, in order of first appearance
    ucs2_characters: tuple[str, ...] = field(default=())

    @property
    def per_segment(self) -> int:
        """How many units fit in each segment at this length."""
        if self.encoding == "GSM-7":
            return GSM_SINGLE if self.segments <= 1 else GSM_MULTI
        return UCS2_SINGLE if self.segments <= 1 else UCS2_MULTI


def _segments(units: int, single: int, multi: int) -> int:
    if units == 0:
        return 0
    if units <= single:
        return 1
    return -(-units // multi)


def is_gsm(char: str) -> bool:
    """True when a character can be sent in GSM-7."""
    return char in GSM_BASIC or char in GSM_EXTENDED


def analyse(text: str) -> SegmentInfo:
    """Encoding, length and segment count of a text."""
    offending: list[str] = []
    for char in text:
        if not is_gsm(char) and char not in offending:
            offending.append(char)
    if not offending:
        units = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        return SegmentInfo("GSM-7", len(text), units, _segments(units, GSM_SINGLE, GSM_MULTI))
    units = len(text.encode("utf-16-le")) // 2
    return SegmentInfo("UCS-2", len(text), units, _segments(units, UCS2_SINGLE, UCS2_MULTI), tuple(offending))


def describe_character(char: str) -> str:
    """A character and its Unicode name, e.g. '“–” (en dash)'."""
    try:
        name = unicodedata.name(char).lower()
    except ValueError:
        name = f"U+{ord(char):04X}"
    shown = char if char.isprintable() and not char.isspace() else ""
    return f"“{shown}” ({name})" if shown else f"({name})"


def ucs2_warning(text: str) -> str | None:
    """A warning naming the characters that force UCS-2 and what the message would cost without them."""
    info = analyse(text)
    if info.encoding == "GSM-7":
        return None
    gsm_only = "".join(SUGGESTIONS.get(c, c) for c in text)
    plain = analyse(gsm_only)
    names = ", ".join(describe_character(c) for c in info.ucs2_characters[:5])
    many = len(info.ucs2_characters) > 1
    message = (f"The character{'s' if many else ''} {names} {'make' if many else 'makes'} this message UCS-2: "
               f"{info.per_segment} characters per SMS instead of {GSM_SINGLE if info.segments <= 1 else GSM_MULTI}, "
               f"so it costs {info.segments} SMS")
    if plain.encoding == "GSM-7":
        fixes = ", ".join(f"“{c}” with “{SUGGESTIONS[c]}”" for c in info.ucs2_characters if c in SUGGESTIONS)
        message += f" instead of {plain.segments}. Replace {fixes}." if fixes else "."
    else:
        message += "."
    return message
