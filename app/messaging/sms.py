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


def _twilio_http_client(base_url: str | None, timeout: float):
    """The SDK's own requests-based HTTP client, quiet (it would log phone numbers), optionally sent elsewhere."""
    from twilio.http.http_client import TwilioHttpClient

    class GroupworkHttpClient(TwilioHttpClient):
        def __init__(self):
            super().__init__(timeout=timeout, logger=log)
            self.base = urlsplit(base_url) if base_url else None

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


def _never_connected(exc: BaseException) -> bool:
    """True when the connection to Twilio was never made (refused, or timed out while connecting)."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    seen = exc
    for _ in range(5):  # the cause chain: urllib3's error may be wrapped
        if isinstance(seen, (NewConnectionError, ConnectTimeoutError)):
            return True
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else (seen.__cause__ or seen.__context__)
        if seen is None:
            return False
    return False


class DirectHttpClient:
    """The SDK's HTTP client interface (twilio.http.HttpClient) over urllib3, one pool shared by the sending threads.

    The SDK builds each request and parses each answer as usual; only the transport differs from its
    own requests-based client, whose per-request machinery (prepared requests, cookies, hooks,
    environment lookups on every call) costs more CPU than the rest of a send together. urllib3 (the
    transport requests itself uses) keeps the connections alive, replaces one the server has closed
    while idle, verifies certificates and host names, and goes through a proxy. Kept as requests
    does it: the proxy the environment names for the host (HTTPS_PROXY, NO_PROXY, ...), the CA
    bundle from REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE or certifi's, both read once per host (the
    environment of a running process does not change). One timeout for connect and read, no
    retries (a POST is never repeated behind our back), no redirects. Never logs the query string
    or the body: they hold phone numbers.
    """

    is_async = False

    def __init__(self, base_url: str | None, timeout: float, pool_size: int = 8):
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)
        self.timeout = timeout
        self.logger = log
        self.base = urlsplit(base_url) if base_url else None
        #: connections kept alive per host: as many as threads send at once (more are opened and closed)
        self.pool_size = max(int(pool_size), 1)
        self._managers: dict[tuple, object] = {}  # (proxy, CA bundle) -> a urllib3 PoolManager / ProxyManager
        self._hosts: dict[tuple[str, str], object] = {}  # (scheme, host) -> its manager
        self._auth: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        _quiet_urllib3()

    def _manager(self, url: str, key: tuple[str, str]):
        """The urllib3 manager for a host: direct or through the environment's proxy, with requests' CA bundle."""
        manager = self._hosts.get(key)
        if manager is not None:
            return manager
        with self._lock:
            manager = self._hosts.get(key)
            if manager is None:
                import os

                import urllib3
                from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies, select_proxy

                proxy = select_proxy(url, get_environ_proxies(url))
                bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") \
                    or DEFAULT_CA_BUNDLE_PATH
                manager = self._managers.get((proxy, bundle))
                if manager is None:
                    options = dict(maxsize=self.pool_size, block=False, retries=False,
                                   timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                                   cert_reqs="CERT_REQUIRED",
                                   **{"ca_cert_dir" if os.path.isdir(bundle) else "ca_certs": bundle})
                    if proxy is None:
                        manager = urllib3.PoolManager(**options)
                    elif proxy.lower().startswith("socks"):
                        from urllib3.contrib.socks import SOCKSProxyManager

                        manager = SOCKSProxyManager(proxy, **options)
                    else:
                        from requests.utils import get_auth_from_url

                        user, password = get_auth_from_url(proxy)
                        headers = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}") if user else None
                        manager = urllib3.ProxyManager(proxy, proxy_headers=headers, **options)
                    self._managers[(proxy, bundle)] = manager
                self._hosts[key] = manager
        return manager

    def request(self, method: str, url: str, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects: bool = False):
        import urllib3
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
        query = _encode(params)
        if query:
            parts = parts._replace(query=f"{parts.query}&{query}" if parts.query else query)
        url = urlunsplit(parts._replace(fragment=""))
        manager = self._manager(url, (parts.scheme, parts.netloc))
        headers = dict(headers or {})
        if auth:
            basic = self._auth.get(auth)
            if basic is None:
                basic = urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}")["authorization"]
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
        options = {} if timeout == self.timeout else {"timeout": urllib3.Timeout(connect=timeout, read=timeout)}
        answer = manager.urlopen(method.upper(), url, body=body, headers=headers, redirect=False, retries=False,
                                 **options)
        return Response(answer.status, answer.data.decode("utf-8", "replace"), answer.headers)


def _quiet_urllib3():
    """urllib3 logs each request line at DEBUG, query string included: keep the path, drop the query."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _NoQueryStrings) for f in logger.filters):
        logger.addFilter(_NoQueryStrings())


class _NoQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "?" in a for a in record.args):
            record.args = tuple(a.split("?", 1)[0] + "?…" if isinstance(a, str) and "?" in a else a
                                for a in record.args)
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
                 api_base_url: str = "", timeout: float = 15.0, pool_size: int = 8):
        from twilio.rest import Client

        if not account_sid or not auth_token:
            raise RuntimeError("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        if not (from_number or messaging_service_sid):
            raise RuntimeError("SMS_BACKEND=twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.client = Client(account_sid, auth_token,
                             http_client=DirectHttpClient(api_base_url or None, timeout, pool_size))

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
            if _never_connected(exc):  # no connection was made, so nothing reached Twilio
                raise SmsError("retry", f"could not reach Twilio ({type(exc).__name__})") from None
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
                            timeout=float(config.get("TWILIO_TIMEOUT", 15)),
                            # a kept-alive connection for each sending thread (jobs.py sends from 8 unless told)
                            pool_size=int(config.get("SMS_SEND_CONCURRENCY") or 8))
    return ConsoleSender()
