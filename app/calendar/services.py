"""Calendar links and what each feed shows: the rules, as plain functions.

A link belongs to one parent, one member of staff or one cohort. Its token is derived from
a random nonce with SECRET_KEY (HMAC-SHA256), and only the token's SHA-256 is stored, so
the same URL can be shown to staff again while the database alone opens no feed.
Rotating or revoking a link makes the old URL answer 404 at once.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import uuid
from base64 import urlsafe_b64encode
from datetime import datetime
from typing import Iterable, Optional, Union
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session, aliased, joinedload

from app.audit.services import record
from app.auth.models import User
from app.calendar import ics
from app.calendar.models import CalendarInvite, CalendarToken
from app.centres.models import Centre, Room
from app.cohorts.models import Cohort, CohortSession
from app.enrolment.models import CrecheBooking, Enrolment
from app.parents.models import Parent
from app.rota.models import RotaAssignment
from app.timeutil import format_local
from programmes import get_programme

Owner = Union[Parent, User, Cohort]

#: a token is 32 bytes of HMAC output in unpadded base64url: 43 characters, 256 bits
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
#: feed statuses of an enrolment: enrolled parents see every session; those who left see the past
FEED_STATUSES = ("enrolled", "withdrawn", "transferred")
#: last_fetched_at is written at most this often
TOUCH_EVERY_SECONDS = 3600


# -- settings --------------------------------------------------------------------------------

def _secret() -> bytes:
    return current_app.config["SECRET_KEY"].encode()


def base_url() -> str:
    """PUBLIC_BASE_URL without a trailing slash."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def host() -> str:
    """The host name used in every UID (from PUBLIC_BASE_URL)."""
    return urlsplit(base_url()).hostname or "groupwork.invalid"


# -- tokens and links ------------------------------------------------------------------------

def _owner_key(owner: Owner) -> tuple[str, int]:
    if isinstance(owner, Parent):
        return "parent", owner.id
    if isinstance(owner, User):
        return "user", owner.id
    if isinstance(owner, Cohort):
        return "cohort", owner.id
    raise TypeError(f"no calendar for {type(owner).__name__}")


def derive_token(kind: str, owner_id: int, nonce: str) -> str:
    """The URL token for a link: HMAC-SHA256 of its owner and nonce under SECRET_KEY."""
    mac = hmac.new(_secret(), f"calendar:{kind}:{owner_id}:{nonce}".encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(mac).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    """Hex SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_of(link: CalendarToken) -> str:
    """The token of an existing link (recomputed; never stored)."""
    return derive_token(link.owner_kind, link.owner_id, link.nonce)


def url_of(link: CalendarToken) -> str:
    """The https feed URL of a link."""
    return f"{base_url()}/calendar/{token_of(link)}.ics"


def webcal_url(url: str) -> str:
    """The webcal:// form of a feed URL, which phones open as 'subscribe to calendar'."""
    scheme, _, rest = url.partition("://")
    return f"webcal://{rest}" if scheme in ("http", "https") else url


def current_link(db: Session, owner: Owner) -> Optional[CalendarToken]:
    """The owner's live (not revoked) link, if any."""
    kind, owner_id = _owner_key(owner)
    column = {"parent": CalendarToken.parent_id, "user": CalendarToken.user_id, "cohort": CalendarToken.cohort_id}[kind]
    return db.scalars(sa.select(CalendarToken).where(column == owner_id, CalendarToken.revoked_at.is_(None))
                      .order_by(CalendarToken.id.desc()).limit(1)).first()


def _audit(db: Session, action: str, link: CalendarToken, *, now: datetime, actor) -> None:
    record(db, action, link, actor=actor, parent_id=link.parent_id, at=now,
           changes={"owner": f"{link.owner_kind} {link.owner_id}"})


def create_link(db: Session, owner: Owner, *, now: datetime, actor=None) -> CalendarToken:
    """A new link for the owner (any previous live link stays as it is)."""
    kind, owner_id = _owner_key(owner)
    nonce = secrets.token_urlsafe(32)
    link = CalendarToken(nonce=nonce, token_hash=hash_token(derive_token(kind, owner_id, nonce)),
                         created_at=now, **{f"{kind}_id": owner_id})
    db.add(link)
    db.flush()
    _audit(db, "calendar_link.create", link, now=now, actor=actor)
    return link


def ensure_link(db: Session, owner: Owner, *, now: datetime, actor=None) -> CalendarToken:
    """The owner's live link, created if there is none."""
    return current_link(db, owner) or create_link(db, owner, now=now, actor=actor)


def parent_feed_url(db: Session, parent: Parent, *, now: datetime, actor=None) -> str:
    """The https URL of the parent's private feed; the same URL every time until rotated."""
    return url_of(ensure_link(db, parent, now=now, actor=actor))


def staff_feed_url(db: Session, user: User, *, now: datetime, actor=None) -> str:
    """The https URL of a member of staff's rota feed."""
    return url_of(ensure_link(db, user, now=now, actor=actor))


def cohort_feed_url(db: Session, cohort: Cohort, *, now: datetime, actor=None) -> str:
    """The https URL of a cohort's feed, for a centre's shared calendar."""
    return url_of(ensure_link(db, cohort, now=now, actor=actor))


def revoke(db: Session, owner: Owner, *, now: datetime, actor=None) -> int:
    """Switch off the owner's live links; returns how many were live."""
    kind, owner_id = _owner_key(owner)
    column = getattr(CalendarToken, f"{kind}_id")
    links = db.scalars(sa.select(CalendarToken).where(column == owner_id, CalendarToken.revoked_at.is_(None))).all()
    for link in links:
        link.revoked_at = now
        _audit(db, "calendar_link.revoke", link, now=now, actor=actor)
    db.flush()
    return len(links)


def rotate(db: Session, owner: Owner, *, now: datetime, actor=None) -> str:
    """Revoke the owner's link and make a new one; returns the new URL."""
    revoke(db, owner, now=now, actor=actor)
    return url_of(create_link(db, owner, now=now, actor=actor))


def _live_link(link: Optional[CalendarToken], token: str, wanted: str) -> Optional[CalendarToken]:
    if link is None or not hmac.compare_digest(link.token_hash, wanted):
        return None
    # A link made under an earlier SECRET_KEY no longer derives to this token: refuse it too.
    if not hmac.compare_digest(token_of(link), token):
        return None
    return link


@functools.cache
def _link_and_owner_query() -> sa.Select:
    """A live link by its token hash, with its owner (built once: it is the same for every token)."""
    return (sa.select(CalendarToken, Parent, User, Cohort)
            .outerjoin(Parent, Parent.id == CalendarToken.parent_id)
            .outerjoin(User, User.id == CalendarToken.user_id)
            .outerjoin(Cohort, Cohort.id == CalendarToken.cohort_id)
            .where(CalendarToken.token_hash == sa.bindparam("token_hash"), CalendarToken.revoked_at.is_(None)))


def find_link_and_owner(db: Session, token: str) -> tuple[Optional[CalendarToken], Optional[Owner]]:
    """The live link with this token and its live owner, in one query: (None, None) for a link that opens
    nothing (malformed, unknown, revoked, or its owner erased or switched off all look the same)."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None, None
    wanted = hash_token(token)
    row = db.execute(_link_and_owner_query(), {"token_hash": wanted}).first()
    link = _live_link(row[0] if row is not None else None, token, wanted)
    if link is None:
        return None, None
    _, parent, user, cohort = row
    owner = _live_owner(parent if link.parent_id else user if link.user_id else cohort)
    return (link, owner) if owner is not None else (None, None)


def touch(link: CalendarToken, now: datetime) -> None:
    """Note that a calendar app fetched the feed (at most once an hour)."""
    if link.last_fetched_at is None or (now - link.last_fetched_at).total_seconds() >= TOUCH_EVERY_SECONDS:
        link.last_fetched_at = now


def _live_owner(owner: Optional[Owner]) -> Optional[Owner]:
    """The owner unless it is missing, an erased parent or a switched-off member of staff."""
    if isinstance(owner, Parent):
        return owner if owner.erased_at is None else None
    if isinstance(owner, User):
        return owner if owner.is_enabled else None
    return owner


def may_manage_parent(db: Session, user: User, parent: Parent) -> bool:
    """The parent is one of the user's families (the parents feature decides which those are)."""
    from app.parents.services import can_see

    return can_see(db, user, parent)


# -- what the feeds show ---------------------------------------------------------------------

def _location(name: str, address: str, postcode: Optional[str]) -> str:
    """A centre as one line: name, address and (unless the address has it) postcode."""
    parts = [name, address]
    if postcode and postcode.replace(" ", "").upper() not in address.replace(" ", "").upper():
        parts.append(postcode)
    return ", ".join(p.strip() for p in parts if p and p.strip())


def _describe(*, session_id: int, starts_at: datetime, ends_at: datetime, sequence: Optional[int], status: str,
              is_catch_up: bool, number: int, room_name: Optional[str], programme, centre_name: str, location: str,
              audience: str, creche_places: Optional[int] = None, role: Optional[str] = None) -> ics.EventInfo:
    """The rules of `event_info`, on plain values (the parent's feed reads them without loading objects)."""
    title = programme.public_name
    if audience == "staff" and role:
        title = f"{title} ({'crèche' if role == 'creche' else 'facilitator'})"
    lines: list[str] = []
    if status == "cancelled":
        lines.append("This session has been cancelled.")
    if is_catch_up:
        lines.append("Catch-up session.")
    else:
        lines.append(f"Session {number} of {programme.weeks}.")
    if room_name is not None:
        lines.append(f"Room: {room_name}.")
    if audience != "staff" and programme.what_to_bring:
        lines.append(programme.what_to_bring)
    if audience == "parent" and programme.creche and creche_places is not None:
        if creche_places:
            who = "your child" if creche_places == 1 else f"your {creche_places} children"
            lines.append(f"Crèche: a place is booked for {who} at this session.")
        else:
            lines.append("Crèche: no place is booked for this session.")
    return ics.EventInfo(
        session_id=session_id, starts_at=starts_at, ends_at=ends_at,
        sequence=sequence or 0, cancelled=status == "cancelled", title=title,
        location=location, description="\n".join(lines),
        alarm_text=f"{title} at {centre_name}, {format_local(starts_at, '%H:%M')}",
    )


def event_info(session: CohortSession, *, audience: str, creche_places: Optional[int] = None,
               role: Optional[str] = None) -> ics.EventInfo:
    """What a session's VEVENT says to a parent ('parent'), staff ('staff') or a centre ('cohort').

    Only the programme's public (discreet) name is used: calendars show on locked phones.
    """
    cohort = session.cohort
    centre = cohort.centre
    return _describe(session_id=session.id, starts_at=session.starts_at, ends_at=session.ends_at,
                     sequence=session.sequence, status=session.status, is_catch_up=session.is_catch_up,
                     number=session.number, room_name=session.room.name if session.room is not None else None,
                     programme=cohort.programme, centre_name=centre.name,
                     location=_location(centre.name, centre.address, centre.postcode),
                     audience=audience, creche_places=creche_places, role=role)


def creche_places(db: Session, enrolment_ids: Iterable[int]) -> dict[int, int]:
    """session id -> number of booked crèche places for these enrolments."""
    ids = list(enrolment_ids)
    if not ids:
        return {}
    rows = db.execute(sa.select(CrecheBooking.session_id, sa.func.count())
                      .where(CrecheBooking.enrolment_id.in_(ids), CrecheBooking.status == "booked")
                      .group_by(CrecheBooking.session_id)).all()
    return {session_id: count for session_id, count in rows}


def _left_at(status: str, withdrawn_at: Optional[datetime], transferred_to_id: Optional[int],
             transfer_waitlisted_at: Optional[datetime], transfer_enrolled_at: Optional[datetime],
             updated_at: Optional[datetime]) -> Optional[datetime]:
    """When a parent left a cohort (withdrawn or transferred), or None if they are in it."""
    if status == "enrolled":
        return None
    if withdrawn_at is not None:
        return withdrawn_at
    # A transfer is dated by the enrolment it made in the new cohort
    # (waitlisted_at first: a later promotion sets enrolled_at after the transfer).
    if transferred_to_id is not None and (transfer_waitlisted_at or transfer_enrolled_at):
        return transfer_waitlisted_at or transfer_enrolled_at
    return updated_at


@functools.cache
def _parent_feed_query() -> sa.Select:
    """The query of `parent_events`, built once (it is the same for every parent but the id)."""
    new = aliased(Enrolment)
    places = (sa.select(sa.func.count()).select_from(CrecheBooking)
              .where(CrecheBooking.session_id == CohortSession.id, CrecheBooking.enrolment_id == Enrolment.id,
                     CrecheBooking.status == "booked")
              .scalar_subquery())
    return (sa.select(CohortSession.id, CohortSession.starts_at, CohortSession.ends_at, CohortSession.sequence,
                      CohortSession.status, CohortSession.is_catch_up, CohortSession.number,
                      Room.name.label("room_name"), Cohort.programme_key, Centre.name.label("centre_name"),
                      Centre.address, Centre.postcode, Enrolment.status.label("enrolment_status"),
                      Enrolment.withdrawn_at, Enrolment.transferred_to_id, new.waitlisted_at, new.enrolled_at,
                      Enrolment.updated_at, places.label("places"))
            .join(Enrolment, Enrolment.cohort_id == CohortSession.cohort_id)
            .join(Cohort, Cohort.id == CohortSession.cohort_id)
            .join(Centre, Centre.id == Cohort.centre_id)
            .outerjoin(Room, Room.id == CohortSession.room_id)
            .outerjoin(new, new.id == Enrolment.transferred_to_id)
            .where(Enrolment.parent_id == sa.bindparam("parent_id"), Enrolment.status.in_(FEED_STATUSES))
            .order_by(CohortSession.starts_at, CohortSession.id))


def parent_events(db: Session, parent: Parent) -> list[ics.EventInfo]:
    """The parent's feed entries, with their crèche bookings.

    Every session of a cohort they are in; only the past ones of a cohort they left (withdrawn
    or transferred). Waiting-list places are not in the feed: the parent has no session to go to yet.
    One query, of plain values: each session with its cohort, centre and room, the enrolment
    (and the one a transfer made), and the crèche places booked for it under that enrolment.
    """
    rows = db.execute(_parent_feed_query(), {"parent_id": parent.id}).all()
    programmes: dict[str, object] = {}
    locations: dict[tuple, str] = {}
    out = []
    for row in rows:
        cutoff = _left_at(row.enrolment_status, row.withdrawn_at, row.transferred_to_id, row.waitlisted_at,
                          row.enrolled_at, row.updated_at)
        if cutoff is not None and not row.starts_at < cutoff:
            continue
        if row.programme_key not in programmes:
            programmes[row.programme_key] = get_programme(row.programme_key)
        place = (row.centre_name, row.address, row.postcode)
        if place not in locations:
            locations[place] = _location(*place)
        out.append(_describe(session_id=row.id, starts_at=row.starts_at, ends_at=row.ends_at, sequence=row.sequence,
                             status=row.status, is_catch_up=row.is_catch_up, number=row.number,
                             room_name=row.room_name, programme=programmes[row.programme_key],
                             centre_name=row.centre_name, location=locations[place], audience="parent",
                             creche_places=row.places or 0))
    return out


def staff_events(db: Session, user: User) -> list[ics.EventInfo]:
    """A member of staff's rota: each session they are assigned to, with their role."""
    rows = db.execute(sa.select(CohortSession, RotaAssignment.role)
                      .join(RotaAssignment, RotaAssignment.session_id == CohortSession.id)
                      .where(RotaAssignment.user_id == user.id)
                      .options(joinedload(CohortSession.cohort).joinedload(Cohort.centre),
                               joinedload(CohortSession.room))).all()
    return [event_info(s, audience="staff", role=role) for s, role in rows]


def cohort_events(db: Session, cohort: Cohort) -> list[ics.EventInfo]:
    """Every session of a cohort, for the centre's shared calendar."""
    return [event_info(s, audience="cohort") for s in cohort.sessions]


def calendar_uid(kind: str, owner_id: int) -> str:
    """The calendar's own UID."""
    # Stable for the owner across link rotations, and says nothing about who they are.
    digest = hmac.new(_secret(), f"calendar-uid:{kind}:{owner_id}".encode(), hashlib.sha256).digest()
    return f"{uuid.UUID(bytes=digest[:16])}@{host()}"


def _calendar_name(owner: Owner) -> str:
    if isinstance(owner, Parent):
        return "Children's centre groups"
    if isinstance(owner, User):
        return "My Groupwork rota"
    return f"{owner.programme.public_name}, {owner.centre.name}"


def events_for(db: Session, owner: Owner) -> list[ics.EventInfo]:
    """The feed entries of a parent, user or cohort."""
    if isinstance(owner, Parent):
        return parent_events(db, owner)
    if isinstance(owner, User):
        return staff_events(db, owner)
    return cohort_events(db, owner)


def feed_ics(db: Session, owner: Owner, *, now: datetime) -> bytes:
    """The whole feed of a parent, user or cohort as iCalendar bytes."""
    kind, owner_id = _owner_key(owner)
    return ics.feed(name=_calendar_name(owner), uid=calendar_uid(kind, owner_id),
                    events=events_for(db, owner), host=host(), now=now)


def owner_session_ics(db: Session, owner: Owner, session_id: int, *, now: datetime) -> Optional[bytes]:
    """One session from the owner's feed as a download, or None if it is not in their feed."""
    info = next((e for e in events_for(db, owner) if e.session_id == session_id), None)
    if info is None:
        return None
    kind, owner_id = _owner_key(owner)
    return ics.single(info, name=_calendar_name(owner), uid=calendar_uid(kind, owner_id), host=host(), now=now)


def session_ics(db: Session, session: CohortSession, *, now: datetime) -> bytes:
    """One session for staff to hand out (no family's details in it)."""
    info = event_info(session, audience="cohort")
    return ics.single(info, name=session.cohort.programme.public_name, uid=calendar_uid("session", session.id),
                      host=host(), now=now)


# -- e-mail invitations: the outbox ----------------------------------------------------------

def email_enabled() -> bool:
    """True when the service has an SMTP server configured."""
    return bool((current_app.config.get("SMTP_URL") or "").strip())


def may_email(parent: Parent) -> bool:
    """The parent gets calendar e-mails: an address, consent, and not erased."""
    return bool(parent.email and parent.email_consent and parent.erased_at is None)


def queue_invites(db: Session, parent: Parent, sessions: Iterable[CohortSession], method: str, *,
                  now: datetime) -> list[CalendarInvite]:
    """Queue one invitation (REQUEST or CANCEL) per session; a still-pending one is replaced.

    Nothing is queued without SMTP_URL, an e-mail address and the parent's consent.
    """
    if not email_enabled() or not may_email(parent):
        return []
    sessions = list(sessions)
    if not sessions:
        return []
    pending = {inv.session_id: inv for inv in db.scalars(sa.select(CalendarInvite).where(
        CalendarInvite.parent_id == parent.id, CalendarInvite.status == "pending",
        CalendarInvite.session_id.in_([s.id for s in sessions])))}
    out = []
    for session in sessions:
        invite = pending.get(session.id)
        if invite is None:
            invite = CalendarInvite(parent_id=parent.id, session_id=session.id, method=method, status="pending",
                                    created_at=now, send_after=now)
            db.add(invite)
        else:
            invite.method = method
        out.append(invite)
    db.flush()
    return out


def future_sessions(cohort: Cohort, now: datetime, *, include_cancelled: bool = False) -> list[CohortSession]:
    """A cohort's sessions that have not started yet."""
    return [s for s in cohort.sessions if s.starts_at > now and (include_cancelled or s.status != "cancelled")]


def enrolled_parents(db: Session, cohort_id: int) -> list[Parent]:
    """Parents holding a place in a cohort."""
    return list(db.scalars(sa.select(Parent).join(Enrolment, Enrolment.parent_id == Parent.id)
                           .where(Enrolment.cohort_id == cohort_id, Enrolment.status == "enrolled")))
