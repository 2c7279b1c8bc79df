"""One SmsSender interface with two backends: console (development) and twilio (the official SDK).

A sender only talks to the provider; it never touches the database. The scheduler job decides
what to do with each outcome: errors are classified here so the job can tell a message that was
certainly not sent (retry), one that may have been sent (in doubt: ask Twilio before resending)
and one that never will be (permanent).
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Protocol
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

#: Twilio error codes that mean "never going to work for this number"
OPTED_OUT_CODES = frozenset({21610})
BAD_NUMBER_CODES = frozenset({21211, 21614, 30005, 30006})


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it took a message."""

    sid: str
    #: the provider's status (queued, accepted, sent, ...)
    status: str = "queued"


class SmsError(Exception):
    """A send that did not (certainly) happen.

    kind is "retry" (certainly not sent, e.g. 429), "in_doubt" (timeout or 5xx: may have been
    sent) or "permanent" (never retry).
    """

    def __init__(self, kind: str, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return (f"{self.code}: " if self.code else "") + self.message


class SmsSender(Protocol):
    """What the scheduler needs from an SMS provider."""

    name: str

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        """Hand one message to the provider; raise SmsError when it did not certainly take it."""

    def find_sent(self, to: str, body: str, since: datetime, exclude: frozenset[str] = frozenset()) -> SendResult | None:
        """A message with this body already sent to this number since a moment (reconciliation after a crash)."""


def mask_number(number: str | None) -> str:
    """A phone number with the middle hidden, e.g. +44…56 (for screens and console lines)."""
    if not number:
        return ""
    return f"{number[:3]}…{number[-2:]}" if len(number) > 6 else "…"


class ConsoleSender:
    """The development default: prints each message to standard output and remembers it in memory."""

    name = "console"
    _lock = threading.Lock()
    #: every message "sent" in this process: (sid, to, body)
    sent: list[tuple[str, str, str]] = []

    def __init__(self, stream=None):
        self.stream = stream

    def send(self, to: str, body: str, *, status_callback: str | None = None, kind: str = "") -> SendResult:
        sid = "CONSOLE" + uuid.uuid4().hex
        with self._lock:
            self.sent.append((sid, to, body))
        # deliberately print, not log: logs never carry message bodies
        print(f"SMS to {mask_number(to)}{f' [{kind}]' if kind else ''}: {body}", file=self.stream, flush=True)
        return SendResult(sid, "sent")

    def find_sent(self, to: str, body: str, since: datetime, exclude: frozenset[str] = frozenset()) -> SendResult | None:
        with self._lock:
            for sid, number, text in self.sent:
                if number == to and text == body and sid not in exclude:
                    return SendResult(sid, "sent")
        return None


def _twilio_http_client(base_url: str | None, timeout: float, cache_environment: bool = False):
    """The SDK's HTTP client, quiet (it would log phone numbers) and optionally pointed at another base URL.

    cache_environment: read the proxy and CA-bundle environment variables once per host, not on
    every request (requests scans the whole environment twice per call: a fifth of the CPU time
    of each send). The environment of a running process does not change, so nothing is lost.
    """
    from twilio.http.http_client import TwilioHttpClient

    class GroupworkHttpClient(TwilioHttpClient):
        def __init__(self):
            super().__init__(timeout=timeout, logger=log)
            self.base = urlsplit(base_url) if base_url else None
            if cache_environment and self.session is not None:
                self.session.merge_environment_settings = _per_host(self.session.merge_environment_settings)

        def request(self, method, url, *args, **kwargs):
            if self.base is not None:
                # keep Twilio's path (/2010-04-01/Accounts/...), swap only where it goes
                parts = urlsplit(url)
                url = urlunsplit((self.base.scheme, self.base.netloc, self.base.path.rstrip("/") + parts.path,
                                  parts.query, ""))
            return super().request(method, url, *args, **kwargs)

        def log_request(self, kwargs):  # the query string holds phone numbers
            pass

        def log_response(self, status_code, response):
            pass

    return GroupworkHttpClient()


def _per_host(merge):
    """Session.merge_environment_settings remembered per (scheme, host) for the SDK's fixed arguments."""
    cache: dict[tuple, dict] = {}
    lock = threading.Lock()

    def merged(url, proxies, stream, verify, cert):
        if proxies or stream is not None or verify is not None or cert is not None:
            return merge(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        settings = cache.get(key)
        if settings is None:
            settings = merge(url, proxies, stream, verify, cert)
            with lock:
                cache[key] = settings
        return dict(settings, proxies=dict(settings["proxies"]))

    return merged


class DirectHttpClient:
    """The SDK's HTTP client interface (twilio.http.HttpClient) over http.client, one kept-alive connection per thread.

    The SDK builds each request and parses each answer as usual; only the transport differs from its
    own requests-based client, whose per-request machinery (prepared requests, cookies, hooks,
    environment lookups, a pool manager) costs more CPU than the rest of a send together, and which
    writes headers and body in two packets. Kept: one timeout for connect and read, no retries (a
    POST is never repeated behind our back), no redirects, certificates and host names verified
    against the bundle requests would use (REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE or certifi's). A
    kept-alive connection the server has closed is noticed before it is reused. When the environment
    routes the API host through a proxy, requests go through the SDK's requests-based client instead.
    Never logs: the query string and body hold phone numbers.
    """

    is_async = False

    def __init__(self, base_url: str | None, timeout: float):
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)
        self.timeout = timeout
        self.logger = log
        self.base = urlsplit(base_url) if base_url else None
        self._local = threading.local()  # each thread's connections, by (scheme, host)
        self._routes: dict[tuple[str, str], object] = {}  # (scheme, host) -> "plain", a TLS context or the fallback
        self._auth: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._fallback = None

    def _route(self, url: str, key: tuple[str, str]):
        """How to reach a host: "plain", an ssl context, or the requests-based client (through a proxy)."""
        route = self._routes.get(key)
        if route is not None:
            return route
        with self._lock:
            route = self._routes.get(key)
            if route is None:
                import os
                import ssl

                from requests import Session
                from requests.utils import DEFAULT_CA_BUNDLE_PATH, select_proxy

                settings = Session().merge_environment_settings(url, {}, None, None, None)
                if select_proxy(url, settings["proxies"]):
                    if self._fallback is None:
                        self._fallback = _twilio_http_client(None, self.timeout, cache_environment=True)
                    route = self._fallback
                elif key[0] != "https":
                    route = "plain"
                elif settings["verify"]:
                    location = settings["verify"] if isinstance(settings["verify"], str) else DEFAULT_CA_BUNDLE_PATH
                    route = ssl.create_default_context(**{"capath" if os.path.isdir(location) else "cafile": location})
                else:  # verification switched off in the environment (as requests would honour it)
                    route = ssl.create_default_context()
                    route.check_hostname = False
                    route.verify_mode = ssl.CERT_NONE
                self._routes[key] = route
        return route

    def _connection(self, key: tuple[str, str], route, timeout: float):
        connections = self._local.__dict__.setdefault("connections", {})
        connection = connections.get(key)
        if connection is not None and connection.sock is not None and _dropped(connection.sock):
            connection.close()  # the server closed it while idle: reconnect rather than fail the request
        if connection is None:
            if route == "plain":
                connection = _Connection(key[1], timeout=timeout)
            else:
                connection = _TlsConnection(key[1], timeout=timeout, context=route)
            connections[key] = connection
        if connection.timeout != timeout:
            connection.timeout = timeout
            if connection.sock is not None:
                connection.sock.settimeout(timeout)
        return connection

    def request(self, method: str, url: str, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects: bool = False):
        from twilio.http.response import Response

        if timeout is None:
            timeout = self.timeout
        elif timeout <= 0:
            raise ValueError(timeout)
        parts = urlsplit(url)
        if self.base is not None:
            # keep Twilio's path (/2010-04-01/Accounts/...), swap only where it goes
            parts = parts._replace(scheme=self.base.scheme, netloc=self.base.netloc,
                                   path=self.base.path.rstrip("/") + parts.path)
            url = urlunsplit(parts._replace(fragment=""))
        key = (parts.scheme, parts.netloc)
        route = self._route(url, key)
        if not (route == "plain" or hasattr(route, "wrap_socket")):
            return route.request(method, url, params=params, data=data, headers=headers, auth=auth,
                                 timeout=timeout, allow_redirects=allow_redirects)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        query = _encode(params)
        if query:
            target += ("&" if parts.query else "?") + query
        headers = dict(headers or {})
        if auth:
            basic = self._auth.get(auth)
            if basic is None:
                import base64

                basic = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode("latin-1")).decode("ascii")
                self._auth[auth] = basic
            headers["Authorization"] = basic
        body = None
        if data:
            if headers.get("Content-Type") in ("application/json", "application/scim+json"):
                import json

                body = json.dumps(data).encode("utf-8")
            else:
                body = _encode(data).encode("ascii")
        elif method.upper() in ("POST", "PUT"):
            body = b""
        connection = self._connection(key, route, timeout)
        try:
            # headers and body go out in one write (see _one_write)
            connection.request(method.upper(), target, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
        except BaseException:
            connection.close()  # never reuse a connection in an unknown state
            raise
        return Response(answer.status, text, answer.headers)


def _one_write(cls):
    """An http.client connection class that writes a request's headers and (bytes) body in one send.

    http.client sends them separately, so the server is woken twice per request and reads the
    body in a second round; joined, each request is one packet and one wake-up.
    """

    class OneWrite(cls):
        def _send_output(self, message_body=None, encode_chunked=False):
            if isinstance(message_body, bytes) and not encode_chunked and isinstance(getattr(self, "_buffer", None), list):
                self._buffer.extend((b"", b""))
                message = b"\r\n".join(self._buffer) + message_body
                del self._buffer[:]
                self.send(message)
                return
            super()._send_output(message_body, encode_chunked=encode_chunked)

    OneWrite.__name__ = OneWrite.__qualname__ = f"OneWrite{cls.__name__}"
    return OneWrite


def _connection_classes():
    import http.client

    return _one_write(http.client.HTTPConnection), _one_write(http.client.HTTPSConnection)


_Connection, _TlsConnection = _connection_classes()


def _dropped(sock) -> bool:
    """An idle kept-alive socket that is readable has been closed by the server (or is out of step)."""
    import select

    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _encode(mapping) -> str:
    """Form/query encoding as requests does it: None values left out, lists repeated."""
    from urllib.parse import urlencode

    if not mapping:
        return ""
    pairs = []
    for key, values in mapping.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        pairs.extend((key, value) for value in values if value is not None)
    return urlencode(pairs)


def point_client_at(client, base_url: str, timeout: float = 15.0):
    """Make a twilio Client send its requests to another base URL (a fake Twilio); returns the client."""
    client.http_client = _twilio_http_client(base_url, timeout)
    return client


class TwilioSender:
    """Sends through the official twilio SDK."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, *, from_number: str = "", messaging_service_sid: str = "",
                 api_base_url: str = "", timeout: float = 15.0):
        from twilio.rest import Client

        if not account_sid or not auth_token:
            raise RuntimeError("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        if not (from_number or messaging_service_sid):
            raise RuntimeError("SMS_BACKEND=twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.client = Client(account_sid, auth_token,
                             http_client=DirectHttpClient(api_base_url or None, timeout))

    def send(self, to: str, body: str, *, status_callback: str | None = None, kind: str = "") -> SendResult:
        from twilio.base.exceptions import TwilioRestException

        params: dict[str, str] = {"to": to, "body": body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        if status_callback:
            params["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise classify_rest_error(exc) from None
        except Exception as exc:  # noqa: BLE001 - network: the request may have reached Twilio
            raise SmsError("in_doubt", f"no answer from Twilio ({type(exc).__name__})") from None
        return SendResult(message.sid, message.status or "queued")

    def find_sent(self, to: str, body: str, since: datetime, exclude: frozenset[str] = frozenset()) -> SendResult | None:
        from twilio.base.exceptions import TwilioRestException

        try:
            found = self.client.messages.list(to=to, date_sent_after=since, limit=200)
        except TwilioRestException as exc:
            raise classify_rest_error(exc, listing=True) from None
        except Exception as exc:  # noqa: BLE001
            raise SmsError("in_doubt", f"could not list messages ({type(exc).__name__})") from None
        wanted = _normalise(body)
        for message in found:
            if message.sid in exclude or (message.direction or "outbound").startswith("inbound"):
                continue
            if _normalise(message.body or "") == wanted:
                return SendResult(message.sid, message.status or "sent")
        return None


def _normalise(text: str) -> str:
    return " ".join(text.split())


def classify_rest_error(exc, listing: bool = False) -> SmsError:
    """Turn a Twilio REST error into retry / in doubt / permanent."""
    status = getattr(exc, "status", None) or 0
    code = getattr(exc, "code", None)
    message = (getattr(exc, "msg", "") or "Twilio error").splitlines()[0][:200]
    if status == 429:
        return SmsError("retry", "Twilio is rate limiting: " + message, code=code, status=status)
    if status >= 500 or status == 0:
        # the create may have been processed; a list call simply failed
        return SmsError("retry" if listing else "in_doubt", message, code=code, status=status)
    return SmsError("permanent", message, code=code, status=status)


def sender_from_config(config: Mapping) -> SmsSender:
    """The configured backend (SMS_BACKEND), built from the app's configuration."""
    backend = config.get("SMS_BACKEND", "console")
    if backend == "twilio":
        if config.get("TESTING") and not (config.get("TWILIO_API_BASE_URL") or config.get("SEND_SMS_IN_TESTS")):
            raise RuntimeError("refusing to send real SMS from tests: set TWILIO_API_BASE_URL to a fake Twilio")
        return TwilioSender(config.get("TWILIO_ACCOUNT_SID", ""), config.get("TWILIO_AUTH_TOKEN", ""),
                            from_number=config.get("TWILIO_FROM", ""),
                            messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID", ""),
                            api_base_url=config.get("TWILIO_API_BASE_URL", ""),
                            timeout=float(config.get("TWILIO_TIMEOUT", 15)))
    return ConsoleSender()
