"""Retention: families with no activity for RETENTION_YEARS are listed, then erased after a notice period.

The scheduler tick calls ``apply_retention`` every minute; it is cheap when nothing is due.
A family is first *listed* (an audit event ``retention_due``, visible in the dry run and on
the admin's retention page); only if it is still inactive RETENTION_NOTICE_DAYS (default 30)
after being listed is it erased. Any new activity in between (an enrolment, a mark, a reply)
takes it off the list, because its last activity is then later than the listing.
``flask --app wsgi retention --dry-run`` shows what would happen, changing nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.audit.services import record

log = logging.getLogger(__name__)

DEFAULT_NOTICE_DAYS = 30


@dataclass
class RetentionItem:
    """One family past the retention period, and what the job will do about it."""

    parent_id: int
    last_activity: datetime
    listed_at: Optional[datetime]
    #: "list" (first seen), "wait" (listed, notice running) or "erase"
    action: str
    erase_after: Optional[datetime]


def _aware(value):
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc)


def years_before(moment: datetime, years: int) -> datetime:
    """The same instant `years` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _settings() -> tuple[int, int]:
    config = current_app.config if has_app_context() else {}
    return int(config.get("RETENTION_YEARS", 7) or 7), int(config.get("RETENTION_NOTICE_DAYS", DEFAULT_NOTICE_DAYS))


def last_activity_query():
    """SELECT parent_id, last_activity for every parent not yet erased."""
    from app.cohorts.models import CohortSession
    from app.enrolment.models import Enrolment
    from app.parents.models import Parent

    sources = [
        sa.select(Parent.id.label("parent_id"), Parent.updated_at.label("at")),
        sa.select(Parent.id.label("parent_id"), Parent.created_at.label("at")),
        sa.select(Enrolment.parent_id, Enrolment.updated_at),
        # a family enrolled in a cohort still running is active until its last session
        sa.select(Enrolment.parent_id, CohortSession.ends_at).join(
            CohortSession, CohortSession.cohort_id == Enrolment.cohort_id),
    ]
    optional = (
        ("app.attendance.models", "AttendanceMark", lambda m: sa.select(Enrolment.parent_id, m.updated_at).join(
            m, m.enrolment_id == Enrolment.id)),
        ("app.followups.models", "FollowUp", lambda m: sa.select(m.parent_id, m.updated_at).where(
            m.parent_id.is_not(None))),
        ("app.messaging.models", "InboundMessage", lambda m: sa.select(m.parent_id, m.received_at).where(
            m.parent_id.is_not(None))),
    )
    from importlib import import_module

    for module_name, name, build in optional:
        try:
            model = getattr(import_module(module_name), name)
        except (ModuleNotFoundError, AttributeError):
            continue
        sources.append(build(model))
    activity = sa.union_all(*sources).subquery()
    last = sa.func.max(activity.c.at).label("last_activity")
    return (sa.select(activity.c.parent_id, last)
            .join(Parent, Parent.id == activity.c.parent_id)
            .where(Parent.erased_at.is_(None))
            .group_by(activity.c.parent_id))


def retention_plan(db: Session, now: datetime) -> list[RetentionItem]:
    """The families past the retention period and what the next run does with each (changes nothing)."""
    years, notice_days = _settings()
    cutoff = years_before(now, years)
    rows = db.execute(last_activity_query()).all()
    inactive = {pid: _aware(at) for pid, at in rows if at is not None and _aware(at) < cutoff}
    if not inactive:
        return []
    listed: dict[int, datetime] = {}
    for pid, at in db.execute(sa.select(AuditEvent.parent_id, sa.func.max(AuditEvent.at)).where(
            AuditEvent.action == "retention_due", AuditEvent.parent_id.in_(list(inactive))
    ).group_by(AuditEvent.parent_id)):
        listed[pid] = _aware(at)
    plan = []
    for pid in sorted(inactive):
        last = inactive[pid]
        listed_at = listed.get(pid)
        if listed_at is None or listed_at < last:
            plan.append(RetentionItem(pid, last, None, "list", now + timedelta(days=notice_days)))
        else:
            erase_after = listed_at + timedelta(days=notice_days)
            plan.append(RetentionItem(pid, last, listed_at, "erase" if erase_after <= now else "wait", erase_after))
    return plan


def apply_retention(db: Session, now: datetime) -> str:
    """List newly inactive families and erase those listed at least the notice period ago; commits."""
    from app.audit.datarights import erase_parent
    from app.parents.models import Parent

    years, _notice = _settings()
    plan = retention_plan(db, now)
    listed = erased = 0
    for item in plan:
        if item.action == "list":
            parent = db.get(Parent, item.parent_id)
            record(db, "retention_due", parent, parent_id=item.parent_id, at=now,
                   changes={"last_activity": item.last_activity.isoformat(), "years": years})
            listed += 1
        elif item.action == "erase":
            parent = db.get(Parent, item.parent_id)
            erase_parent(db, parent, now=now, actor=None,
                         reason=f"Retention: no activity for {years} years (last {item.last_activity.date()}).")
            erased += 1
    if listed or erased:
        db.commit()
        log.info("retention: %d families listed, %d erased", listed, erased)
    else:
        db.rollback()
    return f"{len(plan)} past retention: {listed} listed, {erased} erased"
