"""The answer lists the funder asks for. "Not asked" and "prefer not to say" are distinct answers.

Each list is (value, label) pairs; values are stored, labels are shown.
"""
from __future__ import annotations

NOT_ASKED = ("not_asked", "Not asked")
PREFER_NOT = ("prefer_not_to_say", "Prefer not to say")

REFERRAL_SOURCES = [
    ("midwifery", "Midwifery"),
    ("health_visiting", "Health visiting"),
    ("better_start", "Better Start worker / children's centre"),
    ("self_referral", "Self-referral"),
    ("gp", "GP"),
    ("adult_mental_health", "Adult mental health / perinatal / talking therapies"),
    ("other_leap", "Other LEAP service"),
    ("other", "Other"),
]

# Office for National Statistics, Census 2021 ethnic groups (England and Wales), 19 categories.
ETHNICITIES = [
    ("asian_bangladeshi", "Asian or Asian British: Bangladeshi"),
    ("asian_chinese", "Asian or Asian British: Chinese"),
    ("asian_indian", "Asian or Asian British: Indian"),
    ("asian_pakistani", "Asian or Asian British: Pakistani"),
    ("asian_other", "Asian or Asian British: any other Asian background"),
    ("black_african", "Black, Black British, Caribbean or African: African"),
    ("black_caribbean", "Black, Black British, Caribbean or African: Caribbean"),
    ("black_other", "Black, Black British, Caribbean or African: any other Black background"),
    ("mixed_white_asian", "Mixed or multiple: White and Asian"),
    ("mixed_white_black_african", "Mixed or multiple: White and Black African"),
    ("mixed_white_black_caribbean", "Mixed or multiple: White and Black Caribbean"),
    ("mixed_other", "Mixed or multiple: any other Mixed or multiple background"),
    ("white_british", "White: English, Welsh, Scottish, Northern Irish or British"),
    ("white_irish", "White: Irish"),
    ("white_gypsy_traveller", "White: Gypsy or Irish Traveller"),
    ("white_roma", "White: Roma"),
    ("white_other", "White: any other White background"),
    ("other_arab", "Other ethnic group: Arab"),
    ("other_any", "Other ethnic group: any other ethnic group"),
    PREFER_NOT,
    NOT_ASKED,
]

RELATIONSHIP_STATUSES = [
    ("married_civil_partnership", "Married or in a civil partnership"),
    ("cohabiting", "Living with a partner"),
    ("partner_not_living_together", "In a relationship, not living together"),
    ("single", "Single"),
    ("separated_divorced", "Separated or divorced"),
    ("widowed", "Widowed"),
    PREFER_NOT,
    NOT_ASKED,
]

GENDERS = [
    ("woman", "Woman"),
    ("man", "Man"),
    ("non_binary", "Non-binary"),
    ("self_described", "Prefer to self-describe"),
    PREFER_NOT,
    NOT_ASKED,
]

AGE_BANDS = [
    ("under_20", "Under 20"),
    ("20_24", "20 to 24"),
    ("25_29", "25 to 29"),
    ("30_34", "30 to 34"),
    ("35_39", "35 to 39"),
    ("40_plus", "40 or over"),
    PREFER_NOT,
    NOT_ASKED,
]

YES_NO = [
    ("yes", "Yes"),
    ("no", "No"),
    PREFER_NOT,
    NOT_ASKED,
]

LANGUAGES = [
    ("en", "English"),
    ("pt", "Portuguese"),
    ("es", "Spanish"),
    ("so", "Somali"),
    ("fr", "French"),
    ("tw", "Twi"),
    ("yo", "Yoruba"),
    ("pl", "Polish"),
    ("ar", "Arabic"),
    ("bn", "Bengali"),
    ("other", "Other"),
]

#: demographic fields with their answer lists, for forms, API validation and data-quality reports
DEMOGRAPHIC_FIELDS = {
    "ethnicity": ETHNICITIES,
    "relationship_status": RELATIONSHIP_STATUSES,
    "gender": GENDERS,
    "age_band": AGE_BANDS,
    "first_time_parent": YES_NO,
}


def values(choices: list[tuple[str, str]]) -> tuple[str, ...]:
    """The stored values of an answer list."""
    return tuple(v for v, _ in choices)


def label(choices: list[tuple[str, str]], value: str | None) -> str:
    """The label of a stored value, or the value itself if unknown."""
    return dict(choices).get(value or "", value or "")
