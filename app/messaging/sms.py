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
                             http_client=_twilio_http_client(api_base_url or None, timeout, cache_environment=True))

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
