"""SMS segment counting: GSM-7 and UCS-2, and the character that forces UCS-2."""
from app.messaging.segments import analyse, ucs2_warning


def test_gsm7_limits():
    assert analyse("a" * 160).segments == 1
    assert analyse("a" * 161).segments == 2
    assert analyse("a" * 306).segments == 2
    assert analyse("a" * 307).segments == 3
    assert analyse("").segments == 0
    info = analyse("Hi Ana, see you at 10:00! £2 café")
    assert info.encoding == "GSM-7" and info.units == info.characters


def test_extension_characters_cost_two():
    info = analyse("{}" + "a" * 156)
    assert info.encoding == "GSM-7" and info.units == 160 and info.segments == 1
    assert analyse("€" + "a" * 159).segments == 2


def test_ucs2_limits_and_the_character_that_forces_it():
    info = analyse("Group \u2013 Tuesday" + "a" * 55)
    assert info.encoding == "UCS-2" and info.characters == 70 and info.segments == 1
    assert analyse("\u2013" + "a" * 70).segments == 2
    assert analyse("\u2013" + "a" * 133).segments == 2 and analyse("\u2013" + "a" * 134).segments == 3
    assert analyse("😀").units == 2  # a surrogate pair is two UCS-2 units
    assert info.ucs2_characters == ("\u2013",)


def test_warning_names_the_character_and_the_saving():
    text = "Hi Ana, Together Time group is on Tuesday at 10:00 \u2013 see you there. " + "x" * 60
    warning = ucs2_warning(text)
    assert "“–” (en dash)" in warning and "UCS-2" in warning
    assert "costs 2 SMS instead of 1" in warning and "Replace “–” with “-”" in warning
    assert ucs2_warning("plain text") is None
    curly = ucs2_warning("Don\u2019t forget")
    assert "right single quotation mark" in curly
    accents = ucs2_warning("terça-feira")
    assert "latin small letter c with cedilla" in accents and "Replace" not in accents
