"""Parents and their children: the rules for recording a family, finding duplicates and who sees whom.

Input arrives as plain dicts (from a form or the API). Every field is checked and all the
problems are raised together as one ValidationFailed naming each field, so a worker fixes
everything in one go. Children's fields are named ``children.<index>.<field>``.
"""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import events
from app.audit.services import record, record_changes
from app.errors import Conflict, NotFound, ValidationFailed
from app.parents.choices import DEMOGRAPHIC_FIELDS, LANGUAGES, label, values
from app.parents.models import Child, Parent, parent_children
from app.parents.phones import display_mobile, parse_mobile
from app.parents.postcodes import parse_postcode
from app.timeutil import today_london

#: fields a parent record takes from a form or the API (children apart)
PARENT_FIELDS = ("first_name", "last_name", "mobile", "email", "postcode", "address", "language",
                 "interpreter_needed", "sms_consent", *DEMOGRAPHIC_FIELDS, "worker_id", "centre_id")
DUE_DATE_MAX_MONTHS = 10
#: a due date this many days past is almost certainly a baby who has been born
DUE_DATE_GRACE_DAYS = 42
CHILD_MAX_YEARS = 18
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+[^@\s]*$")

DEMOGRAPHIC_LABELS = {
    "ethnicity": "Ethnicity",
    "relationship_status": "Relationship status",
    "gender": "Gender",
    "age_band": "Age",
    "first_time_parent": "First-time parent",
}


def add_months(day: date, months: int) -> date:
    """The same day-of-month `months` later (the month's last day if it has no such day)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def child_label(child: Child) -> str:
    """A child's name, or "Expected baby" for an unnamed pregnancy."""
    return child.first_name or ("Expected baby" if child.due_date else "Child")


def full_name(parent: Parent) -> str:
    """The parent's name as entered."""
    return f"{parent.first_name} {parent.last_name}".strip()


def unasked_questions(parent: Parent) -> list[str]:
    """The demographic questions still "not asked", for the nudge on the form and the parent page."""
    return [DEMOGRAPHIC_LABELS[name] for name in DEMOGRAPHIC_FIELDS if getattr(parent, name) == "not_asked"]


# --- checking input ------------------------------------------------------------------------------------------


class _Errors:
    """Collects field errors so they can be raised together."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def catch(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            for field, messages in exc.fields.items():
                for message in messages:
                    self.add(field, message)
            return None

    def raise_if_any(self) -> None:
        if self.fields:
            first = next(iter(self.fields.values()))[0]
            message = first if len(self.fields) == 1 else "Some fields are not valid: " + ", ".join(self.fields)
            raise ValidationFailed(message, fields=self.fields)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def _name(errors: _Errors, field: str, value: Any, what: str, *, required: bool = True) -> str:
    text = _text(value)
    if not text and required:
        errors.add(field, f"Enter the {what}")
    elif len(text) > 80:
        errors.add(field, f"The {what} must be 80 characters or fewer")
    elif any(unicodedata.category(ch) == "Cc" for ch in text):
        errors.add(field, f"The {what} contains characters that cannot be stored")
    return text


def _check_user(db: Session, user_id: Any) -> int | None:
    from app.auth.models import User

    if user_id in (None, ""):
        return None
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise ValidationFailed("Choose a member of staff", "worker_id")
    user = db.get(User, user_id)
    if user is None or user.role not in ("worker", "admin") or not user.is_enabled:
        raise ValidationFailed("Choose a Better Start worker or coordinator with an account", "worker_id")
    return user.id


def _check_centre(db: Session, centre_id: Any) -> int | None:
    from app.centres.models import Centre

    if centre_id in (None, ""):
        return None
    if isinstance(centre_id, bool) or not isinstance(centre_id, int) or db.get(Centre, centre_id) is None:
        raise ValidationFailed("Choose one of the children's centres", "centre_id")
    return centre_id


def clean_parent(db: Session, data: dict[str, Any], errors: _Errors) -> dict[str, Any]:
    """Checked and normalised values for the parent fields present in `data`."""
    out: dict[str, Any] = {}
    for field in ("first_name", "last_name"):
        if field in data:
            out[field] = _name(errors, field, data[field], field.replace("_", " "))
    if "mobile" in data:
        out["mobile"] = errors.catch(parse_mobile, data["mobile"], "mobile")
    if "email" in data:
        email = _text(data["email"])
        if email and (len(email) > 254 or not _EMAIL.match(email)):
            errors.add("email", "Enter an email address like name@example.com")
        out["email"] = email or None
    if "postcode" in data:
        out["postcode"] = errors.catch(parse_postcode, data["postcode"], "postcode") or ""
    if "address" in data:
        address = _text(data["address"])
        if len(address) > 300:
            errors.add("address", "The address must be 300 characters or fewer")
        out["address"] = address
    if "language" in data:
        language = _text(data["language"]) or "en"
        if language not in values(LANGUAGES):
            errors.add("language", "Choose a language from the list, or Other")
        out["language"] = language
    for flag in ("interpreter_needed", "sms_consent"):
        if flag in data:
            if not isinstance(data[flag], bool):
                errors.add(flag, "Answer yes or no")
            out[flag] = bool(data[flag])
    for field, choices in DEMOGRAPHIC_FIELDS.items():
        if field in data:
            value = _text(data[field]) or "not_asked"
            if value not in values(choices):
                errors.add(field, f"Choose one of the answers for {DEMOGRAPHIC_LABELS[field].lower()} "
                                  "(or \"Not asked\" or \"Prefer not to say\")")
            out[field] = value
    if "worker_id" in data:
        out["worker_id"] = errors.catch(_check_user, db, data["worker_id"])
    if "centre_id" in data:
        out["centre_id"] = errors.catch(_check_centre, db, data["centre_id"])
    return out


def _as_date(errors: _Errors, field: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.add(field, "Enter a real date, like 2026-05-01")
        return None


def clean_children(db: Session, children: list[dict[str, Any]], *, parent: Parent | None, today: date,
                   errors: _Errors, actor=None) -> list[dict[str, Any]]:
    """Checked children: each {"id"?, "first_name", "date_of_birth", "due_date", "child"?}.

    Date rules apply to new dates only, so an old pregnancy record does not block an edit of
    something else: a date of birth cannot be in the future or over 18 years ago; a due date
    cannot be more than 10 months away, nor more than six weeks past.
    """
    if not isinstance(children, list):
        errors.add("children", "Send a list of children")
        return []
    own = {c.id: c for c in (parent.children if parent is not None else [])}
    out = []
    seen_ids: set[int] = set()
    for i, spec in enumerate(children):
        prefix = f"children.{i}."
        if not isinstance(spec, dict):
            errors.add(f"children.{i}", "Each child needs a first name and a date of birth or due date")
            continue
        existing = None
        child_id = spec.get("id")
        if child_id is not None:
            if isinstance(child_id, bool) or not isinstance(child_id, int):
                errors.add(prefix + "id", "Not a child of this family")
                continue
            existing = own.get(child_id) or _linkable_child(db, child_id, actor)
            if existing is None or child_id in seen_ids:
                errors.add(prefix + "id", "Not a child of this family")
                continue
            seen_ids.add(child_id)
        dob = _as_date(errors, prefix + "date_of_birth", spec.get("date_of_birth")) \
            if "date_of_birth" in spec or existing is None else existing.date_of_birth
        due = _as_date(errors, prefix + "due_date", spec.get("due_date")) \
            if "due_date" in spec or existing is None else existing.due_date
        if "date_of_birth" in spec and "due_date" not in spec and dob and existing is not None:
            due = None  # a birth replaces the due date
        name_required = due is None
        name = _name(errors, prefix + "first_name", spec.get("first_name", existing.first_name if existing else ""),
                     "child's first name", required=name_required) \
            if "first_name" in spec or existing is None else existing.first_name
        bad_date = any(k in errors.fields for k in (prefix + "date_of_birth", prefix + "due_date"))
        if not bad_date:
            if dob and due:
                errors.add(prefix + "due_date", "Enter a date of birth or a due date, not both")
            elif not dob and not due:
                errors.add(prefix + "date_of_birth",
                           "Enter the child's date of birth, or the due date if the baby is not born yet")
            elif dob and (existing is None or dob != existing.date_of_birth):
                if dob > today:
                    errors.add(prefix + "date_of_birth", "The date of birth must be today or in the past")
                elif dob < add_months(today, -12 * CHILD_MAX_YEARS):
                    errors.add(prefix + "date_of_birth", "The date of birth must be within the last 18 years")
            elif due and (existing is None or due != existing.due_date):
                if due > add_months(today, DUE_DATE_MAX_MONTHS):
                    errors.add(prefix + "due_date", "The due date must be within 10 months from today")
                elif (today - due).days > DUE_DATE_GRACE_DAYS:
                    errors.add(prefix + "due_date",
                               "That due date has passed: if the baby has been born, enter the date of birth instead")
        out.append({"id": child_id, "child": existing, "first_name": name, "date_of_birth": dob, "due_date": due})
    return out


def _linkable_child(db: Session, child_id: int, actor) -> Child | None:
    """A child of another family the actor can see, to record a second carer for them."""
    child = db.get(Child, child_id)
    if child is None:
        return None
    visible = visible_parents(actor).with_only_columns(Parent.id)
    if not any(db.scalar(visible.where(Parent.id == carer.id)) for carer in child.carers):
        return None
    return child


# --- duplicates ------------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Names compared the way people mean them: case, accents and spacing do not matter."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


@dataclass
class DuplicateMatch:
    """An existing parent who looks like the one being entered, and why."""

    parent: Parent
    reason: str


def find_duplicates(db: Session, *, mobile: str | None, first_name: str, last_name: str,
                    child_dates: Iterable[date], exclude_id: int | None = None) -> list[DuplicateMatch]:
    """Parents with the same mobile, or the same name and a child with the same date of birth."""
    matches: dict[int, DuplicateMatch] = {}
    if mobile:
        for parent in db.scalars(sa.select(Parent).where(Parent.mobile == mobile, Parent.erased_at.is_(None))
                                 .order_by(Parent.id)):
            if parent.id != exclude_id:
                matches[parent.id] = DuplicateMatch(parent, "the same mobile number")
    dates = sorted({d for d in child_dates if d})
    if dates and first_name and last_name:
        wanted = (_fold(first_name), _fold(last_name))
        candidates = db.scalars(
            sa.select(Parent).join(parent_children, parent_children.c.parent_id == Parent.id)
            .join(Child, Child.id == parent_children.c.child_id)
            .where(Child.date_of_birth.in_(dates), Parent.erased_at.is_(None)).distinct().order_by(Parent.id))
        for parent in candidates:
            if parent.id != exclude_id and parent.id not in matches \
                    and (_fold(parent.first_name), _fold(parent.last_name)) == wanted:
                matches[parent.id] = DuplicateMatch(parent, "the same name and a child with the same date of birth")
    return list(matches.values())


class DuplicateParent(Conflict):
    """The parent looks like one already recorded; `matches` are the existing records."""

    code = "duplicate"

    def __init__(self, matches: list[DuplicateMatch]):
        ids = ", ".join(str(m.parent.id) for m in matches)
        first = matches[0]
        field = "mobile" if first.reason.startswith("the same mobile") else "first_name"
        super().__init__(
            f"This family may already be recorded: parent {ids} has {first.reason}. Use that record, or send "
            "\"allow_duplicate\": true if this really is a different person.", field)
        self.matches = matches


# --- who may see whom -------------------------------------------------------------------------------------------


def visible_parents(user) -> sa.Select:
    """The parents a user may see: coordinators all; workers their centres' families and their own."""
    from app.auth.permissions import is_admin
    from app.staff.models import StaffCentre

    query = sa.select(Parent).where(Parent.erased_at.is_(None))
    if user is None or is_admin(user):
        return query
    centres = sa.select(StaffCentre.centre_id).where(StaffCentre.user_id == user.id)
    return query.where(sa.or_(Parent.worker_id == user.id, Parent.centre_id.in_(centres)))


def can_see(db: Session, user, parent: Parent) -> bool:
    """True when the parent is one of the user's families."""
    return db.scalar(visible_parents(user).where(Parent.id == parent.id).with_only_columns(Parent.id)) is not None


def get_parent(db: Session, parent_id: int, user) -> Parent:
    """The parent if this user may see them; NotFound otherwise (no hint that they exist)."""
    parent = db.scalar(visible_parents(user).where(Parent.id == parent_id))
    if parent is None:
        raise NotFound("There is no such family, or it is not one of yours.", "parent_id")
    return parent


def search_parents(db: Session, user, text: str = "", *, limit: int = 200) -> list[Parent]:
    """A user's families, most recently changed first; `text` matches names, mobile or postcode."""
    query = visible_parents(user)
    text = (text or "").strip()[:80]
    if text:
        like = f"%{text.lower()}%"
        digits = re.sub(r"\D", "", text)
        conditions = [sa.func.lower(Parent.first_name).like(like), sa.func.lower(Parent.last_name).like(like),
                      sa.func.lower(sa.func.replace(Parent.postcode, " ", "")).like(f"%{text.lower().replace(' ', '')}%"),
                      sa.func.lower(Parent.first_name + " " + Parent.last_name).like(like)]
        if len(digits) >= 4:
            conditions.append(Parent.mobile.like(f"%{digits.lstrip('0')}%"))
        query = query.where(sa.or_(*conditions))
    return list(db.scalars(query.order_by(Parent.updated_at.desc(), Parent.id.desc()).limit(limit)))


# --- writing ---------------------------------------------------------------------------------------------------


def _apply_children(db: Session, parent: Parent, cleaned: list[dict[str, Any]], *, replace: bool, now: datetime,
                    actor) -> None:
    """Create, update, link and (when replacing the list) unlink children, auditing each."""
    keep: set[int] = set()
    for spec in cleaned:
        child = spec["child"]
        values_ = {"first_name": spec["first_name"], "date_of_birth": spec["date_of_birth"],
                   "due_date": spec["due_date"]}
        if child is None:
            child = Child(**values_)
            parent.children.append(child)
            db.flush()
            record(db, "create", child, actor=actor, parent_id=parent.id, at=now, changes=values_)
        else:
            for key, value in values_.items():
                setattr(child, key, value)
            record_changes(db, child, actor=actor, parent_id=parent.id, at=now)
            if child not in parent.children:
                parent.children.append(child)  # a second carer for the same child
                record(db, "link", child, actor=actor, parent_id=parent.id, at=now)
        keep.add(child.id)
    unlinked = []
    if replace:
        for child in list(parent.children):
            if child.id not in keep:
                parent.children.remove(child)
                unlinked.append(child)
                record(db, "unlink", child, actor=actor, parent_id=parent.id, at=now)
    db.flush()
    _delete_orphans(db, unlinked, parent_id=parent.id, now=now, actor=actor)


def _delete_orphans(db: Session, children: list[Child], *, parent_id: int, now: datetime, actor) -> None:
    """A child unlinked from their last carer, with no crèche history, is deleted (data minimisation)."""
    from app.enrolment.models import CrecheBooking

    for child in children:
        has_carer = db.scalar(sa.select(parent_children.c.parent_id).where(parent_children.c.child_id == child.id)
                              .limit(1))
        has_bookings = db.scalar(sa.select(CrecheBooking.id).where(CrecheBooking.child_id == child.id).limit(1))
        if has_carer is None and has_bookings is None:
            record(db, "delete", child, actor=actor, parent_id=parent_id, at=now)
            db.delete(child)
    db.flush()


def _set_consent(parent: Parent, consent: bool, *, now: datetime, actor) -> None:
    parent.sms_consent = consent
    parent.sms_consent_at = now
    parent.sms_consent_by_id = getattr(actor, "id", None)


def create_parent(db: Session, data: dict[str, Any], *, now: datetime, actor, allow_duplicate: bool = False,
                  default_worker: bool = True) -> Parent:
    """Record a new parent and their children.

    Raises ValidationFailed naming every bad field, and DuplicateParent (409) when the mobile,
    or the name and a child's date of birth, match someone already recorded, unless
    `allow_duplicate`. A worker who enters a family becomes its worker unless one is given.
    """
    errors = _Errors()
    fields = clean_parent(db, {k: v for k, v in data.items() if k in PARENT_FIELDS}, errors)
    for required in ("first_name", "last_name"):
        if required not in data:
            errors.add(required, f"Enter the {required.replace('_', ' ')}")
    children = clean_children(db, data.get("children") or [], parent=None, today=today_london(now), errors=errors,
                              actor=actor)
    errors.raise_if_any()
    if not allow_duplicate:
        matches = find_duplicates(db, mobile=fields.get("mobile"), first_name=fields["first_name"],
                                  last_name=fields["last_name"],
                                  child_dates=[c["date_of_birth"] for c in children])
        if matches:
            raise DuplicateParent(matches)
    consent = fields.pop("sms_consent", False)
    if default_worker and fields.get("worker_id") is None and getattr(actor, "role", None) == "worker":
        fields["worker_id"] = actor.id
    parent = Parent(**fields)
    if consent:
        _set_consent(parent, True, now=now, actor=actor)
    db.add(parent)
    db.flush()
    record(db, "create", parent, actor=actor, parent_id=parent.id, at=now,
           changes=fields | {"sms_consent": consent})
    _apply_children(db, parent, children, replace=False, now=now, actor=actor)
    return parent


def update_parent(db: Session, parent: Parent, data: dict[str, Any], *, now: datetime, actor,
                  allow_duplicate: bool = False) -> Parent:
    """Change the fields present in `data`; a "children" list replaces the family's list of children.

    Children are matched by "id"; those left out are unlinked from this parent (and deleted
    when no one else cares for them and they have no crèche history). Changing SMS consent
    records when and by whom, and sends ``sms_consent_changed``.
    """
    errors = _Errors()
    fields = clean_parent(db, {k: v for k, v in data.items() if k in PARENT_FIELDS}, errors)
    children = None
    if "children" in data:
        children = clean_children(db, data["children"] if data["children"] is not None else [], parent=parent,
                                  today=today_london(now), errors=errors, actor=actor)
    errors.raise_if_any()
    if not allow_duplicate:
        new_dates = [c["date_of_birth"] for c in children] if children is not None else \
            [c.date_of_birth for c in parent.children]
        mobile = fields.get("mobile") if "mobile" in fields and fields["mobile"] != parent.mobile else None
        name_changed = any(k in fields and fields[k] != getattr(parent, k) for k in ("first_name", "last_name"))
        dates_changed = children is not None and set(new_dates) != {c.date_of_birth for c in parent.children}
        if mobile or name_changed or dates_changed:
            matches = find_duplicates(
                db, mobile=mobile, first_name=fields.get("first_name", parent.first_name),
                last_name=fields.get("last_name", parent.last_name),
                child_dates=new_dates if (name_changed or dates_changed) else [], exclude_id=parent.id)
            if matches:
                raise DuplicateParent(matches)
    consent_changed = "sms_consent" in fields and fields["sms_consent"] != parent.sms_consent
    consent = fields.pop("sms_consent", parent.sms_consent)
    if "mobile" in fields and fields["mobile"] != parent.mobile:
        parent.mobile_problem = None  # a new number deserves a fresh try
    for key, value in fields.items():
        setattr(parent, key, value)
    if consent_changed:
        _set_consent(parent, consent, now=now, actor=actor)
    record_changes(db, parent, actor=actor, parent_id=parent.id, at=now)
    db.flush()
    if children is not None:
        _apply_children(db, parent, children, replace=True, now=now, actor=actor)
    if consent_changed:
        events.sms_consent_changed.send(parent, opted_out=not consent, now=now, actor=actor)
    return parent


def parent_summary(parent: Parent) -> dict[str, Any]:
    """Labels for showing a parent: mobile as written, language and demographic answers."""
    out = {"mobile": display_mobile(parent.mobile), "language": label(LANGUAGES, parent.language)}
    for field, choices in DEMOGRAPHIC_FIELDS.items():
        out[field] = label(choices, getattr(parent, field))
    return out
