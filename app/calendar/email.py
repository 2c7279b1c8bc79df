"""Calendar invitations by e-mail (iMIP, RFC 6047) through the standard library's SMTP client.

Each message carries one session (one UID, as iTIP asks): a plain-text part and a
``text/calendar; method=REQUEST`` (or ``CANCEL``) part that mail apps show as an invitation.
An update is a REQUEST with the same UID and a higher SEQUENCE.

SMTP_URL forms: ``smtp://host:25`` (plain), ``smtp://user:pass@host:587?starttls=true`` or
``smtp+starttls://user:pass@host:587`` (STARTTLS), ``smtps://user:pass@host:465`` (TLS from the start).
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Optional
from urllib.parse import parse_qs, unquote, urlsplit

from app.calendar import ics
from app.timeutil import format_local

#: seconds to wait for the mail server before giving up (the scheduler retries later)
SMTP_TIMEOUT = 15


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: Optional[str]
    password: Optional[str]
    #: "ssl" (implicit TLS), "starttls" or None (plain, e.g. a relay on the same host)
    security: Optional[str]


def parse_smtp_url(url: str) -> SmtpSettings:
    """Read SMTP_URL; a ValueError names what is wrong (never the password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ValueError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host name")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("SMTP_URL has a port that is not a number") from None
    query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
    if scheme == "smtps":
        security = "ssl"
    elif scheme == "smtp+starttls" or query.get("starttls") in ("1", "true", "yes"):
        security = "starttls"
    else:
        security = None
    default_port = {"ssl": 465, "starttls": 587, None: 25}[security]
    return SmtpSettings(host=parts.hostname, port=port or default_port,
                        username=unquote(parts.username) if parts.username else None,
                        password=unquote(parts.password) if parts.password else None, security=security)


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, logged-in SMTP connection."""
    if settings.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=SMTP_TIMEOUT,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT)
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if settings.username:
        smtp.login(settings.username, settings.password or "")
    return smtp


def _body(method: str, info: ics.EventInfo, *, first_name: str, withdrawn: bool) -> str:
    when = f"{format_local(info.starts_at, '%A %d %B %Y, %H:%M')} to {format_local(info.ends_at, '%H:%M')}"
    if method == "CANCEL":
        opening = ("You are no longer booked on this session, so it has been taken out of your calendar."
                   if withdrawn else "This session has been cancelled. It has been taken out of your calendar.")
    elif info.sequence > 0:
        opening = "This session has changed. Your calendar will show the new details."
    else:
        opening = "You are booked on this session. Open the invitation to add it to your calendar."
    lines = [f"Hello {first_name}," if first_name else "Hello,", "", opening, "",
             f"{info.title}", f"When: {when}"]
    if info.location:
        lines.append(f"Where: {info.location}")
    lines += ["", info.description, "", "If you have any questions, please call the children's centre.", ""]
    return "\n".join(lines)


def build_message(*, method: str, info: ics.EventInfo, to: str, first_name: str, mail_from: str, host: str,
                  now: datetime, sequence: int, withdrawn: bool, calendar_uid: str) -> EmailMessage:
    """One invitation e-mail: plain text and the iTIP part for one session."""
    label = {"REQUEST": "Updated" if info.sequence > 0 else "Invitation", "CANCEL": "Cancelled"}[method]
    msg = EmailMessage()
    msg["Subject"] = f"{label}: {info.title}, {format_local(info.starts_at, '%a %d %b, %H:%M')}"
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=host)
    msg.set_content(_body(method, info, first_name=first_name, withdrawn=withdrawn))
    calendar = ics.invitation(info, method=method, host=host, now=now, organizer=parseaddr(mail_from)[1] or mail_from,
                              attendee=(to, first_name), sequence=sequence, uid=calendar_uid, name=info.title)
    msg.add_alternative(calendar.decode("utf-8"), subtype="calendar", charset="utf-8", params={"method": method})
    return msg
