"""The SDK's HTTP transport: kept-alive connections, encoding, proxies, certificates, never a repeated POST."""
from __future__ import annotations

import base64
import json
import logging
import shutil
import ssl
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from app.messaging import jobs
from app.messaging.models import OutboxMessage
from app.messaging.sms import SmsError, TwilioSender
from tests.factories import make_parent
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

UTC = timezone.utc
CREATE_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                   "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class _Server:
    """Records every request exactly as it arrived (request line, headers, raw body) and counts connections.

    mode: "keep" answers and keeps the connection open; "close" answers, then closes the connection
    without saying so (no "Connection: close"); "drop" reads the request and closes without answering.
    A CONNECT (a proxy tunnel) is refused with 403. tls: an ssl context to serve HTTPS with.
    """

    def __init__(self, mode: str = "keep", tls: ssl.SSLContext | None = None):
        self.connections = 0
        self.requests: list[tuple[str, object, bytes]] = []  # request line, headers (any case), body
        self.closed = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                outer.connections += 1

            def do_CONNECT(self):
                outer.requests.append((self.requestline, self.headers, b""))
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.close_connection = True

            def do_POST(self):
                outer.requests.append((self.requestline, self.headers,
                                       self.rfile.read(int(self.headers["Content-Length"]))))
                if mode == "drop":
                    self.close_connection = True
                    return
                raw = json.dumps({"sid": f"SM{len(outer.requests):032d}", "status": "queued", "to": "+447400000001",
                                  "body": "x", "direction": "outbound-api"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                self.close_connection = mode == "close"  # an idle timeout on the server's side, as load balancers have

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def shutdown_request(self, request):
                super().shutdown_request(request)
                outer.closed.set()

            def handle_error(self, request, client_address):
                pass  # failed handshakes are the point of some tests

        self.server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers():
    started: list[_Server] = []

    def start(mode: str = "keep", tls: ssl.SSLContext | None = None) -> _Server:
        started.append(_Server(mode, tls))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def clean_environment(monkeypatch):
    """No proxy or CA-bundle settings inherited from the machine running the tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _sender(url: str | None) -> TwilioSender:
    return TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number="+447700900999", api_base_url=url or "", timeout=5)


def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed(servers, clean_environment):
    server = servers("close")
    sender = _sender(server.url)
    assert sender.send("+447400000001", "first").sid.startswith("SM")
    assert server.closed.wait(5)
    # the kept-alive connection is dead: the next send must notice before writing, not come back "in doubt"
    assert sender.send("+447400000001", "second").sid.startswith("SM")
    assert server.connections == 2 and len(server.requests) == 2


def test_one_connection_is_kept_alive_between_messages(servers, clean_environment):
    server = servers("keep")
    sender = _sender(server.url)
    for i in range(6):
        sender.send(f"+44740000001{i}", "again")
    assert server.connections == 1 and len(server.requests) == 6


def test_requests_are_encoded_exactly_as_the_sdk_expects(servers, clean_environment):
    server = servers("keep")
    _sender(server.url).send("+447400000009", "Café at 10:00 & bring a towel",
                             status_callback="https://x.test/s?outbox=1&a=b")
    [(line, headers, body)] = server.requests
    assert line == f"POST {CREATE_PATH} HTTP/1.1"
    assert body == (b"To=%2B447400000009&StatusCallback=https%3A%2F%2Fx.test%2Fs%3Foutbox%3D1%26a%3Db"
                    b"&From=%2B447700900999&Body=Caf%C3%A9+at+10%3A00+%26+bring+a+towel")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Content-Length"] == str(len(body))
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert headers["Host"] == f"127.0.0.1:{server.port}"


def test_the_same_form_reaches_the_fake_twilio(fake_twilio, clean_environment):
    _sender(fake_twilio.url).send("+447400000009", "Café at 10:00 & bring a towel",
                                  status_callback="https://x.test/s?outbox=1&a=b")
    method, path, form = fake_twilio.requests[-1]
    assert method == "POST" and path == CREATE_PATH
    assert form == {"To": "+447400000009", "From": "+447700900999", "Body": "Café at 10:00 & bring a towel",
                    "StatusCallback": "https://x.test/s?outbox=1&a=b"}


def test_a_post_is_never_repeated_when_the_answer_is_lost(servers, clean_environment):
    server = servers("drop")
    with pytest.raises(SmsError) as raised:
        _sender(server.url).send("+447400000001", "once")
    assert raised.value.kind == "in_doubt"
    assert len(server.requests) == 1 and server.connections == 1


def test_a_refused_connection_is_retried_later_not_in_doubt(clean_environment):
    """Nothing reached Twilio when the connection was never made: a plain retry, no check needed."""
    import socket

    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens there now
    with pytest.raises(SmsError) as raised:
        _sender(f"http://127.0.0.1:{port}").send("+447400000001", "once")
    assert raised.value.kind == "retry"


def test_a_post_is_never_repeated_after_a_server_error(fake_twilio, clean_environment):
    fake_twilio.fail_next(503, record=True)
    with pytest.raises(SmsError) as raised:
        _sender(fake_twilio.url).send("+447400000001", "once")
    assert raised.value.kind == "in_doubt" and raised.value.status == 503
    assert fake_twilio.creates() == 1 and len(fake_twilio.messages) == 1


def test_the_environment_proxy_is_used_with_its_credentials(servers, clean_environment):
    server, proxy = servers("keep"), servers("keep")
    clean_environment.setenv("HTTP_PROXY", f"http://gw:{quote('s3cret/', safe='')}@127.0.0.1:{proxy.port}")
    assert _sender(server.url).send("+447400000001", "via the proxy").sid.startswith("SM")
    [(line, headers, _)] = proxy.requests
    assert line == f"POST {server.url}{CREATE_PATH} HTTP/1.1"  # an absolute URL: asked of a proxy
    assert headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"gw:s3cret/").decode()
    assert server.requests == []


def test_no_proxy_sends_directly(servers, clean_environment):
    server, proxy = servers("keep"), servers("keep")
    clean_environment.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    clean_environment.setenv("NO_PROXY", "127.0.0.1")
    assert _sender(server.url).send("+447400000001", "direct").sid.startswith("SM")
    assert len(server.requests) == 1 and proxy.requests == []


def test_https_goes_through_the_proxy_in_a_tunnel(servers, clean_environment):
    proxy = servers("keep")
    clean_environment.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    with pytest.raises(SmsError) as raised:  # the proxy refuses the tunnel: nothing reached Twilio
        _sender(None).send("+447400000001", "tunnelled")
    assert raised.value.kind == "in_doubt"
    assert [line.rsplit(" ", 1)[0] for line, _, _ in proxy.requests] == ["CONNECT api.twilio.com:443"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for "localhost" only (not for 127.0.0.1), and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(servers, certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return servers("keep", context)


def test_an_unknown_certificate_is_refused(tls_server, clean_environment):
    with pytest.raises(SmsError) as raised:
        _sender(f"https://localhost:{tls_server.port}").send("+447400000001", "unchecked")
    assert raised.value.kind == "in_doubt"
    assert tls_server.requests == []


def test_the_ca_bundle_from_the_environment_is_trusted(tls_server, certificate, clean_environment):
    clean_environment.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    assert _sender(f"https://localhost:{tls_server.port}").send("+447400000001", "checked").sid.startswith("SM")
    assert len(tls_server.requests) == 1


def test_a_certificate_for_another_host_name_is_refused(tls_server, certificate, clean_environment):
    clean_environment.setenv("CURL_CA_BUNDLE", str(certificate[0]))
    with pytest.raises(SmsError):
        _sender(f"https://127.0.0.1:{tls_server.port}").send("+447400000001", "wrong name")
    assert tls_server.requests == []


def test_phone_numbers_in_query_strings_stay_out_of_the_logs(fake_twilio, clean_environment, caplog):
    sender = _sender(fake_twilio.url)
    with caplog.at_level(logging.DEBUG):
        sender.send("+447400000123", "hello")
        assert sender.find_sent("+447400000123", "hello", datetime(2020, 1, 1, tzinfo=UTC)) is not None
    assert any("urllib3" in r.name for r in caplog.records)  # the transport does log, just not the numbers
    assert "447400000123" not in caplog.text and "hello" not in caplog.text


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
