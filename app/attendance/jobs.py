"""Scheduler entry points for the register (listed in app/scheduler.py TICK_TASKS)."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from app.attendance.services import flag_overdue, overdue_sessions

log = logging.getLogger(__name__)


def flag_overdue_registers(db: Session, now: datetime) -> str:
    """Flag, once each, registers still open two hours after their session ended; commits."""
    flagged = 0
    for session in overdue_sessions(db, now):
        if flag_overdue(db, session, now=now):
            flagged += 1
            log.info("register of session %s flagged as overdue", session.id)
    db.commit()
    return f"{flagged} overdue register(s) flagged"
