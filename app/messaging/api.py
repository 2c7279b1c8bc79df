"""GET /api/v1/messages: the outbox, for one parent or (coordinators) everyone."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint

from app.api.core import BaseSchema, LondonDateTime, QueryId, StrictInteger
from app.auth.permissions import is_admin, requires
from app.errors import ValidationFailed
from app.extensions import db
from app.messaging.models import MESSAGE_KINDS, MESSAGE_STATUSES, OutboxMessage
from app.messaging.sms import mask_number

blp = Blueprint("messaging_api", __name__, url_prefix="/api/v1/messages", description="The SMS outbox")


class MessageQuerySchema(BaseSchema):
    parent_id = QueryId(metadata={"description": "Only this parent's messages (required for workers)"})
    status = ma.fields.String(validate=ma.validate.OneOf(MESSAGE_STATUSES))
    kind = ma.fields.String(validate=ma.validate.OneOf(MESSAGE_KINDS))
    limit = ma.fields.Integer(strict=False, load_default=200, validate=ma.validate.Range(min=1, max=1000))


class MessageSchema(ma.Schema):
    id = StrictInteger()
    parent_id = StrictInteger(allow_none=True)
    user_id = StrictInteger(allow_none=True)
    cohort_id = StrictInteger(allow_none=True)
    session_id = StrictInteger(allow_none=True)
    enrolment_id = StrictInteger(allow_none=True)
    kind = ma.fields.String(metadata={"enum": list(MESSAGE_KINDS)})
    status = ma.fields.String(metadata={"enum": list(MESSAGE_STATUSES)})
    language = ma.fields.String()
    body = ma.fields.String()
    to = ma.fields.Function(lambda m: mask_number(m.to_number), metadata={"description": "the number, masked"})
    send_after = LondonDateTime(metadata={"description": "not before this time (quiet hours applied)"})
    sent_at = LondonDateTime(allow_none=True)
    delivered_at = LondonDateTime(allow_none=True)
    attempts = StrictInteger()
    last_error = ma.fields.String(allow_none=True)


class MessageListSchema(ma.Schema):
    messages = ma.fields.List(ma.fields.Nested(MessageSchema))


@blp.route("", methods=["GET"])
@requires("messages.view")
@blp.arguments(MessageQuerySchema, location="query")
@blp.response(200, MessageListSchema)
def list_messages(query):
    """A parent's texts (newest first), with status; coordinators may list everyone's."""
    stmt = sa.select(OutboxMessage)
    if "parent_id" in query:
        from app.parents.services import get_parent

        parent = get_parent(db.session, query["parent_id"], current_user)  # 404 when not one of yours
        stmt = stmt.where(OutboxMessage.parent_id == parent.id)
    elif not is_admin():
        raise ValidationFailed("Give the parent_id of one of your families", "parent_id")
    if "status" in query:
        stmt = stmt.where(OutboxMessage.status == query["status"])
    if "kind" in query:
        stmt = stmt.where(OutboxMessage.kind == query["kind"])
    rows = db.session.scalars(stmt.order_by(OutboxMessage.send_after.desc(), OutboxMessage.id.desc())
                              .limit(query["limit"])).all()
    return {"messages": rows}
