"""Who can join a group: where the family lives, and the child's age on the cohort's dates.

The rules, in one place:

* **Area.** The family's postcode must be in an eligible ward (``Ward.is_eligible``). While no
  ward has been imported at all the service has no areas to check, so the postcode check
  passes with the note "No areas are configured" (a fresh installation works before its
  area list arrives); once any ward exists, a postcode outside them fails.
* **Age.** Read from the programme file (``allow_pregnancy``, ``max_age_months``) and checked
  against the cohort's first and last scheduled sessions. A child fits when they are born by
  the first session (an expected baby fits instead when the programme allows pregnancy, or
  when the baby is due by the first session) and is still under the maximum age at the
  *last* session, so they can come to the whole group. For Circle of Security (48 months)
  that means the fourth birthday falls after the group ends.
* **The family** is eligible when the area check passes and at least one child fits.

A coordinator (permission ``eligibility.override``) can enrol a family that fails, giving a
reason; the reason and who gave it are kept on the enrolment.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.audit.services import record
from app.eligibility.models import Ward, WardPostcode
from app.errors import ValidationFailed
from app.parents.postcodes import normalise_postcode
from app.parents.services import add_months, child_label
from app.timeutil import to_london, today_london

NO_AREAS_NOTE = "No areas are configured yet, so the postcode was not checked"


@dataclass
class Eligibility:
    """The outcome of a check, in words a worker can read out."""

    eligible: bool
    #: why the family is not eligible (empty when eligible)
    reasons: list[str] = field(default_factory=list)
    #: what was checked and passed, and anything worth knowing
    notes: list[str] = field(default_factory=list)
    ward: str | None = None

    def as_dict(self) -> dict:
        return {"eligible": self.eligible, "reasons": list(self.reasons), "notes": list(self.notes),
                "ward": self.ward}


def areas_configured(db: Session) -> bool:
    """True once any ward has been imported."""
    return db.scalar(sa.select(Ward.id).limit(1)) is not None


def ward_of(db: Session, postcode: str | None) -> Ward | None:
    """The ward a postcode is in, if it is in any."""
    normal = normalise_postcode(postcode)
    if not normal:
        return None
    return db.scalar(sa.select(Ward).join(WardPostcode).where(WardPostcode.postcode == normal))


def check_area(db: Session, postcode: str | None) -> Eligibility:
    """The area half of the check."""
    if not areas_configured(db):
        return Eligibility(True, notes=[NO_AREAS_NOTE])
    if not (postcode or "").strip():
        return Eligibility(False, reasons=["No postcode is recorded: add the family's postcode to check the area"])
    ward = ward_of(db, postcode)
    if ward is None:
        return Eligibility(False, reasons=[f"{postcode} is not in an eligible ward"])
    if not ward.is_eligible:
        return Eligibility(False, reasons=[f"{postcode} is in {ward.name}, which is not taking new families"],
                           ward=ward.name)
    return Eligibility(True, notes=[f"{postcode} is in {ward.name} ward"], ward=ward.name)


def _age_words(months: int) -> str:
    if months % 12 == 0:
        return str(months // 12)
    return f"{months} months old"


def _months_between(born: date, on: date) -> int:
    months = (on.year - born.year) * 12 + on.month - born.month
    return months - 1 if on.day < born.day else months


def check_child(child, programme, first_day: date, last_day: date, today: date) -> tuple[bool, str]:
    """Whether one child fits the programme on these dates, and the sentence that says why."""
    name = child_label(child)
    limit = programme.max_age_months
    if child.date_of_birth is None:
        due = child.due_date
        if programme.allow_pregnancy:
            return True, f"{name}: expected baby (due {due:%d %B %Y}), welcome in {programme.name}"
        if due <= first_day:
            return True, (f"{name} is due {due:%d %B %Y}, before the group starts: "
                          "record the date of birth once the baby is born")
        return False, f"{name} is not due until {due:%d %B %Y}, and {programme.name} is for babies already born"
    born = child.date_of_birth
    if born > first_day:
        return False, f"{name} was born after the group started"
    too_old_on = add_months(born, limit)
    if too_old_on <= last_day:
        words = _age_words(limit)
        if too_old_on <= today:
            return False, f"{name} is already {words}, over the age for {programme.name}"
        when = "starts" if too_old_on <= first_day else "ends"
        return False, f"{name} will be {words} before the group {when}"
    return True, f"{name} will be {_months_between(born, first_day)} months old at the first session"


def cohort_dates(cohort) -> tuple[date, date]:
    """The London dates of the cohort's first and last scheduled sessions (its start date if none)."""
    days = [to_london(s.starts_at).date() for s in cohort.sessions if s.status == "scheduled"]
    if not days:
        return cohort.start_date, cohort.start_date
    return min(days), max(days)


def check_age(parent, cohort, *, today: date) -> Eligibility:
    """The age half of the check: eligible when at least one child fits."""
    programme = cohort.programme
    first_day, last_day = cohort_dates(cohort)
    if not parent.children:
        return Eligibility(False, reasons=["No child is recorded: add the child (or the expected baby) to check "
                                           "their age"])
    results = [check_child(c, programme, first_day, last_day, today) for c in parent.children]
    if any(ok for ok, _ in results):
        return Eligibility(True, notes=[text for _, text in results])
    return Eligibility(False, reasons=[text for _, text in results])


def check_eligibility(db: Session, parent, cohort, *, now: datetime) -> Eligibility:
    """Area and age together, with every reason and note."""
    area = check_area(db, parent.postcode)
    age = check_age(parent, cohort, today=today_london(now))
    return Eligibility(area.eligible and age.eligible, reasons=area.reasons + age.reasons,
                       notes=area.notes + age.notes, ward=area.ward)


# --- importing areas ----------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did, and the rows it could not use (line number, message)."""

    rows: int = 0
    wards_created: int = 0
    postcodes_added: int = 0
    postcodes_moved: int = 0
    postcodes_unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.rows} rows: {self.wards_created} new wards, {self.postcodes_added} postcodes added, "
                f"{self.postcodes_moved} moved to another ward, {self.postcodes_unchanged} unchanged, "
                f"{len(self.errors)} rows with problems")


class AreaFileError(ValidationFailed):
    """A file that cannot be read as a ward and postcode CSV at all."""


def read_area_csv(stream: io.TextIOBase | Iterable[str]) -> Iterator[tuple[int, str, str]]:
    """Check the header now and return an iterator of (line number, ward, postcode).

    The header must name the columns ``ward`` and ``postcode`` (any order, any case; other
    columns are ignored). Line numbers are the file's, counting the header as line 1.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise AreaFileError("The file is empty: it needs a header line \"ward,postcode\"", "file") from None
    except (csv.Error, UnicodeDecodeError):
        raise AreaFileError("The file is not UTF-8 text: save it as \"CSV UTF-8\" and try again", "file") from None
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    if "ward" not in names or "postcode" not in names:
        raise AreaFileError("The first line must be the header \"ward,postcode\"", "file")
    ward_at, postcode_at = names.index("ward"), names.index("postcode")

    def rows() -> Iterator[tuple[int, str, str]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, "\0error", str(exc)
                continue
            if not any(cell.strip() for cell in row):
                continue
            ward = row[ward_at].strip() if ward_at < len(row) else ""
            postcode = row[postcode_at].strip() if postcode_at < len(row) else ""
            yield reader.line_num, ward, postcode

    return rows()


BATCH = 2000


def import_areas(db: Session, rows: Iterable[tuple[int, str, str]], *, now: datetime, actor=None) -> ImportResult:
    """Upsert wards and their postcodes from (line, ward, postcode) rows, in batches.

    Idempotent: importing the same file twice changes nothing the second time. A postcode
    already in another ward moves to the one in the file. A bad row (blank ward, not a
    postcode, the same postcode under two wards in one file) is reported with its line
    number and skipped; the rest are imported.
    """
    result = ImportResult()
    wards = {w.name.casefold(): w for w in db.scalars(sa.select(Ward))}
    seen: dict[str, tuple[str, int]] = {}
    batch: list[tuple[int, Ward, str]] = []

    def flush_batch() -> None:
        if not batch:
            return
        existing = dict(db.execute(sa.select(WardPostcode.postcode, WardPostcode.ward_id).where(
            WardPostcode.postcode.in_([p for _, _, p in batch]))).all())
        inserts, moves = [], []
        for _line, ward, postcode in batch:
            current = existing.get(postcode)
            if current is None:
                inserts.append({"postcode": postcode, "ward_id": ward.id})
            elif current != ward.id:
                moves.append({"pc": postcode, "ward": ward.id})
            else:
                result.postcodes_unchanged += 1
        if inserts:
            db.execute(sa.insert(WardPostcode), inserts)
        if moves:
            db.execute(sa.update(WardPostcode.__table__).where(WardPostcode.postcode == sa.bindparam("pc"))
                       .values(ward_id=sa.bindparam("ward")), moves)
        result.postcodes_added += len(inserts)
        result.postcodes_moved += len(moves)
        batch.clear()

    for line, ward_name, raw_postcode in rows:
        result.rows += 1
        if ward_name == "\0error":
            result.errors.append((line, f"not readable as CSV ({raw_postcode})"))
            continue
        if not ward_name:
            result.errors.append((line, "the ward is blank"))
            continue
        if len(ward_name) > 80:
            result.errors.append((line, "the ward name is longer than 80 characters"))
            continue
        postcode = normalise_postcode(raw_postcode)
        if postcode is None:
            shown = raw_postcode[:20] or "(blank)"
            result.errors.append((line, f"{shown} is not a UK postcode"))
            continue
        earlier = seen.get(postcode)
        if earlier is not None:
            if earlier[0].casefold() != ward_name.casefold():
                result.errors.append((line, f"{postcode} is already listed under {earlier[0]} on line {earlier[1]}"))
            continue
        seen[postcode] = (ward_name, line)
        ward = wards.get(ward_name.casefold())
        if ward is None:
            ward = Ward(name=ward_name, created_at=now)
            db.add(ward)
            db.flush()
            wards[ward_name.casefold()] = ward
            result.wards_created += 1
        batch.append((line, ward, postcode))
        if len(batch) >= BATCH:
            flush_batch()
    flush_batch()
    db.flush()
    record(db, "import", "Ward", actor=actor, at=now, changes={
        "rows": result.rows, "wards_created": result.wards_created, "postcodes_added": result.postcodes_added,
        "postcodes_moved": result.postcodes_moved, "errors": len(result.errors)})
    return result


def ward_overview(db: Session) -> list[tuple[Ward, int]]:
    """Every ward with how many postcodes it has, by name."""
    counts = sa.select(WardPostcode.ward_id, sa.func.count().label("n")).group_by(WardPostcode.ward_id).subquery()
    rows = db.execute(sa.select(Ward, sa.func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.ward_id == Ward.id)
                      .order_by(Ward.name)).all()
    return [(w, n) for w, n in rows]


def set_ward_eligible(db: Session, ward: Ward, eligible: bool, *, now: datetime, actor=None) -> Ward:
    """Open or close a ward to new families."""
    if ward.is_eligible != eligible:
        ward.is_eligible = eligible
        record(db, "update", ward, actor=actor, at=now, changes={"is_eligible": [not eligible, eligible]})
        db.flush()
    return ward
