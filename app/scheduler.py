"""The scheduler: APScheduler is only the clock; the database holds what is due.

``flask scheduler tick`` runs every registered task once, as of a moment; ``scheduler run``
calls the same tick every minute. Each task takes (session, now), claims what is due,
processes it and commits its own results, so a crash or a second process neither loses
nor repeats work. Features register their task in TICK_TASKS.
"""
from __future__ import annotations

import logging
from datetime import datetime
from importlib import import_module
from typing import Callable

log = logging.getLogger(__name__)

#: "module:function" of each task, run in this order on every tick
TICK_TASKS: tuple[str, ...] = (
    "app.messaging.jobs:queue_due_messages",
    "app.messaging.jobs:send_due_messages",
    "app.attendance.jobs:flag_overdue_registers",
    "app.calendar.jobs:send_due_invites",
    "app.audit.jobs:apply_retention",
)


def _load(spec: str) -> Callable | None:
    module_name, _, func = spec.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None  # feature not installed in this build
        raise
    return getattr(module, func, None)


def tick(now: datetime) -> dict[str, object]:
    """Run one pass of all due work as of `now`; returns each task's summary."""
    from app.extensions import db

    results: dict[str, object] = {}
    for spec in TICK_TASKS:
        task = _load(spec)
        if task is None:
            continue
        try:
            results[spec] = task(db.session, now)
        except Exception:  # one failing task must not stop the others
            db.session.rollback()
            log.exception("scheduler task %s failed", spec)
            results[spec] = "failed"
    return results
