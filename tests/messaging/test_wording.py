"""Default wordings: every kind in English, examples in Portuguese, Spanish and Somali, all discreet."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ValidationFailed
from app.messaging import templates as wording
from app.messaging.models import MESSAGE_KINDS, PARENT_KINDS
from app.messaging.segments import analyse

SNAPSHOTS = Path(__file__).parent / "snapshots"


def all_defaults():
    return [(lang, kind, body) for lang, bodies in wording.DEFAULTS.items() for kind, body in bodies.items()]


def test_every_kind_has_an_english_wording_and_parent_kinds_are_translated():
    assert set(wording.DEFAULTS["en"]) == set(MESSAGE_KINDS) == set(wording.KIND_PLACEHOLDERS)
    for lang in ("pt", "es", "so"):
        assert set(wording.DEFAULTS[lang]) == set(PARENT_KINDS), lang


@pytest.mark.parametrize("lang,kind,body", all_defaults())
def test_defaults_are_discreet(lang, kind, body):
    words = ("therapy", "therapist", "therapeutic", "mental", "psychology", "psychologist", "counselling",
             "counseling", "depression", "anxiety", "perinatal", "postnatal", "clinic", "clinical", "trauma",
             "attachment", "terapia", "saúde mental", "salud mental", "psicolog", "caafimaadka maskaxda", "nhs")
    lowered = body.lower()
    assert not [w for w in words if w in lowered]
    assert wording.forbidden_words_in(body) == []


@pytest.mark.parametrize("lang,kind,body", all_defaults())
def test_defaults_use_only_their_placeholders(lang, kind, body):
    assert wording.check_wording(kind, body) == body
    assert "first_name" in wording.placeholders_in(body) or kind == "rota_changed"


def test_english_reminder_fits_in_one_sms():
    text = wording.render(wording.DEFAULTS["en"]["reminder"], wording.sample_values("reminder"))
    info = analyse(text)
    assert info.encoding == "GSM-7" and info.segments == 1


def test_unknown_placeholder_is_refused_with_its_name():
    with pytest.raises(ValidationFailed) as exc:
        wording.check_wording("reminder", "Hi {first_name}, see you {when}")
    assert exc.value.field == "body" and "{when}" in exc.value.message
    with pytest.raises(ValidationFailed, match="calendar_link"):
        wording.check_wording("reminder", "Hi {first_name} {calendar_link}")  # not for a reminder
    with pytest.raises(ValidationFailed, match="not closed"):
        wording.check_wording("reminder", "Hi {first_name")
    with pytest.raises(ValidationFailed, match="therapy"):
        wording.check_wording("reminder", "Hi {first_name}, your therapy group is on {day}")
    with pytest.raises(ValidationFailed, match="Enter"):
        wording.check_wording("reminder", "   ")


def test_render_never_evaluates_anything():
    assert wording.render("{first_name.__class__}{first_name}", {"first_name": "Ana"}) == "Ana"


def test_days_in_each_language():
    from datetime import datetime, timezone

    moment = datetime(2026, 10, 27, 10, 0, tzinfo=timezone.utc)  # after the clocks went back: 10:00 London
    assert wording.format_day(moment, "en") == "Tuesday 27 October"
    assert wording.format_day(moment, "pt") == "terça-feira, 27 de outubro"
    assert wording.format_day(moment, "es") == "martes 27 de octubre"
    assert wording.format_day(moment, "so") == "Talaado 27 Oktoobar"
    assert wording.format_day(moment, "pl") == "Tuesday 27 October"  # no default: English
    assert wording.format_time(moment) == "10:00"


@pytest.mark.parametrize("lang", wording.LANGUAGES)
def test_rendered_defaults_match_snapshots(lang):
    rendered = "\n\n".join(f"[{kind}]\n" + wording.render(body, wording.sample_values(kind, lang))
                           for kind, body in sorted(wording.DEFAULTS[lang].items())) + "\n"
    path = SNAPSHOTS / f"defaults.{lang}.txt"
    assert path.read_text(encoding="utf-8") == rendered, f"update {path} if the change is intended"
