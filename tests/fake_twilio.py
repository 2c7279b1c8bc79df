"""A fake Twilio REST API on 127.0.0.1, for driving the real twilio SDK in tests.

It implements what the SDK calls for SMS: create a Message, list Messages (filtered by To and
DateSent>), fetch one; errors come back in Twilio's JSON format. Faults can be scripted:

    fake.fail_next(429, times=2)                   # rate limited, message not created
    fake.fail_next(500, record=True)               # Twilio took it but answered 500 (in doubt)
    fake.drop_next(record=True)                    # took it, then the connection dropped
    fake.reject_number("+447700900001", 21610)     # permanent errors: 21610, 21211, 21614
"""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "fake-auth-token-0123456789"
FROM_NUMBER = "+447700900999"

ERROR_MESSAGES = {
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
    21610: (21610, "Attempt to send to unsubscribed recipient"),
    21211: (21211, "The 'To' number is not a valid phone number."),
    21614: (21614, "'To' number is not a valid mobile number"),
}


@dataclass
class Fault:
    status: int
    record: bool = False
    drop: bool = False


class FakeTwilio:
    """The server; every created message is in .messages (dicts as Twilio returns them)."""

    def __init__(self):
        self.messages: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()
        self._faults: list[Fault] = []
        self._rejected: dict[str, int] = {}
        self._counter = itertools.count(1)
        #: what "now" is for date_sent (tests set it to their fixed clock)
        self.clock = lambda: datetime.now(timezone.utc)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between headers and body

            def log_message(self, *args):
                pass

            def _reply(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _error(self, status: int, code: int | None = None) -> None:
                code, message = ERROR_MESSAGES.get(code or status, (code or status, "Error"))
                self._reply(status, {"code": code, "message": message, "status": status,
                                     "more_info": f"https://www.twilio.com/docs/errors/{code}"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                with fake.lock:
                    fake.requests.append(("POST", self.path, form))
                if not self.path.endswith("/Messages.json"):
                    return self._error(404, 20404)
                if not self.headers.get("Authorization", "").startswith("Basic "):
                    return self._error(401, 20003)
                with fake.lock:
                    fault = fake._faults.pop(0) if fake._faults else None
                    rejected = fake._rejected.get(form.get("To", ""))
                if rejected:
                    return self._error(400, rejected)
                if fault is not None and not fault.record:
                    if fault.drop:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return None
                    return self._error(fault.status)
                message = fake._create(form, self.path)
                if fault is not None:  # recorded, but the client never hears so
                    if fault.drop:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return None
                    return self._error(fault.status)
                return self._reply(201, message)

            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                with fake.lock:
                    fake.requests.append(("GET", url.path, query))
                if url.path.endswith("/Messages.json"):
                    found = fake.find(to=query.get("To"), date_sent_after=query.get("DateSent>"))
                    size = int(query.get("PageSize", 50))
                    return self._reply(200, {"messages": found[:size], "end": max(len(found[:size]) - 1, 0),
                                             "first_page_uri": url.path, "next_page_uri": None, "page": 0,
                                             "page_size": size, "previous_page_uri": None, "start": 0,
                                             "uri": self.path})
                sid = url.path.rsplit("/", 1)[-1].removesuffix(".json")
                with fake.lock:
                    message = next((m for m in fake.messages if m["sid"] == sid), None)
                return self._reply(200, message) if message else self._error(404, 20404)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # many senders connect at once, as they may to Twilio

            def handle_error(self, request, client_address):
                pass  # dropped connections are the point of some faults

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def _create(self, form: dict, path: str) -> dict:
        with self.lock:
            n = next(self._counter)
            sid = "SM" + hashlib.md5(f"{id(self)}-{n}".encode()).hexdigest()
            stamp = format_datetime(self.clock().astimezone(timezone.utc), usegmt=True)
            message = {
                "sid": sid, "account_sid": ACCOUNT_SID, "to": form.get("To"), "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"), "body": form.get("Body", ""),
                "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
                "date_created": stamp, "date_sent": stamp, "date_updated": stamp, "error_code": None,
                "error_message": None, "price": None, "status_callback": form.get("StatusCallback"),
                "uri": path.replace(".json", f"/{sid}.json"),
            }
            self.messages.append(message)
            return message

    def find(self, to: str | None = None, date_sent_after: str | None = None) -> list[dict]:
        """Messages as the list API filters them: by To and DateSent>= (a date or a date-time)."""
        since = None
        if date_sent_after:
            since = datetime.fromisoformat(date_sent_after.replace("Z", "+00:00"))
            if since.tzinfo is None:
                since = since.replace(tzinfo=timezone.utc)
        from email.utils import parsedate_to_datetime

        with self.lock:
            return [m for m in reversed(self.messages)
                    if (not to or m["to"] == to)
                    and (since is None or parsedate_to_datetime(m["date_sent"]) >= since)]

    # --- scripting ---
    def fail_next(self, status: int, times: int = 1, record: bool = False) -> None:
        """The next create calls answer this HTTP status (record: the message was created anyway)."""
        with self.lock:
            self._faults.extend(Fault(status, record) for _ in range(times))

    def drop_next(self, times: int = 1, record: bool = True) -> None:
        """The next create calls get no answer at all: the connection is dropped."""
        with self.lock:
            self._faults.extend(Fault(0, record, drop=True) for _ in range(times))

    def reject_number(self, number: str, code: int) -> None:
        """Creates to this number fail with a permanent Twilio error (21610, 21211, 21614)."""
        with self.lock:
            self._rejected[number] = code

    def to(self, number: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if m["to"] == number]

    def creates(self) -> int:
        with self.lock:
            return sum(1 for method, path, _ in self.requests if method == "POST" and path.endswith("/Messages.json"))

    def config(self) -> dict:
        """App configuration that points the real twilio SDK here."""
        return {"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "TWILIO_FROM": FROM_NUMBER, "TWILIO_MESSAGING_SERVICE_SID": "", "TWILIO_API_BASE_URL": self.base_url,
                "TWILIO_TIMEOUT": 5}

    @property
    def url(self) -> str:
        return self.base_url

    def start(self) -> None:
        """The server starts when it is created; kept for callers that start it explicitly."""

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    stop = close
