"""A hand-counted fixture for the report tests: three groups in the period, one before it.

Period 1 Sep to 30 Nov 2026; "now" is Wednesday 25 Nov 2026, 12:00 UTC.

T: Together Time at centre X (8 places), Tuesdays 8 Sep to 13 Oct: 6 sessions, all held.
    p1  A  A  A  A  Ap X     attended 4 of 6 -> completed (4 >= 2/3 of 6)
    p2  A  A  A  X  X  X     attended 3 -> not completed
    p3  Ap Ap .  .  .  .     never came (unmarked 4) -> not started
    p4  A  X                 withdrawn 16 Sep (after week 2): expected 2
    p5  .  .  A  A  A  A     from the waiting list on 20 Sep: expected 4; 4 of 6 -> completed
    p6  waitlisted, never placed: not counted
B: Circle of Security at centre Y (10 places), Wednesdays 9 Sep to 21 Oct; week 8 (28 Oct) cancelled: 7 held.
    q1  A  A  A  A  A  Ap Ap (and a stray mark on the cancelled week 8)  5 of 7 -> completed
    q2  A  X  A  X  A  X  A  4 of 7 < 4.67 -> not completed
C: Together Time at centre X (8 places), from Tue 17 Nov: 2 of 6 sessions held by now -> not finished.
    r1  A  Ap
    p7  waitlisted (C has sessions to come): on the waiting list now
D: Together Time at centre X in March 2026, outside the period: s1 attended everything.

Totals: held 15, offered 26, expected 40 = attended 22 + apologies 6 + did not attend 8 + unmarked 4;
filled 8, started 7, completion judged for 7 (T and B), completed 3.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from app.eligibility.models import Ward, WardPostcode
from tests import factories

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
START, END = date(2026, 9, 1), date(2026, 11, 30)
EARLY = datetime(2026, 8, 1, 9, 0, tzinfo=timezone.utc)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def _marks(db, cohort, enrolment, codes: str) -> None:
    names = {"A": "attended", "P": "apologies", "X": "absent"}
    for s, code in zip(cohort.sessions, codes):
        if code in names:
            factories.make_mark(db.session, s, enrolment, names[code])


def build(db) -> dict:
    """Create the fixture; returns the objects by the names above."""
    s = db.session
    stockwell, brixton = Ward(name="Stockwell"), Ward(name="Brixton")
    s.add_all([stockwell, brixton])
    s.flush()
    s.add_all([WardPostcode(postcode="SW9 7QD", ward_id=stockwell.id),
               WardPostcode(postcode="SW2 1AA", ward_id=brixton.id)])
    x = factories.make_centre(s, name="Centre X", ward="Stockwell")
    y = factories.make_centre(s, name="Centre Y", ward="Brixton")
    t = factories.make_cohort(s, "together_time", centre=x, start_date=date(2026, 9, 8), capacity=8)
    b = factories.make_cohort(s, "circle_of_security", centre=y, start_date=date(2026, 9, 9), capacity=10)
    b.sessions[7].status, b.sessions[7].cancel_reason = "cancelled", "closure"
    c = factories.make_cohort(s, "together_time", centre=x, start_date=date(2026, 11, 17), capacity=8)
    d = factories.make_cohort(s, "together_time", centre=x, start_date=date(2026, 3, 3), capacity=8)

    def parent(first, **kw):
        return factories.make_parent(s, first_name=first, last_name="Zedwick", **kw)

    o = {"x": x, "y": y, "T": t, "B": b, "C": c, "D": d}
    o["p1"] = factories.make_enrolment(s, t, parent("Aoife", ethnicity="white_british"), enrolled_at=EARLY,
                                       referral_source="gp")
    o["p2"] = factories.make_enrolment(s, t, parent("Bola", ethnicity="black_african"), enrolled_at=EARLY)
    o["p3"] = factories.make_enrolment(s, t, parent("Ciara", ethnicity="prefer_not_to_say"), enrolled_at=EARLY)
    o["p4"] = factories.make_enrolment(s, t, parent("Dee"), status="withdrawn", enrolled_at=EARLY,
                                       withdrawn_at=utc(2026, 9, 16, 12), withdrawal_reason="moved away")
    o["p5"] = factories.make_enrolment(s, t, parent("Efe"), waitlisted_at=utc(2026, 9, 10, 9),
                                       enrolled_at=utc(2026, 9, 20, 9))
    o["p6"] = factories.make_enrolment(s, t, parent("Fola"), status="waitlisted", waitlisted_at=EARLY)
    o["q1"] = factories.make_enrolment(s, b, parent("Gita", postcode="SW2 1AA"), enrolled_at=EARLY)
    o["q2"] = factories.make_enrolment(s, b, parent("Hana", postcode="SW2 1AA"), waitlisted_at=utc(2026, 9, 1, 9),
                                       enrolled_at=utc(2026, 9, 5, 9))
    o["r1"] = factories.make_enrolment(s, c, parent("Ines", postcode="E1 6AN"), waitlisted_at=utc(2026, 11, 1, 9),
                                       enrolled_at=utc(2026, 11, 3, 9))
    o["p7"] = factories.make_enrolment(s, c, parent("Jo"), status="waitlisted", waitlisted_at=utc(2026, 11, 10))
    o["s1"] = factories.make_enrolment(s, d, parent("Kemi"), enrolled_at=utc(2026, 2, 1))

    _marks(db, t, o["p1"], "AAAAPX")
    _marks(db, t, o["p2"], "AAAXXX")
    _marks(db, t, o["p3"], "PP")
    _marks(db, t, o["p4"], "AX")
    _marks(db, t, o["p5"], "..AAAA")
    _marks(db, b, o["q1"], "AAAAAPPA")  # the 8th is on the cancelled session
    _marks(db, b, o["q2"], "AXAXAXA")
    _marks(db, c, o["r1"], "AP")
    _marks(db, d, o["s1"], "AAAAAA")
    s.flush()
    return o
