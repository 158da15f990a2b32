"""SMPP 3.4 wire pieces the transport needs, pure and tested on their own.

Outgoing PDUs are built with aiosmpplib's codec (``aiosmpplib.protocol``: ``submit_sm`` by
:func:`submit_pdus`); this module adds what it lacks: short messages cut into segments with a
concatenation header (UDH, information element 00, an 8-bit reference) at the boundaries
:func:`~contos_messaging.domain.sms.split_sms` chooses (an escape pair or a surrogate pair is
never split), the text as unpacked GSM 03.38 septets (``data_coding`` 0, aiosmpplib's
``gsm0338`` table) or UTF-16BE (``data_coding`` 8), and incoming PDUs read without failing on
what aiosmpplib refuses: a status it does not know (:func:`parse_header`), a ``deliver_sm``
with no short message (a TLV-only receipt) or an odd ``data_coding``
(:func:`parse_deliver_sm`).
"""

from __future__ import annotations

import re
import struct

import attrs
from aiosmpplib.codec import find_codec_info
from aiosmpplib.protocol import SubmitSm
from aiosmpplib.state import NPI, TON, PhoneNumber, SmppCommandStatus

from contos_messaging.domain.sms import SmsPolicy, split_sms

__all__ = [
    "ESME_RMSGQFUL",
    "ESME_ROK",
    "ESME_RTHROTTLED",
    "ESME_RX_T_APPN",
    "DeliverSmFields",
    "EncodedSms",
    "Header",
    "c_string",
    "decode_short_message",
    "encode_sms",
    "encode_sms_by_parts",
    "parse_deliver_sm",
    "parse_header",
    "status_name",
    "submit_pdus",
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


def _address(value: str) -> PhoneNumber:
    """An address as SMPP carries it: ``+420...`` international, digits unknown, else
    alphanumeric (a sender id of up to 11 characters)."""
    if value.startswith("+") and value[1:].isdigit():
        return PhoneNumber(value[1:], TON.INTERNATIONAL, NPI.ISDN)
    if value.isdigit():
        return PhoneNumber(value, TON.UNKNOWN, NPI.ISDN)
    return PhoneNumber(value, TON.ALPHANUMERIC, NPI.UNKNOWN)


def submit_pdus(sender: str, number: str, encoded: EncodedSms) -> list[bytes]:
    """The ``submit_sm`` PDUs (sequence number 0) of ``encoded`` from ``sender`` to
    ``number``, asking for a receipt."""
    pdus = []
    for part in encoded.parts:
        submit = SubmitSm(
            short_message="-", source=_address(sender), destination=_address(number),
            esm_class=encoded.esm_class, registered_delivery=1, auto_message_payload=False,
            encoding="ucs2" if encoded.data_coding == DATA_CODING_UCS2 else None,
        )  # fmt: skip
        submit.set_encoded_message(part)
        pdus.append(bytes(submit.pdu()))
    return pdus


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
