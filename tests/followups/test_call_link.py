"""The follow-up page offers the parent's mobile as people write it, with a tap-to-call link."""
from app.followups.services import open_followup
from tests.factories import make_parent


def test_follow_up_page_shows_a_tap_to_call_number(client, login_as, db, now):
    admin = login_as("admin")
    parent = make_parent(db.session, mobile="+447400123456")
    followup = open_followup(db.session, kind="sms_reply", parent=parent, now=now, summary="Reply")
    db.session.commit()
    page = client.get(f"/follow-ups/{followup.id}").get_data(as_text=True)
    assert 'href="tel:+447400123456"' in page and "07400 123456" in page
