"""A realistic term for rota tests: centres, cohorts of both programmes, staff with mixed skills."""
from __future__ import annotations

import random
from datetime import date, time, timedelta

from tests import factories

TERM_START = date(2026, 9, 7)  # a Monday
TERM_END = date(2026, 12, 18)


def build_term(session, *, cohorts: int = 10, staff: int = 12, creche_staff: int = 0, centres: int = 4,
               seed: int = 7, leave: bool = True):
    """Cohorts spread over weekdays and centres, and staff who can cover them; returns (cohorts, staff)."""
    rng = random.Random(seed)
    places = [factories.make_centre(session, rooms=("Hall", "Garden room")) for _ in range(centres)]
    made = []
    for i in range(cohorts):
        programme = "together_time" if i % 2 == 0 else "circle_of_security"
        centre = places[i % centres]
        # Monday to Friday, mornings then afternoons, later cohorts starting a week or two later.
        weekday = i % 5
        at = (time(10, 0), time(13, 30))[(i // 5) % 2]
        start = TERM_START + timedelta(days=weekday, weeks=(i // 10) % 3)
        room = centre.rooms[(i // 10 // 3) % 2]
        made.append(factories.make_cohort(session, programme, centre=centre, start_date=start, start_time=at,
                                          room_id=room.id))
    people = []
    for j in range(staff):
        quals = [("clinical",), ("cosp",), ("clinical", "cosp"), ("better_start",)][j % 4]
        mine = rng.sample(places, k=min(len(places), rng.choice((3, 4))))
        user = factories.make_user(session, role="facilitator", qualifications=quals, centres=mine)
        from app.staff.models import StaffCentre

        session.get(StaffCentre, (user.id, mine[0].id)).is_preferred = True
        days = range(5) if j % 3 else rng.sample(range(5), 3)
        factories.make_availability(session, user, weekdays=days)
        if leave and j % 5 == 0:
            first = TERM_START + timedelta(weeks=rng.randrange(2, 10))
            factories.make_leave(session, user, first, first + timedelta(days=4))
        people.append(user)
    for _ in range(creche_staff):
        user = factories.make_user(session, role="worker", qualifications=("creche",))
        factories.make_availability(session, user)
        people.append(user)
    session.flush()
    return made, people
