"""SMPP 3.4 wire pieces the transport needs, pure and tested on their own.

The PDUs themselves are built and read with aiosmpplib's codec (``aiosmpplib.protocol``); this
module adds what it lacks: short messages cut into segments with a concatenation header (UDH,
information element 00, an 8-bit reference) at the boundaries :func:`~contos_messaging.domain.
sms.split_sms` chooses (an escape pair or a surrogate pair is never split), the text encoded as
unpacked GSM 03.38 septets (``data_coding`` 0, aiosmpplib's ``gsm0338`` codec) or UTF-16BE
(``data_coding`` 8), a PDU header read without failing on a status the library does not know,
and the standard delivery-receipt text (SMPP 3.4 appendix B) read without failing on the dates
and fields SMSCs vary in.
"""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime, tzinfo

import attrs
from aiosmpplib.codec import find_codec_info  # type: ignore[import-untyped]
from aiosmpplib.state import SmppCommandStatus  # type: ignore[import-untyped]

from contos_messaging.domain.delivery import DeliveryState
from contos_messaging.domain.sms import SmsPolicy, split_sms

__all__ = [
    "ESME_RMSGQFUL",
    "ESME_ROK",
    "ESME_RTHROTTLED",
    "ESME_RX_T_APPN",
    "DeliverSmFields",
    "EncodedSms",
    "Header",
    "ParsedReceipt",
    "c_string",
    "decode_short_message",
    "encode_sms",
    "encode_sms_by_parts",
    "parse_deliver_sm",
    "parse_header",
    "parse_receipt_text",
    "receipt_state",
    "status_name",
]

ESME_ROK = 0x00
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64
HEADER_LENGTH = 16
DATA_CODING_DEFAULT, DATA_CODING_UCS2 = 0x00, 0x08
ESM_UDHI = 0x40
ESM_RECEIPT_MASK, ESM_RECEIPT = 0x3C, 0x04
TLV_RECEIPTED_MESSAGE_ID, TLV_MESSAGE_STATE, TLV_MESSAGE_PAYLOAD = 0x001E, 0x0427, 0x0424

_GSM = find_codec_info("gsm0338")
# GSM 03.38 septets to text for a short message without escapes (the common case), in C.
_GSM_TABLE = {code: _GSM.decode(bytes((code,)))[0] for code in range(128) if code != 0x1B}
# ... and text to unpacked septets with str.translate: every ASCII character that has no place
# in GSM 03.38 becomes a character that is not ASCII, so that isascii() tells GSM text apart.
_NOT_GSM = "\u0100"
_GSM_ENCODE: dict[int, str] = dict.fromkeys(range(128), _NOT_GSM)
_GSM_ENCODE.update({ord(ch): chr(code) for code, ch in _GSM_TABLE.items()})
_GSM_ENCODE.update({ord(ch): "\x1b" + chr(_GSM.encode(ch)[0][1]) for ch in "\f^{}\\[~]|€"})


# Unicode's control characters (Cc) but LF and CR: analyse_sms refuses them.
_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _gsm_septets(text: str) -> bytes | None:
    """``text`` as unpacked GSM 03.38 septets (extension characters after the escape), or None
    when a character has no place in it."""
    septets = text.translate(_GSM_ENCODE)
    return septets.encode("ascii") if septets.isascii() else None


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


def status_name(status: int) -> str:
    """The SMPP name of a ``command_status`` (``ESME_RINVDSTADR``), or its hex form."""
    try:
        return str(SmppCommandStatus(status).name)
    except ValueError:
        return f"0x{status:08X}"


@attrs.frozen
class Header:
    """A PDU header: ``length`` (the whole PDU), ``command``, ``status``, ``sequence``."""

    length: int
    command: int
    status: int
    sequence: int


def parse_header(data: bytes) -> Header:
    """The header in the first 16 bytes of ``data`` (any command id and status)."""
    if len(data) < HEADER_LENGTH:
        raise ValueError(f"a PDU header is 16 bytes, got {len(data)}")
    length, command, status, sequence = struct.unpack_from("!IIII", data)
    if length < HEADER_LENGTH:
        raise ValueError(f"a PDU cannot be {length} bytes long")
    return Header(length, command, status, sequence)


@attrs.frozen
class EncodedSms:
    """A text ready for ``submit_sm``: its ``data_coding``, the ``esm_class`` bits it needs
    (UDHI when it is concatenated) and each segment's ``short_message`` bytes (with its UDH)."""

    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]


def _one_part(text: str, policy: SmsPolicy) -> EncodedSms | None:
    """The short message of a text that fits in one SMS and holds no control character (the
    common case, in C: ``str.translate`` and a regular expression); None for any other."""
    if policy is SmsPolicy.TRANSLITERATE or _CONTROL.search(text):
        return None
    if policy is SmsPolicy.AUTO:
        septets = _gsm_septets(text)
        if septets is not None:
            return EncodedSms(DATA_CODING_DEFAULT, 0, (septets,)) if len(septets) <= 160 else None
    units = text.encode("utf-16-be", "surrogatepass")
    return EncodedSms(DATA_CODING_UCS2, 0, (units,)) if len(units) <= 140 else None


def encode_sms(text: str, *, reference: int, policy: SmsPolicy = SmsPolicy.AUTO) -> EncodedSms:
    """``text`` as ``submit_sm`` short messages: GSM-7 as unpacked septets (``data_coding`` 0),
    anything else as UTF-16BE (8); a text longer than one SMS in segments, each led by the
    concatenation header ``05 00 03 <reference> <total> <number>`` (``reference`` 0-255).
    Control characters other than LF and CR are refused
    (:class:`~contos_messaging.errors.InvalidMessage`), as ``analyse_sms`` refuses them."""
    return _one_part(text, policy) or encode_sms_by_parts(text, reference=reference, policy=policy)


def encode_sms_by_parts(
    text: str, *, reference: int, policy: SmsPolicy = SmsPolicy.AUTO
) -> EncodedSms:
    """:func:`encode_sms` through :func:`~contos_messaging.domain.sms.split_sms` for every
    text (the reference the quick path of one-part texts is tested against)."""
    parts = split_sms(text, policy)
    encoded: list[bytes] = []
    gsm = policy is not SmsPolicy.UCS2
    if gsm:  # (the alphabet of domain/sms.py is GSM 03.38's, as this table's)
        septets = [_gsm_septets(part) for part in parts]
        encoded = [part for part in septets if part is not None]
        gsm = len(encoded) == len(parts)
    if not gsm:
        encoded = [part.encode("utf-16-be", "surrogatepass") for part in parts]
    coding = DATA_CODING_DEFAULT if gsm else DATA_CODING_UCS2
    if len(encoded) == 1:
        return EncodedSms(coding, 0, (encoded[0],))
    if len(encoded) > 255:
        raise ValueError(f"a text of {len(encoded)} segments cannot be concatenated (255 at most)")
    total = len(encoded)
    return EncodedSms(
        coding,
        ESM_UDHI,
        tuple(
            bytes((5, 0, 3, reference & 0xFF, total, number)) + body
            for number, body in enumerate(encoded, 1)
        ),
    )


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


def c_string(data: bytes, offset: int) -> tuple[str, int]:
    """The NUL-terminated string at ``offset`` (ASCII, odd bytes replaced) and the offset
    after it."""
    end = data.index(b"\0", offset)
    return data[offset:end].decode("ascii", "replace"), end + 1


@attrs.frozen
class DeliverSmFields:
    """The fields of a ``deliver_sm`` the transport reads: the source address, ``esm_class``,
    ``data_coding``, the short message's bytes and each TLV's value by tag."""

    source_addr: str
    source_ton: int
    esm_class: int
    data_coding: int
    short_message: bytes
    tlvs: dict[int, bytes]

    @property
    def is_receipt(self) -> bool:
        """Whether ``esm_class`` marks it as an SMSC delivery receipt."""
        return self.esm_class & ESM_RECEIPT_MASK == ESM_RECEIPT

    @property
    def text(self) -> str:
        """The short message (or ``message_payload``) as text."""
        body = self.short_message or self.tlvs.get(TLV_MESSAGE_PAYLOAD, b"")
        if self.esm_class & ESM_UDHI and body:
            body = body[body[0] + 1 :]
        return decode_short_message(body, self.data_coding)

    @property
    def receipted_message_id(self) -> str:
        """The ``receipted_message_id`` TLV, or empty."""
        value = self.tlvs.get(TLV_RECEIPTED_MESSAGE_ID, b"")
        return value.split(b"\0", 1)[0].decode("ascii", "replace").strip()

    @property
    def message_state(self) -> int | None:
        """The ``message_state`` TLV, or None."""
        value = self.tlvs.get(TLV_MESSAGE_STATE, b"")
        return value[0] if len(value) == 1 else None


def parse_deliver_sm(pdu: bytes) -> DeliverSmFields:
    """The fields of the ``deliver_sm`` PDU ``pdu`` (header included); ValueError when it is
    cut short or its lengths do not add up. TLV-only receipts (an empty short message) and
    any ``data_coding`` are read."""
    header = parse_header(pdu)
    if header.length != len(pdu):
        raise ValueError(f"the PDU says {header.length} bytes and has {len(pdu)}")
    try:
        _service_type, at = c_string(pdu, HEADER_LENGTH)
        source_ton = pdu[at]
        source_addr, at = c_string(pdu, at + 2)
        _destination, at = c_string(pdu, at + 2)
        esm_class = pdu[at]
        _schedule, at = c_string(pdu, at + 3)
        _validity, at = c_string(pdu, at)
        data_coding, length = pdu[at + 2], pdu[at + 4]
        at += 5
        short_message = pdu[at : at + length]
        if len(short_message) != length:
            raise ValueError("the short message is cut short")
        at += length
        tlvs: dict[int, bytes] = {}
        while at + 4 <= len(pdu):
            tag, size = struct.unpack_from("!HH", pdu, at)
            value = pdu[at + 4 : at + 4 + size]
            if len(value) != size:
                raise ValueError(f"the TLV 0x{tag:04X} is cut short")
            tlvs[tag] = value
            at += 4 + size
    except IndexError as exc:
        raise ValueError("the deliver_sm is cut short") from exc
    return DeliverSmFields(source_addr, source_ton, esm_class, data_coding, short_message, tlvs)


def decode_short_message(data: bytes, data_coding: int) -> str:
    """``data`` as text by its ``data_coding`` (GSM 03.38 unpacked, Latin-1, UCS-2, else
    ASCII), odd bytes replaced."""
    coding = data_coding & 0x0F if data_coding < 0xC0 else 0
    if coding == DATA_CODING_UCS2:
        return data.decode("utf-16-be", "replace")
    if coding == 0x03:
        return data.decode("latin-1")
    if coding == 0x00:
        if b"\x1b" not in data and max(data, default=0) < 0x80:
            return data.decode("latin-1").translate(_GSM_TABLE)
        try:
            return str(_GSM.decode(data, "replace")[0])
        except (ValueError, KeyError, IndexError):
            pass
    return data.decode("ascii", "replace")
