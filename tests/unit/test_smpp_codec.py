"""The SMPP transport's pure pieces: short messages as septets or UTF-16BE with a
concatenation UDH, PDU headers of any status, ``deliver_sm`` bodies (TLV-only receipts too)
and the receipt text in the forms SMSCs send it."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone

import gsm0338  # noqa: F401  (registers the independent "gsm03.38" codec)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contos_messaging.adapters.smpp.codec import (
    encode_sms,
    encode_sms_by_parts,
    parse_deliver_sm,
    parse_header,
    status_name,
)
from contos_messaging.adapters.smpp.receipts import parse_receipt_text, read_receipt, receipt_state
from contos_messaging.domain.delivery import DeliveryState
from contos_messaging.domain.sms import SmsPolicy
from contos_messaging.errors import InvalidMessage


def test_gsm_text_is_unpacked_septets_with_data_coding_0():
    text = "Dobry den, Vase objednavka za 1 200 € je pripravena @ pobocky."
    encoded = encode_sms(text, reference=7)
    assert (encoded.data_coding, encoded.esm_class) == (0, 0)
    assert encoded.parts == (text.encode("gsm03.38"),)
    assert b"\x1be" in encoded.parts[0]  # (€ as escape + 0x65)


def test_other_text_is_utf16be_with_data_coding_8():
    encoded = encode_sms("Dobrý den, řidiči 😀", reference=1)
    assert encoded.data_coding == 8
    assert encoded.parts == ("Dobrý den, řidiči 😀".encode("utf-16-be"),)


def test_the_ucs2_policy_forces_utf16_for_gsm_text():
    assert encode_sms("Ahoj", reference=1, policy=SmsPolicy.UCS2).data_coding == 8


def test_a_long_text_gets_a_udh_per_part_and_reassembles():
    text = "x" * 152 + "€" + "y" * 151 + "z" * 100
    encoded = encode_sms(text, reference=300)
    assert encoded.esm_class == 0x40
    assert [p[:6].hex() for p in encoded.parts] == ["0500032c0301", "0500032c0302", "0500032c0303"]
    bodies = [p[6:] for p in encoded.parts]
    assert bodies[1].startswith(b"\x1be")  # (the escape pair is not split)
    assert all(len(b) <= 153 for b in bodies)
    assert "".join(b.decode("gsm03.38") for b in bodies) == text


def test_a_long_ucs2_text_keeps_surrogate_pairs_whole():
    text = "ř" * 66 + "😀" + "x" * 10
    encoded = encode_sms(text, reference=5)
    bodies = [p[6:] for p in encoded.parts]
    assert [len(b) // 2 for b in bodies] == [66, 12]
    assert "".join(b.decode("utf-16-be") for b in bodies) == text


def test_more_than_255_parts_cannot_be_concatenated():
    with pytest.raises(ValueError, match="255 at most"):
        encode_sms("x" * 153 * 256, reference=1)


def test_a_header_of_any_status_is_read():
    header = parse_header(struct.pack("!IIII", 16, 0x80000004, 0x4F1, 9))
    assert (header.length, header.command, header.status, header.sequence) == (
        16, 0x80000004, 0x4F1, 9,
    )  # fmt: skip
    with pytest.raises(ValueError, match="16 bytes"):
        parse_header(b"\x00" * 10)
    with pytest.raises(ValueError, match="cannot be 3 bytes"):
        parse_header(struct.pack("!IIII", 3, 4, 0, 1))


def test_status_names():
    assert status_name(0x0B) == "ESME_RINVDSTADR"
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x4F1) == "0x000004F1"


def _deliver_sm(
    short_message: bytes, *, esm_class: int = 4, data_coding: int = 0, tlvs: bytes = b""
) -> bytes:
    body = (
        b"\x00" + b"\x01\x01420601123456\x00" + b"\x05\x00ContOS\x00"
        + bytes((esm_class, 0, 0)) + b"\x00\x00" + bytes((0, 0, data_coding, 0))
        + bytes((len(short_message),)) + short_message + tlvs
    )  # fmt: skip
    return struct.pack("!IIII", 16 + len(body), 5, 0, 3) + body


def test_a_deliver_sm_receipt_is_read():
    text = b"id:abc sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 stat:DELIVRD"
    tlvs = struct.pack("!HH", 0x001E, 4) + b"abc\x00" + struct.pack("!HHB", 0x0427, 1, 2)
    fields = parse_deliver_sm(_deliver_sm(text, tlvs=tlvs))
    assert fields.is_receipt
    assert (fields.source_addr, fields.source_ton) == ("420601123456", 1)
    assert fields.text == text.decode()
    assert fields.receipted_message_id == "abc"
    assert fields.message_state == 2


def test_a_tlv_only_receipt_and_an_odd_data_coding_are_read():
    tlvs = struct.pack("!HH", 0x001E, 3) + b"f00" + struct.pack("!HHB", 0x0427, 1, 3)
    fields = parse_deliver_sm(_deliver_sm(b"", data_coding=0xF1, tlvs=tlvs))
    assert (fields.text, fields.receipted_message_id, fields.message_state) == ("", "f00", 3)


def test_an_incoming_sms_is_not_a_receipt():
    assert not parse_deliver_sm(_deliver_sm(b"ahoj", esm_class=0)).is_receipt


@pytest.mark.parametrize("cut", [20, 40, 60])
def test_a_cut_deliver_sm_is_a_value_error(cut):
    pdu = _deliver_sm(b"id:1 stat:DELIVRD")
    truncated = struct.pack("!I", cut) + pdu[4:cut]
    with pytest.raises(ValueError, match=r"cut short|subsection|not found"):
        parse_deliver_sm(truncated)


def test_the_standard_receipt_text():
    parsed = parse_receipt_text(
        "id:0123456789 sub:001 dlvrd:001 submit date:2612011200 done date:2612011201"
        " stat:DELIVRD err:000 Text:Dobry den stat:X"
    )
    assert parsed.id == "0123456789"
    assert parsed.stat == "DELIVRD"
    assert parsed.err == "000"
    assert parsed.submitted == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parsed.done == datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    assert parsed.text == "Dobry den stat:X"  # (the text is last and may hold anything)


def test_receipts_with_seconds_a_zone_missing_fields_or_none_at_all():
    zone = timezone(timedelta(hours=1))
    parsed = parse_receipt_text("stat:expired done date:261201120059 id:7", zone=zone)
    assert (parsed.id, parsed.stat, parsed.err) == ("7", "EXPIRED", "")
    assert parsed.done == datetime(2026, 12, 1, 12, 0, 59, tzinfo=zone)
    odd = parse_receipt_text("id:9 done date:26130112 stat:")
    assert (odd.id, odd.done, odd.stat) == ("9", None, "")
    assert parse_receipt_text("this is no receipt") == parse_receipt_text("")


@pytest.mark.parametrize(
    ("stat", "tlv", "state"),
    [
        ("DELIVRD", None, DeliveryState.DELIVERED),
        ("UNDELIV", None, DeliveryState.UNDELIVERED),
        ("REJECTD", None, DeliveryState.UNDELIVERED),
        ("EXPIRED", None, DeliveryState.EXPIRED),
        ("ENROUTE", None, DeliveryState.ACCEPTED),
        ("WHATEVER", None, DeliveryState.UNKNOWN),
        ("DELIVRD", 5, DeliveryState.UNDELIVERED),  # (the TLV wins)
        ("", 3, DeliveryState.EXPIRED),
        ("DELIVRD", 99, DeliveryState.DELIVERED),  # (an unknown TLV value: the text)
    ],
)
def test_receipt_states(stat, tlv, state):
    assert receipt_state(stat, tlv) is state


def test_the_codec_takes_exactly_the_alphabet_the_domain_counts():
    """encode_sms picks GSM-7 by trying the codec: it must agree with ``analyse_sms``."""
    from contos_messaging.domain import sms

    for ch in (sms._BASIC | sms._EXTENSION) - {"\f"}:  # (form feed: a control character)
        assert encode_sms(ch, reference=1).data_coding == 0, ch
        assert encode_sms(ch, reference=1).parts == (ch.encode("gsm03.38"),)
    for ch in "řŘ`ěĚ\u00a0😀":
        assert encode_sms(ch, reference=1).data_coding == 8, ch


def test_septets_decode_as_the_independent_codec_reads_them():
    from contos_messaging.adapters.smpp.codec import decode_short_message

    septets = bytes(c for c in range(128) if c != 0x1B)
    assert decode_short_message(septets, 0) == septets.decode("gsm03.38")
    assert decode_short_message(b"\x1be\x1b<", 0) == "€["
    assert decode_short_message("Ahoj".encode("utf-16-be"), 8) == "Ahoj"


@given(
    st.text(alphabet=st.sampled_from([*"ab €{ř😀\n\r\x1b\f\t\x85é`@$_", "Ž"]), max_size=200),
    st.sampled_from(list(SmsPolicy)),
)
def test_the_quick_path_of_one_part_texts_encodes_as_the_parts_do(text, policy):
    try:
        expected = encode_sms_by_parts(text, reference=9, policy=policy)
    except InvalidMessage:
        with pytest.raises(InvalidMessage):
            encode_sms(text, reference=9, policy=policy)
        return
    assert encode_sms(text, reference=9, policy=policy) == expected


def test_a_receipt_pdu_is_read_into_a_delivery_receipt():
    text = (
        b"id:abc sub:001 dlvrd:000 submit date:2612011200 done date:2612011201 stat:UNDELIV err:012"
    )
    receipt = read_receipt(_deliver_sm(text), transport="smpp:x:1")
    assert receipt is not None
    assert (receipt.transport, receipt.provider_id, receipt.state) == (
        "smpp:x:1", "abc", DeliveryState.UNDELIVERED,
    )  # fmt: skip
    assert (receipt.recipient, receipt.code) == ("+420601123456", "012")
    assert receipt.at == datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    assert receipt.text == text.decode()


def test_what_is_no_readable_receipt_gives_none():
    assert read_receipt(_deliver_sm(b"stat:DELIVRD err:000"), transport="t") is None  # (no id)
    assert read_receipt(_deliver_sm(b"ahoj", esm_class=0), transport="t") is None  # (an SMS)
    assert read_receipt(_deliver_sm(b"id:1")[:30], transport="t") is None  # (cut short)
