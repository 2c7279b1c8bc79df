"""The shared factories build valid rows on both databases (the schema's constraints accept them)."""
from tests import factories


def test_factories_build_a_family_enrolled_in_a_cohort(db):
    enrolment = factories.make_enrolment(db.session)
    db.session.commit()
    assert enrolment.cohort.sessions and len(enrolment.cohort.sessions) == 8
    assert enrolment.parent.children[0].date_of_birth is not None
    # 10:00 London on 8 September 2026 (BST) is 09:00 UTC
    assert enrolment.cohort.sessions[0].starts_at.hour == 9
