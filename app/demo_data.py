"""The demo: four children's centres in four wards, eight staff, a cohort of each programme, twenty families.

Built through the same services the pages use, so the demo obeys every rule (eligibility,
places and waiting list, crèche ratios, rota requirements) and queues the same messages.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app.timeutil import today_london

DEMO_PASSWORD = "groupwork-demo-2026"
DEMO_DOMAIN = "demo.groupwork.test"

#: ward -> (centre name, address, centre postcode, family postcodes in the ward)
WARDS = {
    "Coldharbour": ("Coldharbour Children's Centre", "12 Somerleyton Road, London", "SW9 8ND",
                    ["SW9 8ND", "SW9 8LF", "SW9 8DJ", "SW9 8RE", "SW2 1RW"]),
    "Stockwell": ("Stockwell Children's Centre", "1 Lingham Street, London", "SW9 9HF",
                  ["SW9 9HF", "SW9 9AL", "SW8 1UQ", "SW8 2JH", "SW9 0TR"]),
    "Tulse Hill": ("Tulse Hill Children's Centre", "45 Upper Tulse Hill, London", "SW2 2SD",
                   ["SW2 2SD", "SW2 2QA", "SW2 3JH", "SE24 0AA", "SE27 0DF"]),
    "Vassall": ("Vassall Children's Centre", "6 Brixton Road, London", "SW9 6DE",
                ["SW9 6DE", "SW9 6HE", "SE5 0LS", "SE5 9EA", "SW9 6PA"]),
}

#: email local part, name, role, qualifications, home ward
STAFF = [
    ("coordinator", "Grace Adeyemi", "admin", ("clinical",), "Stockwell"),
    ("facilitator", "Dr Ruth Mensah", "facilitator", ("clinical", "cosp"), "Stockwell"),
    ("tom.hughes", "Tom Hughes", "facilitator", ("clinical",), "Coldharbour"),
    ("aisha.rahman", "Aisha Rahman", "facilitator", ("cosp",), "Vassall"),
    ("maria.silva", "Maria Silva", "facilitator", ("cosp", "better_start"), "Vassall"),
    ("worker", "Chloe Baptiste", "worker", ("better_start",), "Tulse Hill"),
    ("hodan.ali", "Hodan Ali", "worker", ("better_start", "creche"), "Vassall"),
    ("sam.okoro", "Sam Okoro", "facilitator", ("creche",), "Vassall"),
]

#: first name, last name, language, ethnicity, ward, children as (name, months old; negative = due in months)
FAMILIES_TT = [
    ("Ama", "Mensah", "en", "black_african", "Stockwell", [("Kofi", 3)]),
    ("Zoë", "O'Connor", "en", "white_irish", "Stockwell", [("Finn", 5)]),
    ("Fatima", "Hassan", "so", "black_african", "Vassall", [("Idil", 2)]),
    ("Mariana", "Costa", "pt", "white_other", "Stockwell", [("Tiago", 7)]),
    ("Lucía", "García", "es", "white_other", "Coldharbour", [("Mateo", 4)]),
    ("Shanice", "Campbell", "en", "black_caribbean", "Coldharbour", [("Jayden", 9)]),
    ("Nasrin", "Begum", "bn", "asian_bangladeshi", "Tulse Hill", [("Ayaan", 6)]),
    ("Thi Lan", "Nguyễn", "en", "asian_other", "Tulse Hill", [("Minh", 8)]),
    ("Joanna", "Kowalska", "pl", "white_other", "Vassall", [("Zofia", 3)]),
    ("Precious", "Okafor", "en", "black_african", "Coldharbour", [("Chidi", 10)]),
]
FAMILIES_COSP = [
    ("Amina", "Yusuf", "so", "black_african", "Vassall", [("Hamza", 30), ("Safiya", 7)]),
    ("Sarah", "Thompson", "en", "white_british", "Vassall", [("Poppy", 20)]),
    ("Kemi", "Adebayo", "yo", "black_african", "Coldharbour", [("Tobi", 38)]),
    ("Ana", "Ferreira", "pt", "white_other", "Stockwell", [("Lara", 14), ("baby", -3)]),
    ("Yasmin", "Ali", "ar", "other_arab", "Tulse Hill", [("Omar", 26)]),
    ("Leah", "Williams", "en", "mixed_white_black_caribbean", "Coldharbour", [("Noah", 18)]),
    ("Sofia", "Rossi", "en", "white_other", "Stockwell", [("Giulia", 44)]),
    ("Nia", "Boateng", "tw", "black_african", "Vassall", [("Kwame", 12)]),
    ("Chloe", "Martin", "fr", "mixed_other", "Tulse Hill", [("Léa", 33)]),
    ("Hodan", "Farah", "so", "black_african", "Vassall", [("Abdi", 22)]),
]


def _months_ago(today: date, months: int) -> date:
    return today - timedelta(days=int(months * 30.4))


def _next_weekday(day: date, weekday: int) -> date:
    """The next such weekday after `day` that is not a bank holiday (a series cannot start on one)."""
    from app.calendar_rules import is_bank_holiday

    candidate = day + timedelta(days=(weekday - day.weekday()) % 7 or 7)
    while is_bank_holiday(candidate):
        candidate += timedelta(weeks=1)
    return candidate


def build(db: Session, now: datetime) -> dict[str, int]:
    """Load the demo through the services; does nothing if it is already there."""
    from app.auth.models import User
    from app.auth.services import create_user
    from app.centres.models import Centre
    from app.centres.services import create_centre
    from app.cohorts.services import create_cohort
    from app.eligibility.models import Ward, WardPostcode
    from app.enrolment.services import enrol
    from app.parents.services import create_parent
    from app.staff.models import Availability, StaffCentre, StaffQualification

    if db.scalar(sa.select(User.id).where(User.email == f"coordinator@{DEMO_DOMAIN}")) is not None:
        return {}
    today = today_london(now)
    hash_method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")

    for ward, (_, _, _, postcodes) in WARDS.items():
        w = Ward(name=ward, is_eligible=True)
        w.postcodes = [WardPostcode(postcode=p) for p in postcodes]
        db.add(w)
    centres: dict[str, Centre] = {}
    for ward, (name, address, postcode, _) in WARDS.items():
        centres[ward] = create_centre(db, name=name, address=address, postcode=postcode, ward=ward,
                                      creche_capacity=12, rooms=["Hall", "Family room"], now=now)

    staff: dict[str, User] = {}
    for local, name, role, quals, ward in STAFF:
        user = create_user(db, f"{local}@{DEMO_DOMAIN}", DEMO_PASSWORD, role, full_name=name,
                           hash_method=hash_method)
        staff[local] = user
        for q in quals:
            db.add(StaffQualification(user_id=user.id, qualification=q))
        for w, centre in centres.items():
            db.add(StaffCentre(user_id=user.id, centre_id=centre.id, is_preferred=w == ward))
        for weekday in range(5):
            db.add(Availability(user_id=user.id, weekday=weekday, start_time=time(8, 30), end_time=time(17, 30)))
    create_user(db, f"commissioner@{DEMO_DOMAIN}", DEMO_PASSWORD, "commissioner", full_name="Funder (read only)",
                hash_method=hash_method)
    db.flush()
    coordinator = staff["coordinator"]

    tt = create_cohort(db, programme_key="together_time", centre=centres["Stockwell"],
                       room=centres["Stockwell"].rooms[0],
                       first_session=datetime.combine(_next_weekday(today, 1), time(10, 0)),
                       capacity=8, now=now, actor=coordinator)
    cosp = create_cohort(db, programme_key="circle_of_security", centre=centres["Vassall"],
                         room=centres["Vassall"].rooms[0],
                         first_session=datetime.combine(_next_weekday(today, 2), time(10, 0)),
                         capacity=10, now=now, actor=coordinator)

    workers = [staff["worker"], staff["hodan.ali"]]
    families = 0
    for cohort, rows, with_creche in ((tt, FAMILIES_TT, False), (cosp, FAMILIES_COSP, True)):
        for i, (first, last, language, ethnicity, ward, kids) in enumerate(rows):
            postcode = WARDS[ward][3][i % len(WARDS[ward][3])]
            children = []
            for child, months in kids:
                if months < 0:
                    children.append({"first_name": child, "due_date": today + timedelta(days=int(-months * 30.4))})
                else:
                    children.append({"first_name": child, "date_of_birth": _months_ago(today, months)})
            parent = create_parent(db, {
                "first_name": first, "last_name": last, "mobile": f"07400 {100101 + families:06d}",
                "postcode": postcode, "address": f"{10 + i} Demo Road, London", "language": language,
                "interpreter_needed": language in ("so", "bn"), "sms_consent": True, "ethnicity": ethnicity,
                "first_time_parent": "yes" if len(kids) == 1 else "no", "gender": "woman",
                "age_band": ["25_29", "30_34", "20_24", "35_39"][i % 4],
                "relationship_status": "not_asked" if i % 3 == 0 else "cohabiting",
                "worker_id": workers[i % 2].id, "centre_id": centres[ward].id, "children": children,
            }, now=now, actor=workers[i % 2], allow_duplicate=True)
            born = [c.id for c in parent.children if c.date_of_birth is not None]
            enrol(db, cohort, parent, referral_source=["midwifery", "health_visiting", "better_start",
                                                        "self_referral", "gp"][i % 5],
                  creche_child_ids=born[:1] if with_creche else [], now=now, actor=workers[i % 2])
            families += 1

    rota_filled = 0
    try:
        from app.rota.autofill import autofill_cohort
    except ModuleNotFoundError:
        autofill_cohort = None
    if autofill_cohort is not None:
        for cohort in (tt, cosp):
            result = autofill_cohort(db, cohort, now=now, actor=coordinator)
            rota_filled += len(result.made)
    db.flush()
    return {"centres": len(centres), "staff": len(STAFF), "cohorts": 2, "families": families,
            "rota assignments": rota_filled}
