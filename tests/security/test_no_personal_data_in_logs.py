"""No personal data in logs: a whole demo flow, every log record captured, none names the family."""
from __future__ import annotations

import logging

import pytest

from tests.conftest import TEST_PASSWORD
from tests.security import flow
from tests.security.world import fill

SECRETS = (flow.FIRST_NAME, flow.LAST_NAME, flow.CHILD_NAME, flow.MOBILE, flow.MOBILE_E164, flow.NEW_MOBILE_E164,
           flow.MOBILE_E164[3:], flow.NEW_MOBILE_E164[3:], flow.MOBILE.replace(" ", ""), flow.POSTCODE,
           flow.POSTCODE.replace(" ", ""), flow.NOTE_TEXT, flow.FOLLOWUP_NOTE)


class _Everything(logging.Handler):
    """Collects every record, also from loggers that do not propagate to the root."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def every_log_record(caplog):
    caplog.set_level(logging.DEBUG)
    handler = _Everything()
    silent = [logger for logger in logging.root.manager.loggerDict.values()
              if isinstance(logger, logging.Logger) and not logger.propagate]
    for logger in silent:
        logger.addHandler(handler)
    yield lambda: list(caplog.records) + handler.records
    for logger in silent:
        logger.removeHandler(handler)


def _text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), record.name]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(repr(record.exc_info[1]))
    if record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts).lower()


def test_a_demo_flow_logs_no_names_mobiles_or_postcodes(app, db, clock, every_log_record):
    result = flow.run_flow(app, db, clock)
    parent_id = result.ids["parent_id"]
    admin = app.test_client()
    from app.auth.models import User

    admin_user = db.session.get(User, result.ids["admin_id"])
    assert admin.post("/login", data={"email": admin_user.email, "password": TEST_PASSWORD}).status_code == 302
    # every page an admin can open about this family, then subject access and erasure
    ids = {**result.ids, "token": "1", "filename": "css/app.css", "user_id": result.ids["worker_id"]}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            try:
                admin.get(fill(rule, ids))
            except Exception:  # noqa: BLE001 - crashes are the role matrix's business; logs are ours
                pass
    assert admin.get(f"/audit/parents/{parent_id}/export.json").status_code == 200
    assert admin.post(f"/audit/parents/{parent_id}/erase",
                      data={"reason": "Asked by phone", "confirm": "y"}).status_code == 302
    from app.scheduler import tick

    tick(clock.now)
    records = every_log_record()
    assert records, "nothing was logged at all: the capture is not working"
    leaks = [f"{r.name} {r.levelname}: {r.getMessage()[:200]}" for r in records
             if any(secret.lower() in _text(r) for secret in SECRETS)]
    assert not leaks, "personal data in logs:\n" + "\n".join(leaks)
    assert len(result.steps) >= 2, result.skipped
