"""Programme files: the shipped ones load, broken ones name the file and field."""
from pathlib import Path

import pytest

from programmes import ProgrammeError, load_programmes, parse_programme, registry

GOOD = (Path(__file__).resolve().parents[2] / "programmes" / "together_time.toml").read_text()


def test_shipped_programmes_load_with_their_shape():
    progs = registry()
    assert progs["together_time"].weeks == 6 and not progs["together_time"].creche
    assert progs["circle_of_security"].weeks == 8 and progs["circle_of_security"].creche
    assert progs["circle_of_security"].allow_pregnancy and progs["circle_of_security"].max_age_months == 48
    assert [(r.qualification, r.at_least) for r in progs["together_time"].facilitator_rules] == [("clinical", 1)]
    assert [(r.qualification, r.at_least) for r in progs["circle_of_security"].facilitator_rules] == [("cosp", 1)]
    for p in progs.values():
        assert len(p.session_titles) == p.weeks and p.facilitator_count == 2 and p.reminders and p.outcome_measures


@pytest.mark.parametrize("old,new,field", [
    ("weeks = 6", "weeks = \"six\"", "weeks"),
    ("weeks = 6", "weeks = 0", "weeks"),
    ("qualification = \"clinical\"", "qualification = \"wizard\"", "facilitators.require[0].qualification"),
    ("at = \"10:00\"", "at = \"ten\"", "reminders[0].at"),
    ("max_months = 18", "max_months = true", "age.max_months"),
    ("public_name = \"Together Time group\"\n", "", "public_name"),
])
def test_a_broken_file_names_the_file_and_field(old, new, field):
    assert old in GOOD
    with pytest.raises(ProgrammeError) as err:
        parse_programme("programmes/broken.toml", GOOD.replace(old, new, 1))
    assert "programmes/broken.toml" in str(err.value) and f"'{field}'" in str(err.value)


def test_titles_must_match_weeks():
    with pytest.raises(ProgrammeError, match="session_titles"):
        parse_programme("x.toml", GOOD.replace("weeks = 6", "weeks = 7"))


def test_adding_a_programme_is_adding_one_file(tmp_path):
    (tmp_path / "together_time.toml").write_text(GOOD)
    (tmp_path / "baby_massage.toml").write_text(GOOD.replace('key = "together_time"', 'key = "baby_massage"'))
    assert set(load_programmes(tmp_path)) == {"together_time", "baby_massage"}


def test_the_key_must_match_the_file_name(tmp_path):
    (tmp_path / "other.toml").write_text(GOOD)
    with pytest.raises(ProgrammeError, match="'key' must match the file name"):
        load_programmes(tmp_path)


def test_a_programme_name_falls_back_to_its_key_when_its_file_has_gone():
    from programmes import programme_name

    assert programme_name("circle_of_security").startswith("Circle of Security")
    assert programme_name("retired_programme") == "retired_programme"
