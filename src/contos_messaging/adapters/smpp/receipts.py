"""Delivery receipts: a ``deliver_sm`` read into a
:class:`~contos_messaging.domain.delivery.DeliveryReceipt`.

The ``receipted_message_id`` (0x001E) and ``message_state`` (0x0427) TLVs win over the text;
the text is the standard one of SMPP 3.4 appendix B (``id:... sub:... dlvrd:... submit
date:... done date:... stat:DELIVRD err:000 text:...``), read in any order and case, with
10- or 12-digit dates and any field missing.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, tzinfo

import attrs

from contos_messaging.adapters.smpp.codec import parse_deliver_sm
from contos_messaging.domain.delivery import DeliveryReceipt, DeliveryState

__all__ = ["ParsedReceipt", "parse_receipt_text", "read_receipt", "receipt_state"]

log = logging.getLogger("contos_messaging.smpp")

_RECEIPT_STATES = {
    "DELIVRD": DeliveryState.DELIVERED,
    "UNDELIV": DeliveryState.UNDELIVERED,
    "REJECTD": DeliveryState.UNDELIVERED,
    "DELETED": DeliveryState.UNDELIVERED,
    "EXPIRED": DeliveryState.EXPIRED,
    "ACCEPTD": DeliveryState.ACCEPTED,
    "ENROUTE": DeliveryState.ACCEPTED,
    "UNKNOWN": DeliveryState.UNKNOWN,
}
# message_state TLV (0x0427), SMPP 3.4 section 5.2.28
_MESSAGE_STATES = {
    1: DeliveryState.ACCEPTED,  # ENROUTE
    2: DeliveryState.DELIVERED,
    3: DeliveryState.EXPIRED,
    4: DeliveryState.UNDELIVERED,  # DELETED
    5: DeliveryState.UNDELIVERED,  # UNDELIVERABLE
    6: DeliveryState.ACCEPTED,
    7: DeliveryState.UNKNOWN,
    8: DeliveryState.UNDELIVERED,  # REJECTED
}
_FIELD = re.compile(r"(?<!\S)(id|sub|dlvrd|submit date|done date|stat|err|text):", re.IGNORECASE)


@attrs.frozen
class ParsedReceipt:
    """What a delivery receipt's text says (fields it lacks are empty)."""

    id: str = ""
    stat: str = ""
    err: str = ""
    done: datetime | None = None
    submitted: datetime | None = None
    text: str = ""


def _smpp_date(value: str, zone: tzinfo) -> datetime | None:
    """``YYMMDDhhmm`` or ``YYMMDDhhmmss`` as a time in ``zone``, or None."""
    digits = value.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (10, 12):
        return None
    numbers = [int(digits[at : at + 2]) for at in range(0, len(digits), 2)]
    year, month, day, hour, minute = numbers[:5]
    second = numbers[5] if len(numbers) == 6 else 0
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def parse_receipt_text(text: str, *, zone: tzinfo = UTC) -> ParsedReceipt:
    """The fields of a receipt's text, ``id:... sub:... dlvrd:... submit date:... done
    date:... stat:... err:... text:...`` in any order and case, any of them missing; dates in
    ``zone`` (the SMSC's clock, UTC unless it is known to be another)."""
    found: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for index, match in enumerate(matches):
        name = match.group(1).lower()
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        if name == "text":
            end = len(text)  # (the text is last and may hold anything)
        if name not in found:
            found[name] = text[match.end() : end].strip()
        if name == "text":
            break
    return ParsedReceipt(
        id=found.get("id", ""),
        stat=found.get("stat", "").upper(),
        err=found.get("err", ""),
        done=_smpp_date(found.get("done date", ""), zone),
        submitted=_smpp_date(found.get("submit date", ""), zone),
        text=found.get("text", ""),
    )


def receipt_state(stat: str, message_state: int | None) -> DeliveryState:
    """The delivery state of a receipt: the ``message_state`` TLV when it has one, else its
    text's ``stat:`` word; UNKNOWN for anything else."""
    if message_state is not None and message_state in _MESSAGE_STATES:
        return _MESSAGE_STATES[message_state]
    return _RECEIPT_STATES.get(stat.upper(), DeliveryState.UNKNOWN)


def read_receipt(pdu: bytes, *, transport: str, zone: tzinfo = UTC) -> DeliveryReceipt | None:
    """The receipt a ``deliver_sm`` PDU carries, for the transport named ``transport``; None
    (and a warning in the log) when it cannot be read, is an incoming SMS rather than a
    receipt, or names no message."""
    try:
        fields = parse_deliver_sm(pdu)
        text = fields.text
    except ValueError as exc:
        log.warning("unreadable deliver_sm from %s (%s): %s", transport, exc, pdu.hex())
        return None
    if not fields.is_receipt:
        log.warning("incoming SMS from %s ignored (not taken): %r", transport, text[:40])
        return None
    parsed = parse_receipt_text(text, zone=zone)
    provider_id = fields.receipted_message_id or parsed.id
    if not provider_id:
        log.warning("a receipt from %s names no message: %r", transport, text[:200])
        return None
    source = fields.source_addr
    return DeliveryReceipt(
        transport=transport,
        provider_id=provider_id,
        state=receipt_state(parsed.stat, fields.message_state),
        at=parsed.done or datetime.now(UTC),
        recipient=f"+{source}" if source.isdigit() else source,
        code=parsed.err,
        text=text.strip()[:300],
    )
