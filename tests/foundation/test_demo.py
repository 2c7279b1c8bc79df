"""The demo data set is realistic, obeys the rules, and loads once."""
import sqlalchemy as sa

from app.demo import load_demo


def test_demo_loads_once_with_the_promised_shape(db, now):
    from app.auth.models import User
    from app.centres.models import Centre
    from app.cohorts.models import Cohort
    from app.enrolment.models import CrecheBooking, Enrolment
    from app.parents.models import Parent

    summary = load_demo(db.session, now)
    db.session.commit()
    assert summary["families"] == 20
    assert sorted(c.ward for c in db.session.scalars(sa.select(Centre))) == ["Coldharbour", "Stockwell", "Tulse Hill", "Vassall"]
    staff = db.session.scalars(sa.select(User).where(User.role != "commissioner")).all()
    assert len(staff) == 8 and {u.role for u in staff} == {"admin", "facilitator", "worker"}
    cohorts = db.session.scalars(sa.select(Cohort)).all()
    assert sorted(c.programme_key for c in cohorts) == ["circle_of_security", "together_time"]
    assert len({c.centre_id for c in cohorts}) == 2
    assert all(s.starts_at > now for c in cohorts for s in c.sessions)
    statuses = db.session.scalars(sa.select(Enrolment.status)).all()
    assert statuses.count("waitlisted") == 2 and statuses.count("enrolled") == 18
    assert db.session.scalar(sa.select(sa.func.count(Parent.id))) == 20
    assert db.session.scalar(sa.select(sa.func.count(CrecheBooking.id)).where(CrecheBooking.status == "booked")) > 0
    assert load_demo(db.session, now) == {}


def test_demo_series_never_starts_on_a_bank_holiday(db):
    """On 21 December 2027 the next Tuesday is the Boxing Day substitute holiday: the demo starts a week later."""
    from datetime import date, datetime, timezone

    from app.cohorts.models import Cohort

    assert load_demo(db.session, datetime(2027, 12, 21, 9, tzinfo=timezone.utc))
    starts = {c.programme_key: c.start_date for c in db.session.scalars(sa.select(Cohort))}
    assert starts["together_time"] == date(2028, 1, 4)
