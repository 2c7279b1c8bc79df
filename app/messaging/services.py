"""The SMS outbox rules: which messages should exist, their wording, quiet hours, opt-out, replies.

The outbox is computed from the schedule. Each message has a dedupe key naming its purpose
(e.g. ``reminder:s12:p4:2d1000:v0`` = the 10:00 two-days-before reminder of session 12 for
parent 4, for version 0 of the session's time), and the database refuses a second row with
the same key. ``reconcile`` recomputes what should be queued from sessions and enrolments
and makes the outbox agree, so nothing depends on an event having fired; the event receivers
(receivers.py) call the same functions at once, in the sender's transaction.

Status changes that race with the scheduler (cancel, move) are conditional UPDATEs on
``status = 'queued'``: a row already claimed for sending is never rewritten.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from app.audit.services import record, record_changes
from app.errors import NotFound
from app.messaging import templates as wording
from app.messaging.models import STATUS_RANK, InboundMessage, OutboxMessage, SmsTemplate
from app.timeutil import LONDON, UTC, LocalTimeError, london, to_london, today_london

#: nothing leaves between these London times; it waits until QUIET_UNTIL
QUIET_FROM = time(20, 0)
QUIET_UNTIL = time(8, 0)
#: how far ahead the periodic reconcile looks for sessions
HORIZON = timedelta(days=8)
#: a reminder whose time passed longer ago than this is not created (a queued one still goes)
LATE_GRACE = timedelta(hours=2)
#: "we missed you" goes this long after the session ends
MISSED_YOU_DELAY = timedelta(hours=1)
#: and not at all for a session that ended longer ago than this
MISSED_YOU_WINDOW = timedelta(hours=24)

#: kinds tied to one session that make no sense once it has started
SESSION_KINDS = ("reminder", "session_moved", "session_added")
#: the keys of the reminders this module computes (it never rewrites rows it did not make)
REMINDER_KEYS = "reminder:s%:p%:v%"
#: a confirmation that was never queued is still sent if the enrolment is at most this old
CONFIRMATION_WINDOW = timedelta(days=7)
#: kinds about a whole group that make no sense once it has no sessions left
COHORT_KINDS = ("confirmation", "waitlisted", "waitlist_promoted")


# --- time -------------------------------------------------------------------------------------

def in_quiet_hours(moment: datetime) -> bool:
    """True between 20:00 and 08:00 London time."""
    local = to_london(moment).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def after_quiet_hours(moment: datetime) -> datetime:
    """The moment itself, or 08:00 London time when it falls in quiet hours."""
    local = to_london(moment)
    if local.time() >= QUIET_FROM:
        day = local.date() + timedelta(days=1)
    elif local.time() < QUIET_UNTIL:
        day = local.date()
    else:
        return moment
    return london(datetime.combine(day, QUIET_UNTIL)).astimezone(UTC)


def _local_instant(day, at: time) -> datetime:
    """A London wall-clock time as UTC; a time the clocks skip or repeat takes its first instant."""
    try:
        return london(datetime.combine(day, at)).astimezone(UTC)
    except LocalTimeError:
        return datetime.combine(day, at).replace(tzinfo=LONDON, fold=0).astimezone(UTC)


# --- wording ----------------------------------------------------------------------------------

class Wordings:
    """Template bodies for this pass: a coordinator's saved wording, else the default; English as a fallback."""

    def __init__(self, db: Session):
        self.db = db
        self._saved: dict[tuple[str, str], str] | None = None

    def _load(self) -> dict[tuple[str, str], str]:
        if self._saved is None:
            self._saved = {(t.kind, t.language): t.body for t in self.db.scalars(sa.select(SmsTemplate))}
        return self._saved

    def body(self, kind: str, language: str) -> tuple[str, str]:
        """(wording, the language it is in) for a kind and a parent's language."""
        saved = self._load()
        for lang in dict.fromkeys((wording.language_for(language), "en")):
            if (kind, lang) in saved:
                return saved[(kind, lang)], lang
            default = wording.default_body(kind, lang)
            if default:
                return default, lang
        raise LookupError(kind)

    def render(self, kind: str, language: str, values: dict[str, str]) -> tuple[str, str]:
        text, lang = self.body(kind, language)
        return wording.render(text, values), lang


def effective_wording(db: Session, kind: str, language: str) -> tuple[str, bool]:
    """The wording used for a kind in a language, and whether a coordinator changed it."""
    saved = db.scalar(sa.select(SmsTemplate).where(SmsTemplate.kind == kind, SmsTemplate.language == language))
    if saved is not None:
        return saved.body, True
    return wording.default_body(kind, language) or "", False


def save_wording(db: Session, kind: str, language: str, body: str, *, now: datetime, actor) -> SmsTemplate:
    """Save a coordinator's wording; refuses unknown placeholders and indiscreet words (field 'body')."""
    _check_kind_language(kind, language)
    body = wording.check_wording(kind, body)
    template = db.scalar(sa.select(SmsTemplate).where(SmsTemplate.kind == kind, SmsTemplate.language == language))
    if template is None:
        template = SmsTemplate(kind=kind, language=language, body=body, updated_by_id=getattr(actor, "id", None))
        db.add(template)
        db.flush()
        record(db, "create", template, actor=actor, changes={"kind": kind, "language": language}, at=now)
    else:
        template.body = body
        template.updated_by_id = getattr(actor, "id", None)
        record_changes(db, template, actor=actor, at=now)
        db.flush()
    return template


def reset_wording(db: Session, kind: str, language: str, *, now: datetime, actor) -> bool:
    """Go back to the default wording; True if there was a saved one."""
    _check_kind_language(kind, language)
    template = db.scalar(sa.select(SmsTemplate).where(SmsTemplate.kind == kind, SmsTemplate.language == language))
    if template is None:
        return False
    record(db, "delete", template, actor=actor, changes={"kind": kind, "language": language}, at=now)
    db.delete(template)
    db.flush()
    return True


def _check_kind_language(kind: str, language: str) -> None:
    if kind not in wording.KIND_PLACEHOLDERS:
        raise NotFound("No such kind of message", "kind")
    if language not in wording.LANGUAGES:
        raise NotFound("No wording in that language", "language")


def calendar_link(db: Session, parent, *, now: datetime) -> str:
    """The parent's private calendar feed URL (from the calendar feature), or '' while it is not installed."""
    try:
        from app.calendar.services import parent_feed_url
    except ImportError:
        return ""
    return parent_feed_url(db, parent, now=now)


def _values(recipient, cohort, session=None, language: str = "en", **extra: str) -> dict[str, str]:
    first_name = getattr(recipient, "first_name", None)
    if first_name is None:  # a member of staff
        first_name = (getattr(recipient, "full_name", "") or "").split(" ")[0] or "there"
    values = {"first_name": first_name, "group": cohort.programme.public_name, "centre": cohort.centre.name}
    if session is not None:
        values["day"] = wording.format_day(session.starts_at, language)
        values["time"] = wording.format_time(session.starts_at)
    values.update(extra)
    return values


# --- the outbox engine ------------------------------------------------------------------------

@dataclass
class Planned:
    """A message that should exist."""

    kind: str
    key: str
    send_after: datetime
    body: str
    to_number: str
    language: str = "en"
    parent_id: int | None = None
    user_id: int | None = None
    cohort_id: int | None = None
    session_id: int | None = None
    enrolment_id: int | None = None
    #: false when it is too late to create it now (an existing queued row is kept)
    creatable: bool = True

    @property
    def slot(self) -> str:
        return _slot(self.key)

    def row(self) -> dict:
        return {"kind": self.kind, "dedupe_key": self.key, "send_after": self.send_after, "body": self.body,
                "to_number": self.to_number, "language": self.language, "parent_id": self.parent_id,
                "user_id": self.user_id, "cohort_id": self.cohort_id, "session_id": self.session_id,
                "enrolment_id": self.enrolment_id, "status": "queued", "attempts": 0}


def _slot(key: str) -> str:
    """A key without its version suffix: the same reminder before and after its session moved."""
    return key.rsplit(":v", 1)[0]


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _update_if(db: Session, row_id: int, expected: str, **values) -> bool:
    """Change a row only if it still has the expected status (a claimed row is never rewritten)."""
    result = db.execute(sa.update(OutboxMessage)
                        .where(OutboxMessage.id == row_id, OutboxMessage.status == expected)
                        .values(**values).execution_options(synchronize_session="fetch"))
    return result.rowcount == 1


def _insert(db: Session, planned: list[Planned]) -> None:
    """Insert rows, silently skipping keys another transaction inserted first."""
    if not planned:
        return
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])
    for chunk in _chunks([p.row() for p in planned]):
        db.execute(stmt, chunk)


def cancel_pending(db: Session, *where, reason: str) -> int:
    """Cancel queued messages matching conditions; in-flight ones are left alone."""
    result = db.execute(sa.update(OutboxMessage).where(OutboxMessage.status == "queued", *where)
                        .values(status="cancelled", last_error=reason[:300])
                        .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def sync(db: Session, planned: list[Planned], scope=None, *, reason: str = "no longer needed") -> Counter:
    """Make the outbox agree with `planned`; queued rows matching `scope` that are not planned are cancelled.

    A planned key that exists is updated if still queued (new time or wording) or revived if it
    was cancelled and is wanted again; a queued row of the same slot with an older version (the
    session moved) is moved to the new key; anything else is inserted.
    """
    counts: Counter = Counter()
    planned_keys = {p.key for p in planned}
    existing: dict[str, OutboxMessage] = {}
    for chunk in _chunks(sorted(planned_keys)):
        for row in db.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.in_(chunk))):
            existing[row.dedupe_key] = row
    movable: dict[str, list[OutboxMessage]] = {}
    if scope is not None:
        for row in db.scalars(sa.select(OutboxMessage).where(scope, OutboxMessage.status == "queued")
                              .order_by(OutboxMessage.id)):
            if row.dedupe_key not in planned_keys:
                movable.setdefault(_slot(row.dedupe_key), []).append(row)
    inserts: list[Planned] = []
    for p in planned:
        row = existing.get(p.key)
        content = {"send_after": p.send_after, "body": p.body, "to_number": p.to_number, "language": p.language}
        if row is not None:
            if row.status == "queued" and any(getattr(row, k) != v for k, v in content.items()):
                counts["updated"] += _update_if(db, row.id, "queued", **content)
            elif row.status == "cancelled" and p.creatable:
                counts["revived"] += _update_if(db, row.id, "cancelled", status="queued", last_error=None, **content)
            continue
        candidates = movable.get(p.slot)
        if candidates:
            old = candidates.pop(0)
            if _update_if(db, old.id, "queued", dedupe_key=p.key, session_id=p.session_id, **content):
                counts["moved"] += 1
                continue
        if p.creatable:
            inserts.append(p)
    leftovers = [row.id for rows in movable.values() for row in rows]
    for chunk in _chunks(leftovers):
        counts["cancelled"] += cancel_pending(db, OutboxMessage.id.in_(chunk), reason=reason)
    _insert(db, inserts)
    counts["queued"] += len(inserts)
    return counts


# --- what should be queued --------------------------------------------------------------------

def _reminder_times(session, rule) -> datetime | None:
    """When a reminder rule fires for a session (quiet hours applied), or None if only after it starts."""
    local_day = to_london(session.starts_at).date() - timedelta(days=rule.days_before)
    send_at = after_quiet_hours(_local_instant(local_day, rule.at))
    return send_at if send_at < session.starts_at else None


def plan_reminders(enrolment, sessions, wordings: Wordings, *, now: datetime) -> list[Planned]:
    """The reminders an enrolment should get for some of its cohort's sessions."""
    parent = enrolment.parent
    if enrolment.status != "enrolled" or not parent.can_receive_sms:
        return []
    cohort = enrolment.cohort
    out = []
    for session in sessions:
        if session.status != "scheduled" or session.starts_at <= now:
            continue
        for rule in cohort.programme.reminders:
            send_after = _reminder_times(session, rule)
            if send_after is None:
                continue
            body, lang = wordings.render("reminder", parent.language,
                                         _values(parent, cohort, session, wording.language_for(parent.language)))
            out.append(Planned(
                kind="reminder",
                key=f"reminder:s{session.id}:p{parent.id}:{rule.days_before}d{rule.at:%H%M}:v{session.sequence}",
                send_after=send_after, body=body, to_number=parent.mobile, language=lang, parent_id=parent.id,
                cohort_id=cohort.id, session_id=session.id, enrolment_id=enrolment.id,
                creatable=send_after >= now - LATE_GRACE))
    return out


def sync_enrolment(db: Session, enrolment, *, now: datetime, wordings: Wordings | None = None) -> Counter:
    """Queue (or cancel) every future reminder of one enrolment."""
    wordings = wordings or Wordings(db)
    planned = plan_reminders(enrolment, enrolment.cohort.sessions, wordings, now=now)
    scope = sa.and_(OutboxMessage.enrolment_id == enrolment.id, OutboxMessage.kind == "reminder",
                    OutboxMessage.dedupe_key.like(REMINDER_KEYS))
    return sync(db, planned, scope, reason="no longer enrolled or cannot receive texts")


def _enrolled(db: Session, cohort_ids: Iterable[int]) -> dict[int, list]:
    from app.enrolment.models import Enrolment

    ids = sorted(set(cohort_ids))
    out: dict[int, list] = {i: [] for i in ids}
    for chunk in _chunks(ids):
        for e in db.scalars(sa.select(Enrolment).where(Enrolment.cohort_id.in_(chunk), Enrolment.status == "enrolled")
                            .options(selectinload(Enrolment.parent)).order_by(Enrolment.id)):
            out[e.cohort_id].append(e)
    return out


def sync_sessions(db: Session, sessions: list, *, now: datetime, wordings: Wordings | None = None) -> Counter:
    """Queue, move or cancel the reminders of some sessions for everyone enrolled in their cohorts."""
    wordings = wordings or Wordings(db)
    enrolled = _enrolled(db, [s.cohort_id for s in sessions])
    planned: list[Planned] = []
    for session in sessions:
        for enrolment in enrolled.get(session.cohort_id, []):
            planned.extend(plan_reminders(enrolment, [session], wordings, now=now))
    counts: Counter = Counter()
    for chunk in _chunks([s.id for s in sessions]):
        ids = set(chunk)
        scope = sa.and_(OutboxMessage.session_id.in_(chunk), OutboxMessage.kind == "reminder",
                        OutboxMessage.dedupe_key.like(REMINDER_KEYS))
        counts.update(sync(db, [p for p in planned if p.session_id in ids], scope,
                           reason="session moved or cancelled, or parent no longer enrolled"))
    return counts


def queue_enrolment_message(db: Session, enrolment, kind: str, *, now: datetime,
                            wordings: Wordings | None = None) -> Counter:
    """Queue a confirmation, waiting-list or place-offered text for an enrolment (once)."""
    parent = enrolment.parent
    cohort = enrolment.cohort
    if not parent.can_receive_sms or cohort.status != "active":
        return Counter()
    upcoming = [s for s in cohort.sessions if s.status == "scheduled" and s.starts_at > now]
    if not upcoming:
        return Counter()
    wordings = wordings or Wordings(db)
    lang = wording.language_for(parent.language)
    extra = {}
    if "calendar_link" in wording.KIND_PLACEHOLDERS[kind]:
        extra["calendar_link"] = calendar_link(db, parent, now=now)
    body, lang = wordings.render(kind, parent.language, _values(parent, cohort, upcoming[0], lang, **extra))
    planned = Planned(kind=kind, key=f"{kind}:e{enrolment.id}", send_after=after_quiet_hours(now), body=body,
                      to_number=parent.mobile, language=lang, parent_id=parent.id, cohort_id=cohort.id,
                      enrolment_id=enrolment.id)
    existing = db.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == planned.key))
    if existing is not None:
        return Counter()  # sent or queued already: never a second confirmation
    return sync(db, [planned])


def queue_for_enrolment(db: Session, enrolment, *, now: datetime) -> Counter:
    """Everything an enrolment should get from now on: its confirmation (or waiting-list text) and reminders."""
    wordings = Wordings(db)
    counts: Counter = Counter()
    if enrolment.status == "enrolled":
        counts.update(queue_enrolment_message(db, enrolment, "confirmation", now=now, wordings=wordings))
        cancel_pending(db, OutboxMessage.enrolment_id == enrolment.id, OutboxMessage.kind == "waitlisted",
                       reason="now has a place")
    elif enrolment.status == "waitlisted":
        counts.update(queue_enrolment_message(db, enrolment, "waitlisted", now=now, wordings=wordings))
    counts.update(sync_enrolment(db, enrolment, now=now, wordings=wordings))
    return counts


def queue_promotion(db: Session, enrolment, *, now: datetime) -> Counter:
    """A place offered from the waiting list: tell the parent and queue their reminders."""
    wordings = Wordings(db)
    counts = Counter()
    cancel_pending(db, OutboxMessage.enrolment_id == enrolment.id, OutboxMessage.kind == "waitlisted",
                   reason="now has a place")
    if db.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == f"confirmation:e{enrolment.id}")) is None:
        counts.update(queue_enrolment_message(db, enrolment, "waitlist_promoted", now=now, wordings=wordings))
    counts.update(sync_enrolment(db, enrolment, now=now, wordings=wordings))
    return counts


def cancel_for_enrolment(db: Session, enrolment, *, reason: str) -> int:
    """Cancel everything still queued for an enrolment (withdrawn, transferred)."""
    return cancel_pending(db, OutboxMessage.enrolment_id == enrolment.id, reason=reason)


CHANGE_NOTICES = {"moved": "session_moved", "cancelled": "session_cancelled", "catch_up_added": "session_added",
                  "cohort_cancelled": "cohort_cancelled"}


def notify_schedule_change(db: Session, change, *, now: datetime) -> Counter:
    """Queue notices for a schedule change, move or cancel its reminders, and mark it notified."""
    from app.cohorts.models import Cohort, CohortSession

    counts: Counter = Counter()
    if change.notified_at is not None:
        return counts
    cohort = db.get(Cohort, change.cohort_id)
    session = db.get(CohortSession, change.session_id) if change.session_id else None
    kind = CHANGE_NOTICES.get(change.kind)
    wordings = Wordings(db)
    if cohort is not None and kind:
        relevant = session.starts_at > now if session is not None else any(
            s.starts_at > now for s in cohort.sessions)
        if change.kind == "moved" and change.old_starts_at is not None and session is not None:
            relevant = max(change.old_starts_at, session.starts_at) > now
        if relevant:
            planned = []
            for enrolment in _enrolled(db, [cohort.id])[cohort.id]:
                parent = enrolment.parent
                if not parent.can_receive_sms:
                    continue
                lang = wording.language_for(parent.language)
                extra = {}
                if change.kind == "moved" and change.old_starts_at is not None:
                    extra = {"old_day": wording.format_day(change.old_starts_at, lang),
                             "old_time": wording.format_time(change.old_starts_at)}
                body, lang = wordings.render(kind, parent.language, _values(parent, cohort, session, lang, **extra))
                planned.append(Planned(kind=kind, key=f"{kind}:c{change.id}:p{parent.id}",
                                       send_after=after_quiet_hours(now), body=body, to_number=parent.mobile,
                                       language=lang, parent_id=parent.id, cohort_id=cohort.id,
                                       session_id=session.id if session else None, enrolment_id=enrolment.id))
            counts.update(sync(db, planned))
    if change.kind == "cohort_cancelled":
        counts["cancelled"] += cancel_pending(db, OutboxMessage.cohort_id == change.cohort_id,
                                              OutboxMessage.kind != "cohort_cancelled", reason="group cancelled")
    elif session is not None:
        counts.update(sync_sessions(db, [session], now=now, wordings=wordings))
    change.notified_at = now
    db.flush()
    return counts


def queue_missed_you(db: Session, mark, *, now: datetime) -> Counter:
    """A warm text after a missed session (if the programme wants one); cancelled if the mark changes."""
    from app.cohorts.models import CohortSession
    from app.enrolment.models import Enrolment

    session = db.get(CohortSession, mark.session_id)
    enrolment = db.get(Enrolment, mark.enrolment_id)
    if session is None or enrolment is None:
        return Counter()
    key = f"missed_you:s{session.id}:p{enrolment.parent_id}"
    if mark.status != "absent":
        return Counter(cancelled=cancel_pending(db, OutboxMessage.dedupe_key == key, reason="attendance changed"))
    parent, cohort = enrolment.parent, enrolment.cohort
    if (not cohort.programme.missed_you or enrolment.status != "enrolled" or not parent.can_receive_sms
            or session.ends_at < now - MISSED_YOU_WINDOW):
        return Counter()
    send_after = after_quiet_hours(max(now, session.ends_at + MISSED_YOU_DELAY))
    lang = wording.language_for(parent.language)
    body, lang = Wordings(db).render("missed_you", parent.language, _values(parent, cohort, session, lang))
    return sync(db, [Planned(kind="missed_you", key=key, send_after=send_after, body=body, to_number=parent.mobile,
                             language=lang, parent_id=parent.id, cohort_id=cohort.id, session_id=session.id,
                             enrolment_id=enrolment.id)])


def queue_rota_notices(db: Session, session, user_ids: Iterable[int], *, now: datetime) -> Counter:
    """Tell staff with a mobile that their rota for a session changed (one pending notice each at most)."""
    from app.auth.models import User

    counts: Counter = Counter()
    if session.starts_at <= now:
        return counts
    wordings = Wordings(db)
    planned = []
    for user_id in sorted(set(user_ids)):
        user = db.get(User, user_id)
        if user is None or not user.is_enabled or not user.mobile:
            continue
        pending = db.scalar(sa.select(OutboxMessage.id).where(
            OutboxMessage.kind == "rota_changed", OutboxMessage.session_id == session.id,
            OutboxMessage.user_id == user.id, OutboxMessage.status == "queued"))
        if pending is not None:
            continue  # the queued notice already says "check your rota"
        body, lang = wordings.render("rota_changed", "en", _values(user, session.cohort, session))
        planned.append(Planned(kind="rota_changed", key=f"rota_changed:s{session.id}:u{user.id}:{now:%Y%m%d%H%M%S%f}",
                               send_after=after_quiet_hours(now), body=body, to_number=user.mobile, language=lang,
                               user_id=user.id, cohort_id=session.cohort_id, session_id=session.id))
    return sync(db, planned)


def sync_parent(db: Session, parent, *, now: datetime) -> Counter:
    """After consent or opt-out changed: cancel everything, or bring the reminders back."""
    from app.enrolment.models import Enrolment

    if not parent.can_receive_sms:
        return Counter(cancelled=cancel_pending(db, OutboxMessage.parent_id == parent.id,
                                                reason="parent cannot receive texts (opted out, no consent or number)"))
    counts: Counter = Counter()
    wordings = Wordings(db)
    for enrolment in db.scalars(sa.select(Enrolment).where(Enrolment.parent_id == parent.id,
                                                          Enrolment.status == "enrolled")):
        counts.update(sync_enrolment(db, enrolment, now=now, wordings=wordings))
    return counts


# --- the periodic reconcile -------------------------------------------------------------------

def reconcile(db: Session, *, now: datetime) -> Counter:
    """Make the outbox agree with the schedule near `now`, whatever events did or did not fire."""
    from app.attendance.models import AttendanceMark
    from app.cohorts.models import Cohort, CohortSession, ScheduleChange
    from app.enrolment.models import Enrolment
    from app.parents.models import Parent

    counts: Counter = Counter()
    # 1. schedule changes nobody has told the parents about yet
    for change in db.scalars(sa.select(ScheduleChange).where(ScheduleChange.notified_at.is_(None),
                                                              ScheduleChange.kind != "created")
                             .order_by(ScheduleChange.id).limit(500)):
        counts.update(notify_schedule_change(db, change, now=now))

    wordings = Wordings(db)
    # 2. reminders of sessions in the horizon, and of any session with a reminder due soon
    horizon_end = now + HORIZON + timedelta(days=max(
        [r.days_before for r in _all_reminder_rules()] or [0]) + 1)
    session_ids = set(db.scalars(sa.select(CohortSession.id).where(
        CohortSession.status == "scheduled", CohortSession.starts_at > now, CohortSession.starts_at <= horizon_end)))
    session_ids |= set(db.scalars(sa.select(OutboxMessage.session_id).where(
        OutboxMessage.kind == "reminder", OutboxMessage.status == "queued", OutboxMessage.dedupe_key.like(REMINDER_KEYS),
        OutboxMessage.send_after <= now + HORIZON).distinct()))
    session_ids.discard(None)
    sessions = []
    for chunk in _chunks(sorted(session_ids)):
        sessions.extend(db.scalars(sa.select(CohortSession).where(CohortSession.id.in_(chunk))
                                   .options(selectinload(CohortSession.cohort).selectinload(Cohort.centre))))
    if sessions:
        counts.update(sync_sessions(db, sessions, now=now, wordings=wordings))

    # 3. confirmations (and waiting-list texts) that were never queued
    can_text = sa.and_(Parent.sms_consent.is_(True), Parent.mobile.isnot(None), Parent.mobile != "",
                       Parent.sms_opted_out_at.is_(None), Parent.mobile_problem.is_(None), Parent.erased_at.is_(None))
    upcoming = sa.exists().where(CohortSession.cohort_id == Enrolment.cohort_id, CohortSession.status == "scheduled",
                                 CohortSession.starts_at > now)
    for status, kinds, kind in (("enrolled", ("confirmation", "waitlist_promoted"), "confirmation"),
                                ("waitlisted", ("waitlisted",), "waitlisted")):
        missing = sa.select(Enrolment).join(Parent, Parent.id == Enrolment.parent_id).where(
            Enrolment.status == status, can_text, upcoming,
            ~sa.exists().where(OutboxMessage.enrolment_id == Enrolment.id, OutboxMessage.kind.in_(kinds)))
        # only recent ones: a family in the group for weeks does not need a welcome now
        since = Enrolment.waitlisted_at if status == "waitlisted" else Enrolment.enrolled_at
        missing = missing.where(since >= now - CONFIRMATION_WINDOW, since <= now)
        for enrolment in db.scalars(missing.order_by(Enrolment.id).limit(500)):
            counts.update(queue_enrolment_message(db, enrolment, kind, now=now, wordings=wordings))

    # 4. "we missed you" for sessions that ended in the last day
    marks = db.scalars(sa.select(AttendanceMark).join(CohortSession, CohortSession.id == AttendanceMark.session_id)
                       .where(AttendanceMark.status == "absent", CohortSession.ends_at <= now,
                              CohortSession.ends_at >= now - MISSED_YOU_WINDOW)).all()
    for mark in marks:
        enrolment = db.get(Enrolment, mark.enrolment_id)
        key = f"missed_you:s{mark.session_id}:p{enrolment.parent_id}"
        if db.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None:
            counts.update(queue_missed_you(db, mark, now=now))
    db.flush()
    return +counts


def _all_reminder_rules():
    from programmes import registry

    return [rule for programme in registry().values() for rule in programme.reminders]


# --- people: opt-out, opt-in, numbers that do not work ----------------------------------------

def opt_out(db: Session, parent, *, now: datetime, actor=None) -> bool:
    """The parent asked for no more texts (STOP, or Twilio said so); cancels everything queued."""
    from app import events

    if parent.sms_opted_out_at is not None:
        return False
    parent.sms_opted_out_at = now
    record_changes(db, parent, actor=actor, parent_id=parent.id, at=now, action="sms_opt_out")
    db.flush()
    sync_parent(db, parent, now=now)
    events.sms_consent_changed.send(parent, opted_out=True, now=now, actor=actor)
    return True


def opt_in(db: Session, parent, *, now: datetime, actor=None) -> bool:
    """The parent texted START: texts resume, and their future reminders are queued again."""
    from app import events

    if parent.sms_opted_out_at is None:
        return False
    parent.sms_opted_out_at = None
    record_changes(db, parent, actor=actor, parent_id=parent.id, at=now, action="sms_opt_in")
    db.flush()
    sync_parent(db, parent, now=now)
    events.sms_consent_changed.send(parent, opted_out=False, now=now, actor=actor)
    return True


def flag_mobile_problem(db: Session, parent, problem: str, *, now: datetime) -> bool:
    """Twilio says the number is not a working mobile: stop texting it and ask the worker to fix it."""
    if parent.mobile_problem:
        return False
    parent.mobile_problem = problem[:200]
    record_changes(db, parent, parent_id=parent.id, at=now, action="mobile_problem")
    db.flush()
    sync_parent(db, parent, now=now)
    open_followup(db, kind="mobile_problem", parent=parent, now=now,
                  summary="Texts cannot be delivered to this mobile number: check it with the parent.")
    return True


def open_followup(db: Session, *, kind: str, parent, now: datetime, summary: str, enrolment=None, session=None,
                  inbound=None):
    """A task for the parent's worker, through the follow-ups feature when it is installed."""
    try:
        from app.followups.services import open_followup as _open
    except ImportError:
        _open = None
    if _open is not None:
        return _open(db, kind=kind, parent=parent, now=now, summary=summary, enrolment=enrolment, session=session,
                     inbound_message=inbound)
    from app.followups.models import FollowUp
    from app.timeutil import next_working_day

    followup = FollowUp(kind=kind, parent_id=parent.id, enrolment_id=getattr(enrolment, "id", None),
                        session_id=getattr(session, "id", None), inbound_message_id=getattr(inbound, "id", None),
                        assigned_to_id=parent.worker_id, due_date=next_working_day(today_london(now)),
                        summary=summary[:300])
    db.add(followup)
    db.flush()
    record(db, "create", followup, parent_id=parent.id, changes={"kind": kind}, at=now)
    return followup


# --- replies ----------------------------------------------------------------------------------

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP"})
_APOLOGY_RE = re.compile(
    r"\b(sorry|apologi[sz]e|apologies|"
    r"can'?t (make|come|attend|do|go|be there)|cannot (make|come|attend|go)|"
    r"won'?t (make|be (able|coming|there|at))|not (be )?(able to|coming|going to make)|unable to (come|make|attend)|"
    r"(i'?m|am|is|are|feeling|been) (ill|sick|unwell|poorly)|"
    r"n[ãa]o (posso|vou|consigo)|no (puedo|voy|podr[ée])|ma (imaan|iman) (karo|doono)|iman maayo)",
    re.IGNORECASE)


def classify_reply(body: str) -> str:
    """stop, start, apology or message."""
    keyword = re.sub(r"[^A-Z]", "", (body or "").strip().upper())
    if keyword in STOP_WORDS:
        return "stop"
    if keyword in START_WORDS:
        return "start"
    if _APOLOGY_RE.search((body or "").replace("\u2019", "'")):
        return "apology"
    return "message"


def parent_for_number(db: Session, number: str):
    """The parent whose mobile this is (the most recently changed, if several share it)."""
    from app.parents.models import Parent

    return db.scalar(sa.select(Parent).where(Parent.mobile == number, Parent.erased_at.is_(None))
                     .order_by(Parent.updated_at.desc(), Parent.id.desc()).limit(1))


def next_session_for(db: Session, parent, *, now: datetime):
    """(enrolment, session) of the parent's next session (one in progress counts), or (None, None)."""
    from app.cohorts.models import CohortSession
    from app.enrolment.models import Enrolment

    row = db.execute(sa.select(Enrolment, CohortSession)
                     .join(CohortSession, CohortSession.cohort_id == Enrolment.cohort_id)
                     .where(Enrolment.parent_id == parent.id, Enrolment.status == "enrolled",
                            CohortSession.status == "scheduled", CohortSession.ends_at > now)
                     .order_by(CohortSession.starts_at).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


def receive_reply(db: Session, *, sid: str, from_number: str, body: str, now: datetime) -> InboundMessage:
    """Store an SMS sent to the service and act on it: opt out, opt in, or a task for the worker."""
    existing = db.scalar(sa.select(InboundMessage).where(InboundMessage.provider_sid == sid))
    if existing is not None:
        return existing  # Twilio retried the webhook: handled already
    parent = parent_for_number(db, from_number)
    intent = classify_reply(body)
    inbound = InboundMessage(provider_sid=sid[:64], from_number=from_number[:20], body=body or "",
                             parent_id=parent.id if parent else None, intent=intent, received_at=now)
    db.add(inbound)
    db.flush()
    if parent is None:
        return inbound  # unknown number: the coordinator sees it on the messages page
    record(db, "create", inbound, parent_id=parent.id, changes={"intent": intent}, at=now)
    quoted = " ".join((body or "").split())
    quoted = quoted if len(quoted) <= 200 else quoted[:199] + "…"
    if intent == "stop":
        opt_out(db, parent, now=now)
    elif intent == "start":
        opt_in(db, parent, now=now)
    elif intent == "apology":
        enrolment, session = next_session_for(db, parent, now=now)
        if session is not None and not _has_followup(db, "possible_apology", enrolment, session):
            open_followup(db, kind="possible_apology", parent=parent, now=now, enrolment=enrolment, session=session,
                          inbound=inbound,
                          summary=f"Possible apology for {to_london(session.starts_at):%a %d %b}: “{quoted}”")
        else:
            open_followup(db, kind="sms_reply", parent=parent, now=now, inbound=inbound,
                          summary=f"Reply by text: “{quoted}”")
    else:
        open_followup(db, kind="sms_reply", parent=parent, now=now, inbound=inbound,
                      summary=f"Reply by text: “{quoted}”")
    return inbound


def _has_followup(db: Session, kind: str, enrolment, session) -> bool:
    from app.followups.models import FollowUp

    return db.scalar(sa.select(FollowUp.id).where(FollowUp.kind == kind, FollowUp.enrolment_id == enrolment.id,
                                                  FollowUp.session_id == session.id)) is not None


# --- delivery status --------------------------------------------------------------------------

#: Twilio's statuses as ours; the ones not listed (queued, accepted, sending, scheduled) change nothing
TWILIO_STATUSES = {"sent": "sent", "delivered": "delivered", "read": "delivered", "undelivered": "undelivered",
                   "failed": "failed"}


def advance_status(db: Session, row_id: int, status: str, *, now: datetime, sid: str | None = None,
                   error: str | None = None) -> bool:
    """Move a message's status forward only (a late 'sent' never overwrites 'delivered')."""
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status] and s != "queued"]
    values: dict = {"status": status}
    if status == "delivered":
        values["delivered_at"] = now
    if error:
        values["last_error"] = error[:300]
    result = db.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.status.in_(lower))
                        .values(**values).execution_options(synchronize_session="fetch"))
    if sid:
        db.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row_id, OutboxMessage.provider_sid.is_(None))
                   .values(provider_sid=sid).execution_options(synchronize_session="fetch"))
    return result.rowcount == 1


def record_delivery_status(db: Session, *, sid: str, status: str, now: datetime, outbox_id: int | None = None,
                           error_code: int | None = None) -> OutboxMessage | None:
    """Apply Twilio's status callback for a message."""
    row = None
    if outbox_id is not None:
        row = db.get(OutboxMessage, outbox_id)
        if row is not None and row.provider_sid and row.provider_sid != sid:
            row = None  # about another message
    if row is None and sid:
        row = db.scalar(sa.select(OutboxMessage).where(OutboxMessage.provider_sid == sid))
    if row is None:
        return None
    ours = TWILIO_STATUSES.get(status)
    if ours:
        advance_status(db, row.id, ours, now=now, sid=sid, error=f"Twilio error {error_code}" if error_code else None)
    if error_code:
        apply_error_code(db, row, error_code, now=now)
    db.refresh(row)
    return row


def apply_error_code(db: Session, row: OutboxMessage, code: int, *, now: datetime) -> None:
    """What a permanent Twilio error means for the recipient."""
    from app.messaging.sms import BAD_NUMBER_CODES, OPTED_OUT_CODES
    from app.parents.models import Parent

    parent = db.get(Parent, row.parent_id) if row.parent_id else None
    if parent is None:
        return
    if code in OPTED_OUT_CODES:
        opt_out(db, parent, now=now)
    elif code in BAD_NUMBER_CODES:
        flag_mobile_problem(db, parent, f"Twilio error {code}: not a mobile number that can receive texts", now=now)


# --- pages ------------------------------------------------------------------------------------

def history(db: Session, parent_id: int, limit: int = 200) -> tuple[list[OutboxMessage], list[InboundMessage]]:
    """A parent's texts, newest first: what we sent (or will send) and what they sent us."""
    sent = db.scalars(sa.select(OutboxMessage).where(OutboxMessage.parent_id == parent_id)
                      .order_by(OutboxMessage.send_after.desc(), OutboxMessage.id.desc()).limit(limit)).all()
    received = db.scalars(sa.select(InboundMessage).where(InboundMessage.parent_id == parent_id)
                          .order_by(InboundMessage.received_at.desc()).limit(limit)).all()
    return list(sent), list(received)


def overview(db: Session, *, now: datetime) -> dict:
    """What a coordinator watches: failures, opt-outs, numbers to fix, texts from unknown numbers, the queue."""
    from app.parents.models import Parent

    since = now - timedelta(days=30)
    return {
        "failures": db.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.status.in_(("failed", "undelivered")), OutboxMessage.updated_at >= since)
            .order_by(OutboxMessage.updated_at.desc()).limit(100)).all(),
        "opted_out": db.scalars(sa.select(Parent).where(Parent.sms_opted_out_at.isnot(None), Parent.erased_at.is_(None))
                                .order_by(Parent.sms_opted_out_at.desc()).limit(100)).all(),
        "mobile_problems": db.scalars(sa.select(Parent).where(Parent.mobile_problem.isnot(None),
                                                              Parent.erased_at.is_(None))
                                      .order_by(Parent.updated_at.desc()).limit(100)).all(),
        "unknown": db.scalars(sa.select(InboundMessage).where(InboundMessage.parent_id.is_(None))
                              .order_by(InboundMessage.received_at.desc()).limit(100)).all(),
        "counts": dict(db.execute(sa.select(OutboxMessage.status, sa.func.count())
                                  .group_by(OutboxMessage.status)).all()),
        "stuck": db.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == "queued", OutboxMessage.send_after <= now - timedelta(hours=1))) or 0,
    }
