"""Programme definitions: declarative TOML files in this folder, validated on load.

Adding a programme means adding one ``<key>.toml`` file here; the application is generic
over what these files say. A broken file is refused with an error naming the file and field.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any

PROGRAMMES_DIR = Path(__file__).resolve().parent
QUALIFICATIONS = ("clinical", "cosp", "better_start", "creche")


class ProgrammeError(ValueError):
    """A programme file that does not describe a valid programme."""


@dataclass(frozen=True)
class QualificationRule:
    qualification: str
    at_least: int


@dataclass(frozen=True)
class ReminderRule:
    days_before: int
    at: time


@dataclass(frozen=True)
class OutcomeMeasure:
    key: str
    name: str
    min: float
    max: float


@dataclass(frozen=True)
class Programme:
    """One programme, as its file describes it."""

    key: str
    name: str
    public_name: str
    weeks: int
    session_minutes: int
    group_size: int
    creche: bool
    what_to_bring: str
    allow_pregnancy: bool
    max_age_months: int
    facilitator_count: int
    facilitator_rules: tuple[QualificationRule, ...]
    reminders: tuple[ReminderRule, ...]
    missed_you: bool
    completion_min_share: float
    outcome_measures: tuple[OutcomeMeasure, ...]
    session_titles: tuple[str, ...]
    source: str = field(default="", compare=False)

    def measure(self, key: str) -> OutcomeMeasure | None:
        """The outcome measure with this key, if the programme uses it."""
        return next((m for m in self.outcome_measures if m.key == key), None)


class _Reader:
    """Reads typed fields from a parsed file, naming the file and field on any error."""

    def __init__(self, source: str, data: dict[str, Any]):
        self.source = source
        self.data = data

    def fail(self, name: str, message: str) -> ProgrammeError:
        return ProgrammeError(f"{self.source}: field '{name}' {message}")

    def get(self, name: str, kind: type | tuple[type, ...], *, default: Any = ..., within: dict | None = None,
            prefix: str = "") -> Any:
        data = self.data if within is None else within
        full = prefix + name
        if name not in data:
            if default is ...:
                raise self.fail(full, "is missing")
            return default
        value = data[name]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(full, f"must be {names}, not {type(value).__name__} {value!r}")
        return value

    def positive(self, name: str, value: int | float) -> None:
        if value <= 0:
            raise self.fail(name, f"must be greater than 0, not {value!r}")


def parse_programme(source: str, text: str) -> Programme:
    """Parse and validate one programme file's text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProgrammeError(f"{source}: not valid TOML: {exc}") from exc
    r = _Reader(source, data)
    key = r.get("key", str)
    if not key.isidentifier() or key != key.lower():
        raise r.fail("key", f"must be a lower-case identifier such as together_time, not {key!r}")
    weeks = r.get("weeks", int)
    r.positive("weeks", weeks)
    minutes = r.get("session_minutes", int)
    r.positive("session_minutes", minutes)
    group_size = r.get("group_size", int)
    r.positive("group_size", group_size)

    age = r.get("age", dict)
    max_months = r.get("max_months", int, within=age, prefix="age.")
    r.positive("age.max_months", max_months)

    fac = r.get("facilitators", dict)
    count = r.get("count", int, within=fac, prefix="facilitators.")
    r.positive("facilitators.count", count)
    rules = []
    for i, rule in enumerate(r.get("require", list, default=[], within=fac, prefix="facilitators.")):
        p = f"facilitators.require[{i}]."
        if not isinstance(rule, dict):
            raise r.fail(p[:-1], "must be a table")
        qual = r.get("qualification", str, within=rule, prefix=p)
        if qual not in QUALIFICATIONS:
            raise r.fail(p + "qualification", f"must be one of {', '.join(QUALIFICATIONS)}, not {qual!r}")
        at_least = r.get("at_least", int, within=rule, prefix=p)
        if not 1 <= at_least <= count:
            raise r.fail(p + "at_least", f"must be between 1 and facilitators.count ({count}), not {at_least}")
        rules.append(QualificationRule(qual, at_least))

    reminders = []
    for i, rem in enumerate(r.get("reminders", list, default=[])):
        p = f"reminders[{i}]."
        days = r.get("days_before", int, within=rem, prefix=p)
        if days < 0:
            raise r.fail(p + "days_before", f"must be 0 or more, not {days}")
        at_text = r.get("at", str, within=rem, prefix=p)
        try:
            at = time.fromisoformat(at_text)
        except ValueError:
            raise r.fail(p + "at", f"must be a time such as \"10:00\", not {at_text!r}") from None
        reminders.append(ReminderRule(days, at))

    completion = r.get("completion", dict, default={})
    share = float(r.get("min_share", (int, float), default=2 / 3, within=completion, prefix="completion."))
    if not 0 < share <= 1:
        raise r.fail("completion.min_share", f"must be between 0 and 1, not {share}")

    measures = []
    for i, m in enumerate(r.get("outcome_measures", list, default=[])):
        p = f"outcome_measures[{i}]."
        lo = r.get("min", (int, float), within=m, prefix=p)
        hi = r.get("max", (int, float), within=m, prefix=p)
        if hi <= lo:
            raise r.fail(p + "max", f"must be greater than min ({lo}), not {hi}")
        measures.append(OutcomeMeasure(r.get("key", str, within=m, prefix=p), r.get("name", str, within=m, prefix=p), lo, hi))

    titles = r.get("session_titles", list)
    if len(titles) != weeks or not all(isinstance(t, str) and t.strip() for t in titles):
        raise r.fail("session_titles", f"must list {weeks} non-empty titles, one per week, not {len(titles)}")

    messages = r.get("messages", dict, default={})
    return Programme(
        key=key,
        name=r.get("name", str),
        public_name=r.get("public_name", str),
        weeks=weeks,
        session_minutes=minutes,
        group_size=group_size,
        creche=r.get("creche", bool),
        what_to_bring=r.get("what_to_bring", str, default=""),
        allow_pregnancy=r.get("allow_pregnancy", bool, within=age, prefix="age."),
        max_age_months=max_months,
        facilitator_count=count,
        facilitator_rules=tuple(rules),
        reminders=tuple(reminders),
        missed_you=r.get("missed_you", bool, default=False, within=messages, prefix="messages."),
        completion_min_share=share,
        outcome_measures=tuple(measures),
        session_titles=tuple(titles),
        source=source,
    )


def load_programmes(directory: Path = PROGRAMMES_DIR) -> dict[str, Programme]:
    """Every programme file in a folder, by key; the file name must match the key."""
    found: dict[str, Programme] = {}
    for path in sorted(directory.glob("*.toml")):
        source = f"programmes/{path.name}" if directory == PROGRAMMES_DIR else str(path)
        programme = parse_programme(source, path.read_text(encoding="utf-8"))
        if programme.key != path.stem:
            raise ProgrammeError(f"{source}: field 'key' must match the file name ({path.stem!r}), not {programme.key!r}")
        found[programme.key] = programme
    return found


@lru_cache(maxsize=1)
def registry() -> dict[str, Programme]:
    """The programmes shipped in this folder, loaded once."""
    return load_programmes()


def programme_name(key: str) -> str:
    """A programme's name, or its key when no programme file has it (a file removed since: the key still says which)."""
    programme = registry().get(key)
    return programme.name if programme is not None else key


def get_programme(key: str) -> Programme:
    """One programme by key; KeyError names the valid keys."""
    try:
        return registry()[key]
    except KeyError:
        raise KeyError(f"unknown programme {key!r}; valid: {', '.join(sorted(registry()))}") from None
