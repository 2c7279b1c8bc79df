"""Imports every feature's models so the metadata is complete (Alembic, create_all)."""
from app.attendance.models import AttendanceMark, MarkReceipt, SessionNote  # noqa: F401
from app.audit.models import AuditEvent  # noqa: F401
from app.auth.models import ApiToken, User  # noqa: F401
from app.calendar.models import CalendarInvite, CalendarToken  # noqa: F401
from app.centres.models import Centre, ClosureDay, Room  # noqa: F401
from app.cohorts.models import Cohort, CohortSession, ScheduleChange  # noqa: F401
from app.eligibility.models import Ward, WardPostcode  # noqa: F401
from app.enrolment.models import CrecheBooking, Enrolment  # noqa: F401
from app.followups.models import FollowUp  # noqa: F401
from app.messaging.models import InboundMessage, OutboxMessage, SmsTemplate  # noqa: F401
from app.outcomes.models import OutcomeScore  # noqa: F401
from app.parents.models import Child, Parent, parent_children  # noqa: F401
from app.rota.models import RotaAssignment  # noqa: F401
from app.staff.models import Availability, Leave, StaffCentre, StaffQualification  # noqa: F401
