"""Every size and count a caller controls, with its limit: one frozen value in
:class:`~contos_messaging.MessengerSettings` (``settings.limits``), checked where the value enters.

Crossing a limit raises :class:`~contos_messaging.errors.LimitExceeded`, which names the value,
its size, the limit and the field of :class:`Limits` that changes it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from contos_messaging.domain.message import Channel, Message
from contos_messaging.domain.mime_size import base64_size
from contos_messaging.errors import ConfigurationError, InvalidInput, LimitExceeded

__all__ = ["Limits", "check_grace", "check_lease", "check_outbox_run", "check_span"]

_MIB = 1024 * 1024


def _positive(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"Limits.{attribute.name} must be a positive whole number")


def _at_most(bound: int) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if value > bound:
            raise ConfigurationError(f"Limits.{attribute.name} can be at most {bound:,}")

    return check


def _field(default: int) -> int:
    return attrs.field(default=default, validator=_positive)


@attrs.frozen(kw_only=True)
class Limits:
    """The limits of one messenger. Defaults suit an office's everyday mail with a wide margin;
    raise one with ``MessengerSettings(..., limits=Limits(recipients=2000))``.

    - ``query_chars`` / ``query_terms``: the length of a search text and its number of words.
    - ``offset``: how deep a list or search page may start by offset; past it, a list pages on
      with ``after=page.next_after`` (keyset, unbounded) and a search narrows its filters.
    - ``page_size``: the most items on one page (``MessageQuery.limit``).
    - ``recipients``: addresses of one e-mail (To, Cc and Bcc together) or numbers of one SMS.
    - ``subject_chars``: characters of a subject (at most 998, RFC 5322's line limit).
    - ``html_bytes`` / ``text_bytes``: a body, in bytes of UTF-8.
    - ``attachments``: files attached to one message.
    - ``attachments_bytes``: the attachments of one message together, as base64 on the wire;
      the transport's own size limit applies as well, whichever is lower.
    - ``template_chars``: the source of one template part; ``template_depth``: how deeply its
      blocks, brackets and parentheses may nest.
    - ``sms_segments``: segments one SMS may cost (each is charged; see ``domain/sms.py``).
    """

    query_chars: int = _field(1_000)
    query_terms: int = _field(32)
    offset: int = _field(10_000)
    page_size: int = _field(1_000)
    recipients: int = _field(500)
    subject_chars: int = attrs.field(default=998, validator=[_positive, _at_most(998)])
    html_bytes: int = _field(2 * _MIB)
    text_bytes: int = _field(1 * _MIB)
    attachments: int = _field(100)
    attachments_bytes: int = _field(25 * _MIB)
    template_chars: int = _field(200_000)
    template_depth: int = _field(40)
    sms_segments: int = _field(6)

    def check(self, setting: str, what: str, value: int, unit: str = "") -> None:
        """Raise :class:`LimitExceeded` if ``value`` is over the limit named ``setting``."""
        limit: int = getattr(self, setting)
        if value > limit:
            raise LimitExceeded(what, value, limit, setting, unit)

    def check_message(self, message: Message) -> None:
        """Raise :class:`LimitExceeded` for the first of the message's recipients, subject,
        bodies and attachments over its limit."""
        self.check("recipients", "the number of recipients", len(message.recipients))
        self.check("subject_chars", "the subject", len(message.subject), "characters")
        for setting, what, body in (
            ("html_bytes", "the HTML body", message.html),
            ("text_bytes", "the text body", message.text),
        ):
            if body:
                self.check(setting, what, _utf8_size(body), "bytes")
        if message.channel is Channel.SMS:
            cost = message.sms_cost
            if cost is not None:
                self.check("sms_segments", f"the SMS ({cost.encoding})", cost.segments, "segments")
        attachments = message.attachments
        self.check("attachments", "the number of attachments", len(attachments))
        wire = sum(base64_size(a.size) for a in attachments)
        self.check("attachments_bytes", "the attachments (as base64)", wire, "bytes")


def _utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8, without encoding it when every character is ASCII."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def check_span(what: str, value: timedelta, low: timedelta, high: timedelta) -> timedelta:
    """``value`` if it lies in ``[low, high]``; :class:`InvalidInput` naming ``what`` otherwise
    (a lease of ``timedelta.max`` would overflow every date it is added to)."""
    if not low <= value <= high:
        raise InvalidInput(f"{what} must be between {low} and {high}, got {value}")
    return value


MIN_LEASE, MAX_LEASE = timedelta(seconds=1), timedelta(days=1)
MAX_POLL_SECONDS = 86_400.0
MAX_BATCH = 10_000
MAX_GRACE = timedelta(days=3650)


def check_lease(lease: timedelta) -> timedelta:
    """A sending lease: 1 second to 1 day."""
    return check_span("lease", lease, MIN_LEASE, MAX_LEASE)


def check_grace(grace: timedelta) -> timedelta:
    """How old an orphaned attachment must be before gc removes it: 0 to 3,650 days."""
    return check_span("grace", grace, timedelta(0), MAX_GRACE)


def check_outbox_run(*, batch: int, limit: int | None, poll: float, lease: timedelta) -> None:
    """The arguments of one outbox run (``send_due``): :class:`InvalidInput` naming the first
    that is out of its bounds."""
    if not 1 <= batch <= MAX_BATCH or (limit is not None and limit < 0):
        raise InvalidInput(
            f"batch must be 1 to {MAX_BATCH:,} and limit not negative;"
            f" got batch={batch}, limit={limit}"
        )
    if not 0 < poll <= MAX_POLL_SECONDS:  # (NaN is neither)
        raise InvalidInput(f"poll must be over 0 and at most {MAX_POLL_SECONDS:,} s, got {poll}")
    check_lease(lease)
