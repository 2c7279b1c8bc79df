"""Generate a realistic data set quickly with bulk inserts (SQLAlchemy Core executemany).

Full scale: a borough over ten years: 25 centres, 2,500 cohorts (about 17,500 sessions),
25,000 parents with children, about 200,000 attendance marks, 400,000 outbox messages,
40 staff with rotas. ``scale`` shrinks every count for the quick mode.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.timeutil import local_to_utc
from programmes import registry

BENCH_PASSWORD = "bench-password-2026"
WARDS = ["Coldharbour", "Stockwell", "Tulse Hill", "Vassall", "Brixton Hill", "Herne Hill", "Clapham Common",
         "Streatham Hill", "Thornton", "Knight's Hill", "Gipsy Hill", "Oval", "Kennington", "Prince's",
         "Bishop's", "Waterloo", "Larkhall", "Ferndale", "Thurlow Park", "St Leonard's", "Streatham Wells",
         "Streatham South", "Clapham Town", "Brixton Acre Lane", "Myatt's Fields"]
FIRST = ["Ama", "Zoë", "Fatima", "Olu", "Maria", "Sofia", "Hodan", "Grace", "Aisha", "Chloe", "Nia", "Leah",
         "Amina", "Joy", "Precious", "Ana", "Lucía", "Kemi", "Sarah", "Yasmin"]
LAST = ["Mensah", "O'Connor", "Silva", "Ahmed", "Okafor", "Smith", "Nguyễn", "Hassan", "Jones", "Costa"]
CHILD = ["Kofi", "Noah", "Amara", "Leo", "Isla", "Zain", "Mia", "Tobi", "Ada", "Eli"]


@dataclass
class Scale:
    centres: int = 25
    years: int = 10
    cohorts_per_year: int = 250
    parents: int = 25_000
    staff: int = 40
    places: int = 12

    @classmethod
    def quick(cls) -> "Scale":
        return cls(centres=5, years=1, cohorts_per_year=20, parents=300, staff=12, places=8)


def _insert(db: Session, table: sa.Table, rows: list[dict], chunk: int = 20_000) -> None:
    for i in range(0, len(rows), chunk):
        db.execute(table.insert(), rows[i:i + chunk])


def _postcode(ward_index: int, n: int) -> str:
    return f"SW{ward_index + 1} {n % 10}{'ABDEFGHJLNPQRSTUWXYZ'[n % 20]}{'ABDEFGHJLNPQRSTUWXYZ'[(n // 20) % 20]}"


def generate(db: Session, scale: Scale, *, today: date, seed: int = 2026) -> dict[str, int]:
    """Fill an empty database; returns counts. Sessions end around `today`."""
    from app import models as m

    rnd = random.Random(seed)
    counts: dict[str, int] = {}
    progs = registry()
    now = datetime.combine(today, time(12), tzinfo=timezone.utc)
    pw = generate_password_hash(BENCH_PASSWORD, method="pbkdf2:sha256:1000")

    # areas
    _insert(db, m.Ward.__table__, [{"id": i + 1, "name": w, "is_eligible": True, "created_at": now}
                                   for i, w in enumerate(WARDS)])
    postcodes = [{"postcode": _postcode(w, n), "ward_id": w + 1} for w in range(len(WARDS)) for n in range(40)]
    _insert(db, m.WardPostcode.__table__, postcodes)

    # centres and rooms
    centres = [{"id": i + 1, "name": f"{WARDS[i % len(WARDS)]} Children's Centre {i + 1}",
                "address": f"{i + 1} Station Road, London", "postcode": _postcode(i % len(WARDS), i),
                "ward": WARDS[i % len(WARDS)], "creche_capacity": 12, "created_at": now, "updated_at": now}
               for i in range(scale.centres)]
    _insert(db, m.Centre.__table__, centres)
    rooms = [{"id": i * 2 + r + 1, "centre_id": i + 1, "name": name}
             for i in range(scale.centres) for r, name in enumerate(("Hall", "Family room"))]
    _insert(db, m.Room.__table__, rooms)

    # staff: facilitators with a mix of qualifications, crèche workers, workers, a coordinator
    users, quals, staff_centres, avail = [], [], [], []
    for i in range(scale.staff):
        role = "facilitator" if i % 4 != 3 else "worker"
        users.append({"id": i + 1, "email": f"staff{i + 1}@bench.test", "password_hash": pw, "role": role,
                      "full_name": f"Staff {i + 1}", "is_enabled": True, "must_change_password": False,
                      "created_at": now, "updated_at": now})
        qs = {0: ("clinical",), 1: ("cosp",), 2: ("clinical", "cosp"), 3: ("better_start", "creche")}[i % 4]
        quals += [{"user_id": i + 1, "qualification": q} for q in qs]
        for c in range(3):
            staff_centres.append({"user_id": i + 1, "centre_id": (i + c * 7) % scale.centres + 1, "is_preferred": c == 0})
        avail += [{"user_id": i + 1, "weekday": d, "start_time": time(8), "end_time": time(18)} for d in range(5)]
    admin_id = scale.staff + 1
    users.append({"id": admin_id, "email": "coordinator@bench.test", "password_hash": pw, "role": "admin",
                  "full_name": "Coordinator", "is_enabled": True, "must_change_password": False,
                  "created_at": now, "updated_at": now})
    _insert(db, m.User.__table__, users)
    _insert(db, m.StaffQualification.__table__, quals)
    _insert(db, m.StaffCentre.__table__, list({(r["user_id"], r["centre_id"]): r for r in staff_centres}.values()))
    _insert(db, m.Availability.__table__, avail)
    counts["staff"] = len(users)

    # parents and children
    parents, children, links = [], [], []
    child_id = 0
    for p in range(scale.parents):
        ward = rnd.randrange(len(WARDS))
        parents.append({
            "id": p + 1, "first_name": rnd.choice(FIRST), "last_name": rnd.choice(LAST),
            "mobile": f"+4474{p:08d}", "postcode": _postcode(ward, rnd.randrange(40)), "address": "",
            "language": rnd.choice(["en", "en", "en", "pt", "es", "so"]), "interpreter_needed": False,
            "sms_consent": True, "email_consent": False,
            "ethnicity": rnd.choice(["black_african", "white_british", "asian_bangladeshi", "mixed_other",
                                     "not_asked", "prefer_not_to_say"]),
            "relationship_status": rnd.choice(["single", "cohabiting", "not_asked"]),
            "gender": rnd.choice(["woman", "woman", "man", "not_asked"]),
            "age_band": rnd.choice(["20_24", "25_29", "30_34", "not_asked"]),
            "first_time_parent": rnd.choice(["yes", "no", "not_asked"]),
            "worker_id": (p % scale.staff) + 1, "centre_id": (p % scale.centres) + 1,
            "created_at": now, "updated_at": now})
        for _ in range(1 + (p % 3 == 0)):
            child_id += 1
            children.append({"id": child_id, "first_name": rnd.choice(CHILD),
                             "date_of_birth": today - timedelta(days=rnd.randrange(30, 1400)), "due_date": None,
                             "created_at": now, "updated_at": now})
            links.append({"parent_id": p + 1, "child_id": child_id})
    _insert(db, m.Parent.__table__, parents)
    _insert(db, m.Child.__table__, children)
    _insert(db, m.parent_children, links)
    counts["parents"] = len(parents)

    at_centre: dict[int, list[int]] = {}
    for r in staff_centres:
        if users[r["user_id"] - 1]["role"] == "facilitator" and r["user_id"] not in at_centre.get(r["centre_id"], []):
            at_centre.setdefault(r["centre_id"], []).append(r["user_id"])
    for ids in at_centre.values():
        ids.sort()
    # cohorts, sessions, enrolments, marks, outbox, rota
    cohorts, sessions, enrolments, marks, outbox, rota = [], [], [], [], [], []
    first_day = today - timedelta(days=365 * scale.years)
    total = scale.years * scale.cohorts_per_year
    session_id = enrolment_id = 0
    keys = sorted(progs)
    parent_cursor = 0
    for c in range(total):
        prog = progs[keys[c % len(keys)]]
        centre = c % scale.centres + 1
        room = (centre - 1) * 2 + 1 + (c // scale.centres) % 2
        start = first_day + timedelta(days=int(c * 365 * scale.years / total))
        start += timedelta(days=(1 - start.weekday()) % 7)  # Tuesdays
        at = time(10) if c % 2 == 0 else time(13, 30)
        cohorts.append({"id": c + 1, "programme_key": prog.key, "centre_id": centre, "room_id": room,
                        "start_date": start, "start_time": at, "duration_minutes": prog.session_minutes,
                        "capacity": scale.places, "status": "active", "version": 1,
                        "created_at": now, "updated_at": now})
        cohort_sessions = []
        for w in range(prog.weeks):
            session_id += 1
            starts = local_to_utc(start + timedelta(weeks=w), at)
            held = starts < now
            sessions.append({"id": session_id, "cohort_id": c + 1, "number": w + 1, "room_id": room,
                             "starts_at": starts, "ends_at": starts + timedelta(minutes=prog.session_minutes),
                             "status": "scheduled", "is_catch_up": False, "sequence": 0,
                             "register_closed_at": starts + timedelta(hours=3) if held else None})
            cohort_sessions.append((session_id, starts, held))
            for k in range(2):
                # two of the staff who work at this centre (the rota's own rules hold in the data too)
                rota.append({"session_id": session_id, "user_id": at_centre[centre][(c * 2 + k) % len(at_centre[centre])],
                             "role": "facilitator", "is_auto": True, "created_at": now, "updated_at": now})
        for _ in range(scale.places - rnd.randrange(0, 2)):
            enrolment_id += 1
            parent_id = parent_cursor % scale.parents + 1
            parent_cursor += 1
            enrolments.append({"id": enrolment_id, "parent_id": parent_id, "cohort_id": c + 1, "status": "enrolled",
                               "referral_source": rnd.choice(["midwifery", "health_visiting", "better_start",
                                                              "self_referral", "gp"]),
                               "enrolled_at": local_to_utc(start - timedelta(days=14), time(9)), "version": 1,
                               "created_at": now, "updated_at": now})
            for sid, starts, held in cohort_sessions:
                if held:
                    r = rnd.random()
                    status = "attended" if r < 0.75 else "apologies" if r < 0.85 else "absent"
                    marks.append({"session_id": sid, "enrolment_id": enrolment_id, "status": status,
                                  "is_late": False, "marked_at": starts + timedelta(minutes=5), "is_auto": False,
                                  "created_at": now, "updated_at": now})
                for label, delta in (("2d", timedelta(days=2)), ("0d", timedelta(hours=1, minutes=30))):
                    outbox.append({"kind": "reminder", "parent_id": parent_id, "session_id": sid,
                                   "enrolment_id": enrolment_id, "cohort_id": c + 1, "language": "en",
                                   "to_number": f"+4474{parent_id - 1:08d}", "body": "Reminder",
                                   "send_after": starts - delta,
                                   "status": "delivered" if held else "queued",
                                   "dedupe_key": f"reminder:s{sid}:e{enrolment_id}:{label}", "attempts": 1 if held else 0,
                                   "created_at": now, "updated_at": now})
    for table, rows, name in ((m.Cohort.__table__, cohorts, "cohorts"), (m.CohortSession.__table__, sessions, "sessions"),
                              (m.Enrolment.__table__, enrolments, "enrolments"),
                              (m.AttendanceMark.__table__, marks, "attendance_marks"),
                              (m.OutboxMessage.__table__, outbox, "outbox_messages"),
                              (m.RotaAssignment.__table__, rota, "rota_assignments")):
        _insert(db, table, rows)
        counts[name] = len(rows)
    if db.get_bind().dialect.name == "postgresql":
        # explicit ids were inserted: move each sequence past them
        from app.extensions import db as _db

        for table in _db.metadata.sorted_tables:
            if "id" in table.c and isinstance(table.c.id.type, sa.Integer) and table.c.id.primary_key:
                db.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"))
    return counts


def make_rota_term(db: Session, *, cohorts: int = 40, staff: int = 30) -> tuple[date, date]:
    """A future term of `cohorts` eight-session cohorts with no rota yet, for the auto-fill figure."""
    from app import models as m

    start = date(2027, 1, 12)
    centre_ids = db.scalars(sa.select(m.Centre.id).order_by(m.Centre.id)).all()
    keys = sorted(registry())
    for i in range(cohorts):
        centre = centre_ids[i % len(centre_ids)]
        room = db.scalar(sa.select(m.Room.id).where(m.Room.centre_id == centre).order_by(m.Room.id)
                         .offset((i // len(centre_ids)) % 2).limit(1))
        day = start + timedelta(days=i % 4)  # Tuesday to Friday
        at = [time(9, 30), time(13, 30)][(i // 4) % 2]
        prog = registry()[keys[i % len(keys)]]
        cohort = m.Cohort(programme_key=prog.key, centre_id=centre, room_id=room, start_date=day,
                          start_time=at, duration_minutes=prog.session_minutes, capacity=12)
        db.add(cohort)
        db.flush()
        for w in range(8):
            starts = local_to_utc(day + timedelta(weeks=w), at)
            db.add(m.CohortSession(cohort_id=cohort.id, number=w + 1, room_id=room, starts_at=starts,
                                   ends_at=starts + timedelta(minutes=prog.session_minutes)))
    db.flush()
    return start, start + timedelta(weeks=9)
