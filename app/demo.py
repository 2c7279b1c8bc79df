"""The demo data set: four centres in four wards, staff, cohorts of both programmes, families."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def load_demo(db: Session, now: datetime) -> dict[str, int]:
    """Load the demo (idempotent: refuses to load twice)."""
    from app.demo_data import build

    return build(db, now)
