"""The SDK's HTTP transport: kept-alive connections, a server that closes one, proxies and certificates."""
from __future__ import annotations

import json
import ssl
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from app.messaging import jobs
from app.messaging.models import OutboxMessage
from app.messaging.sms import DirectHttpClient, TwilioSender
from tests.factories import make_parent
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

UTC = timezone.utc


class _ClosingServer:
    """Answers every create, then closes the connection without saying so (no "Connection: close")."""

    def __init__(self):
        self.connections = 0
        self.bodies: list[bytes] = []
        self.closed = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                outer.connections += 1

            def do_POST(self):
                outer.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                raw = json.dumps({"sid": f"SM{len(outer.bodies):032d}", "status": "queued", "to": "+447400000001",
                                  "body": "x", "direction": "outbound-api"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                self.close_connection = True  # an idle timeout on the server's side, as load balancers have

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def shutdown_request(self, request):
                super().shutdown_request(request)
                outer.closed.set()

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def closing_server():
    server = _ClosingServer()
    yield server
    server.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed(closing_server):
    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number="+447700900999", api_base_url=closing_server.url,
                          timeout=5)
    assert sender.send("+447400000001", "first").sid.startswith("SM")
    assert closing_server.closed.wait(5)
    # the kept-alive connection is dead: the next send must notice before writing, not come back "in doubt"
    assert sender.send("+447400000001", "second").sid.startswith("SM")
    assert closing_server.connections == 2 and len(closing_server.bodies) == 2


def test_requests_are_encoded_as_the_sdk_expects(fake_twilio):
    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number="+447700900999", api_base_url=fake_twilio.url,
                          timeout=5)
    sender.send("+447400000009", "Café at 10:00 & bring a towel", status_callback="https://x.test/s?outbox=1&a=b")
    method, path, form = fake_twilio.requests[-1]
    assert method == "POST" and path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert form == {"To": "+447400000009", "From": "+447700900999", "Body": "Café at 10:00 & bring a towel",
                    "StatusCallback": "https://x.test/s?outbox=1&a=b"}
    # one connection per sending thread, kept alive between messages
    for i in range(5):
        sender.send(f"+44740000001{i}", "again")
    assert len(sender.client.http_client._local.connections) == 1


def test_through_a_proxy_the_sdk_client_is_used_and_certificates_are_checked(monkeypatch):
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    direct = DirectHttpClient(None, 5)._route(url, ("https", "api.twilio.com"))
    assert isinstance(direct, ssl.SSLContext)
    assert direct.verify_mode == ssl.CERT_REQUIRED and direct.check_hostname

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    proxied = DirectHttpClient(None, 5)._route(url, ("https", "api.twilio.com"))
    assert not isinstance(proxied, (ssl.SSLContext, str)) and proxied.session is not None  # the SDK's own client

    monkeypatch.setenv("NO_PROXY", "api.twilio.com")
    assert isinstance(DirectHttpClient(None, 5)._route(url, ("https", "api.twilio.com")), ssl.SSLContext)


@pytest.mark.parametrize("change", [
    {"sms_consent": False},
    {"mobile_problem": "21211: not a valid number"},
    {"sms_opted_out_at": datetime(2026, 8, 30, tzinfo=UTC)},
    {"erased_at": datetime(2026, 8, 30, tzinfo=UTC)},
])
def test_every_reason_a_parent_cannot_be_texted_cancels_the_text(db, now, fake_twilio, change):
    parent = make_parent(db.session)
    ok = make_parent(db.session)
    for p in (parent, ok):
        db.session.add(OutboxMessage(kind="reminder", dedupe_key=f"t:{p.id}", parent_id=p.id, to_number=p.mobile,
                                     body="Hello", send_after=now - timedelta(minutes=1)))
    for name, value in change.items():
        setattr(parent, name, value)
    db.session.commit()
    assert not parent.can_receive_sms and ok.can_receive_sms
    assert jobs.send_due_messages(db.session, now) == {"cancelled": 1, "sent": 1}
    assert [m["to"] for m in fake_twilio.messages] == [ok.mobile]
    status = dict(db.session.execute(sa.select(OutboxMessage.parent_id, OutboxMessage.status)).all())
    assert status == {parent.id: "cancelled", ok.id: "sent"}


def test_a_corrected_mobile_is_used_for_the_send(db, now, fake_twilio):
    parent = make_parent(db.session)
    db.session.add(OutboxMessage(kind="reminder", dedupe_key="t", parent_id=parent.id, to_number=parent.mobile,
                                 body="Hello", send_after=now - timedelta(minutes=1)))
    parent.mobile = "+447400999888"
    db.session.commit()
    assert jobs.send_due_messages(db.session, now) == {"sent": 1}
    assert fake_twilio.messages[0]["to"] == "+447400999888"
    assert db.session.scalar(sa.select(OutboxMessage.to_number)) == "+447400999888"
