"""Twilio webhooks: delivery status and inbound SMS. Exempt from CSRF; Twilio signs them instead.

The signature is checked against PUBLIC_BASE_URL + the path and query string, never
request.url: behind a TLS-terminating proxy the app sees http://, while Twilio signed the
https:// address it called. Anything unsigned or forged gets 403 and changes nothing.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import IntegrityError

from app.auth.permissions import public
from app.extensions import db
from app.messaging import receivers  # noqa: F401  (connect the event receivers)
from app.messaging import services
from app.timeutil import now

bp = Blueprint("twilio_webhooks", __name__, url_prefix="/webhooks/twilio")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def public_url() -> str:
    """The URL Twilio called: the configured public base, this path and the query string."""
    query = request.query_string.decode("utf-8", "replace")
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.path + (f"?{query}" if query else "")


def signature_is_valid() -> bool:
    """True when X-Twilio-Signature matches this request for our auth token."""
    from twilio.request_validator import RequestValidator

    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    return RequestValidator(token).validate(public_url(), request.form, signature)


def _forbidden() -> Response:
    return Response("Forbidden: the request is not signed by Twilio.", status=403, mimetype="text/plain")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@bp.route("/status", methods=["POST"])
@public
def status():
    """Twilio's delivery status callback: the outbox row's status moves forward only."""
    if not signature_is_valid():
        return _forbidden()
    sid = (request.form.get("MessageSid") or request.form.get("SmsSid") or "")[:64]
    state = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    services.record_delivery_status(db.session, sid=sid, status=state, now=now(),
                                    outbox_id=_int(request.args.get("outbox")),
                                    error_code=_int(request.form.get("ErrorCode")))
    db.session.commit()
    return Response(status=204)


@bp.route("/inbound", methods=["POST"])
@public
def inbound():
    """An SMS to the service number: stored, then opt-out, opt-in or a task for the parent's worker."""
    if not signature_is_valid():
        return _forbidden()
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    sender = (request.form.get("From") or "").strip()
    if not sid or not sender:
        return Response(EMPTY_TWIML, mimetype="text/xml")
    try:
        services.receive_reply(db.session, sid=sid, from_number=sender, body=request.form.get("Body", "")[:1600],
                               now=now())
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same message delivered twice at once: the other request stored it
    return Response(EMPTY_TWIML, mimetype="text/xml")
