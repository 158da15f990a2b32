"""SMS through an HTTP gateway (a provider's REST API), and to a directory for development.

:class:`HttpGateway` describes a provider: the URL, JSON or form body, authentication, how
our fields are named in its API, and how its answers read (which statuses are temporary, where
its own error code and text are). :class:`HttpSmsTransport` sends one request per number and
reports per number. Presets: :meth:`HttpGateway.gosms` (GoSMS.cz, a Czech provider) and
:meth:`HttpGateway.twilio`; check them against your account's documentation, they follow the
providers' published APIs and are tested here only against a local server that answers the
same way.

Each request carries a client reference, the message's id and the number (``reference``
field): a provider that deduplicates by it (``idempotent=True``) makes a retry after a timeout
safe; with any other, a request that timed out after it was sent may have been delivered, and
the retry sends it again (at-least-once; the send log shows both attempts). HTTP 429 and 503
with ``Retry-After`` defer the message at least that long.
"""

from __future__ import annotations

import email.utils
import json
import re
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import attrs
import httpx

from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import RecipientOutcome
from contos_messaging.errors import (
    AuthenticationFailed,
    ConfigurationError,
    TLSFailure,
    TransportConfigurationError,
    TransportTemporaryError,
    TransportTimeout,
)
from contos_messaging.ports.transports import DeliveryReport

__all__ = ["FileSmsTransport", "HttpGateway", "HttpSmsTransport"]

_TEMPORARY = frozenset({408, 425, 429, 500, 502, 503, 504})


def _path(data: Any, path: str | None) -> Any:
    """``data["a"]["b"]`` for ``path`` ``"a.b"`` (list items by number), or None."""
    if not path:
        return None
    for part in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


@attrs.frozen(kw_only=True)
class HttpGateway:
    """How to talk to one SMS provider's HTTP API.

    ``fields`` names our values in the provider's body: ``to`` (E.164), ``text``, ``sender``
    and ``reference`` (a field left out is not sent); ``static`` adds fixed fields (a channel
    id, say). ``to_format`` ``"e164"`` (``+420601123456``) or ``"digits"`` (``420601123456``).
    Authentication: ``bearer`` token, ``basic`` (user, password) or ``headers``. An answer is
    accepted when its status is in ``accepted`` and, with ``success_path``, the value there is
    in ``success_values``; the provider's id of the message is read at ``id_path``. A refusal's
    code and text are read at ``error_code_path`` / ``error_text_path`` (else the HTTP status
    and body); it is temporary when the HTTP status is in ``temporary`` (429, 5xx...).
    """

    url: str
    name: str = "http-sms"
    body: Literal["json", "form"] = "json"
    fields: Mapping[str, str] = attrs.field(
        factory=lambda: {"to": "to", "text": "text", "sender": "from", "reference": "reference"}
    )
    static: Mapping[str, Any] = attrs.field(factory=dict)
    to_format: Literal["e164", "digits"] = "e164"
    recipients_as_list: bool = False
    bearer: str | None = attrs.field(default=None, repr=False)
    basic: tuple[str, str] | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    accepted: frozenset[int] = frozenset({200, 201, 202})
    success_path: str | None = None
    success_values: frozenset[Any] = frozenset()
    id_path: str | None = None
    error_code_path: str | None = None
    error_text_path: str | None = None
    temporary: frozenset[int] = _TEMPORARY
    idempotent: bool = False
    timeout: float = 15.0

    def __attrs_post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise ConfigurationError(f"the gateway URL must be http(s), got {self.url!r}")
        if self.url.startswith("http://") and not re.match(
            r"^http://(127\.0\.0\.1|localhost|\[::1\])[:/]", self.url
        ):
            raise ConfigurationError("a gateway over plain http is allowed on loopback only")
        unknown = set(self.fields) - {"to", "text", "sender", "reference"}
        if unknown:
            raise ConfigurationError(f"unknown gateway fields {sorted(unknown)}")
        if "to" not in self.fields or "text" not in self.fields:
            raise ConfigurationError("the gateway needs the fields 'to' and 'text'")
        if not 0 < self.timeout <= 300:
            raise ConfigurationError("the gateway timeout must be 0 to 300 seconds")

    @classmethod
    def gosms(cls, access_token: str, *, channel: int, url: str | None = None) -> HttpGateway:
        """GoSMS.cz (Czech): ``POST /api/v1/messages`` with a bearer token, JSON
        ``{"message", "recipients", "channel"}``; 201 with ``link`` on success, errors as
        ``{"status": code, "detail": text}``."""
        return cls(
            url=url or "https://app.gosms.eu/api/v1/messages",
            name="gosms",
            fields={"to": "recipients", "text": "message"},
            static={"channel": channel},
            recipients_as_list=True,
            bearer=access_token,
            accepted=frozenset({200, 201}),
            id_path="link",
            error_code_path="status",
            error_text_path="detail",
        )

    @classmethod
    def twilio(
        cls, account_sid: str, auth_token: str, *, sender: str, url: str | None = None
    ) -> HttpGateway:
        """Twilio: ``POST /2010-04-01/Accounts/{sid}/Messages.json``, basic auth, form
        ``To``, ``From``, ``Body``; 201 with ``sid``, errors as ``{"code", "message"}``. Twilio
        does not deduplicate: at-least-once."""
        base = url or f"https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Messages.json"
        return cls(
            url=base,
            name="twilio",
            body="form",
            fields={"to": "To", "text": "Body"},
            static={"From": sender},
            basic=(account_sid, auth_token),
            accepted=frozenset({200, 201}),
            id_path="sid",
            error_code_path="code",
            error_text_path="message",
        )


def _tls_failure(exc: BaseException) -> bool:
    """Whether an HTTP error came from a certificate that did not verify."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class HttpSmsTransport:
    """Sends SMS through an :class:`HttpGateway`, one request per number, over one reused
    connection pool (``ca_file`` adds a private CA; certificates are always verified)."""

    def __init__(
        self,
        gateway: HttpGateway,
        *,
        sender: str | None = None,
        ca_file: str | Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(gateway, HttpGateway):
            raise ConfigurationError("give an HttpGateway")
        self._gateway = gateway
        self._sender = sender
        verify: Any = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(f"cannot load the CA file {ca_file}: {exc}") from exc
        auth = httpx.BasicAuth(*gateway.basic) if gateway.basic else None
        headers = dict(gateway.headers)
        if gateway.bearer:
            headers["Authorization"] = f"Bearer {gateway.bearer}"
        self._client = httpx.AsyncClient(
            verify=verify, auth=auth, headers=headers, timeout=gateway.timeout,
            transport=transport, follow_redirects=False,
        )  # fmt: skip
        self._closed = False

    @property
    def name(self) -> str:
        """The gateway's name, for the send log."""
        return self._gateway.name

    def _body(self, sms: Message, number: str) -> dict[str, Any]:
        gateway = self._gateway
        to = number if gateway.to_format == "e164" else number.lstrip("+")
        values = {
            "to": [to] if gateway.recipients_as_list else to,
            "text": sms.text or "",
            "sender": self._sender or sms.sender,
            "reference": f"{sms.id}:{number}",
        }
        body = dict(gateway.static)
        for ours, theirs in gateway.fields.items():
            body[theirs] = values[ours]
        return body

    async def send(
        self, sms: Message, /, *, recipients: tuple[str, ...] | None = None
    ) -> DeliveryReport:
        """Send ``sms`` to each number (all of its numbers without ``recipients``)."""
        if self._closed:
            raise TransportConfigurationError("the transport is closed", transport=self.name)
        numbers = recipients or sms.recipients.envelope
        outcomes: list[RecipientOutcome] = []
        for index, number in enumerate(numbers):
            try:
                outcomes.append(await self._send_one(sms, number))
            except TransportTemporaryError as exc:
                if not any(o.accepted for o in outcomes):
                    raise  # (nothing went out: the message is deferred as a whole)
                # Some numbers have it already: only this one and the rest are retried.
                reply = exc.reply or str(exc)
                outcomes += [
                    RecipientOutcome(rest, False, exc.code, reply, temporary=True)
                    for rest in numbers[index:]
                ]
                break
        return DeliveryReport(self.name, tuple(outcomes))

    async def _send_one(self, sms: Message, number: str) -> RecipientOutcome:
        gateway = self._gateway
        body = self._body(sms, number)
        try:
            if gateway.body == "json":
                response = await self._client.post(gateway.url, json=body)
            else:
                response = await self._client.post(gateway.url, data=body)
        except httpx.TimeoutException as exc:
            safe = "" if gateway.idempotent else " (it may have been delivered: at-least-once)"
            raise TransportTimeout(
                f"the gateway did not answer in {gateway.timeout:g} s{safe}", transport=self.name
            ) from exc
        except httpx.HTTPError as exc:
            if _tls_failure(exc):
                raise TLSFailure(
                    f"the gateway's TLS certificate is not trusted (give ca_file= for a private"
                    f" CA): {exc}",
                    transport=self.name,
                ) from exc
            raise TransportTemporaryError(
                f"cannot reach the gateway: {exc}", transport=self.name
            ) from exc
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        status = response.status_code
        if status in gateway.accepted and (
            gateway.success_path is None
            or _path(data, gateway.success_path) in gateway.success_values
        ):
            provider_id = _path(data, gateway.id_path)
            reply = f"{status} {provider_id}" if provider_id else str(status)
            given = "" if provider_id is None else str(provider_id)[:200]
            return RecipientOutcome(number, True, status, reply, provider_id=given)
        code = _path(data, gateway.error_code_path)
        text = _path(data, gateway.error_text_path) or response.text[:300]
        reason = f"{text}".strip() or response.reason_phrase
        their_code = int(code) if isinstance(code, int | str) and str(code).isdigit() else status
        if status in (401, 403):
            raise AuthenticationFailed(
                f"the gateway refused the credentials ({status}): {reason}",
                transport=self.name, code=their_code, reply=reason,
            )  # fmt: skip
        if status in gateway.temporary:
            error = TransportTemporaryError(
                f"the gateway is busy or failing ({status}): {reason}",
                transport=self.name, code=their_code, reply=reason,
                retry_after=_retry_after(response),
            )  # fmt: skip
            if status in (429, 503) or status >= 500:
                raise error  # (the gateway as a whole: the message is deferred)
            return RecipientOutcome(number, False, their_code, reason, temporary=True)
        if status in (404, 405) or 300 <= status < 400:
            raise TransportConfigurationError(
                f"the gateway URL answers {status}: {reason}", transport=self.name, code=status
            )
        return RecipientOutcome(number, False, their_code, reason, temporary=False)

    async def aclose(self) -> None:
        """Close the connection pool (again: nothing)."""
        if not self._closed:
            self._closed = True
            await self._client.aclose()


class FileSmsTransport:
    """Development transport: each SMS is written as a JSON file to ``directory`` (one per
    number), nothing is sent."""

    def __init__(self, directory: str | Path, *, name: str = "file-sms") -> None:
        self._directory = Path(directory)
        self._name = name
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create {self._directory}: {exc}") from exc

    @property
    def name(self) -> str:
        """``file-sms``."""
        return self._name

    async def send(
        self, sms: Message, /, *, recipients: tuple[str, ...] | None = None
    ) -> DeliveryReport:
        """Write one file per number: ``<message id>-<number>.json``."""
        outcomes = []
        for number in recipients or sms.recipients.envelope:
            path = self._directory / f"{sms.id}-{number.lstrip('+')}.json"
            record = {"id": sms.id, "to": number, "from": sms.sender, "text": sms.text}
            try:
                path.write_text(json.dumps(record, ensure_ascii=False, indent=1), "utf-8")
            except OSError as exc:
                raise TransportTemporaryError(
                    f"cannot write {path}: {exc}", transport=self.name
                ) from exc
            outcomes.append(RecipientOutcome(number, True, 250, str(path)))
        return DeliveryReport(self.name, tuple(outcomes))

    async def aclose(self) -> None:
        """Nothing to close."""
