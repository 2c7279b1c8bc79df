"""Domain events: how one feature tells others that something happened, without importing them.

Services send these after they have flushed their change; receivers (SMS outbox, calendar,
audit) add their own rows in the same transaction and never commit. Senders pass keyword
arguments only, always including ``now`` (the service's clock) and ``actor`` (a User or None).

    from app import events
    events.enrolment_created.send(enrolment, now=now, actor=user)

    @events.enrolment_created.connect
    def queue_confirmation(enrolment, now, actor, **_): ...
"""
from blinker import Namespace

_signals = Namespace()

#: sender: Enrolment (status enrolled or waitlisted)
enrolment_created = _signals.signal("enrolment-created")
#: sender: Enrolment that moved from waitlisted to enrolled
enrolment_promoted = _signals.signal("enrolment-promoted")
#: sender: Enrolment now withdrawn (kwarg reason)
enrolment_withdrawn = _signals.signal("enrolment-withdrawn")
#: sender: the old Enrolment (status transferred); kwarg new_enrolment
enrolment_transferred = _signals.signal("enrolment-transferred")
#: sender: ScheduleChange (kind moved, cancelled, catch_up_added, cohort_cancelled, room_changed)
schedule_changed = _signals.signal("schedule-changed")
#: sender: AttendanceMark after it changed (kwarg previous_status, may be None)
attendance_marked = _signals.signal("attendance-marked")
#: sender: CohortSession whose rota changed after publication; kwarg user_ids (the people affected)
rota_changed = _signals.signal("rota-changed")
#: sender: Parent who opted out of (or back into) SMS; kwarg opted_out (bool)
sms_consent_changed = _signals.signal("sms-consent-changed")
