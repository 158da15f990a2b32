"""The earlier parts' ids an SMPP transport remembers: accepted answers only, each taken once,
the oldest forgotten past the bound."""

from __future__ import annotations

import struct

from contos_messaging.adapters.smpp.codec import parse_header
from contos_messaging.adapters.smpp.parts import EarlierParts, message_id_of


def _answer(message_id: str, status: int = 0) -> tuple[object, bytes]:
    body = message_id.encode("ascii") + b"\0"
    pdu = struct.pack("!IIII", 16 + len(body), 0x80000004, status, 7) + body
    return parse_header(pdu[:16]), pdu


def test_an_accepted_parts_id_is_taken_once_and_a_refused_one_never_noted():
    parts = EarlierParts()
    parts.note(*_answer("abc-1"))
    parts.note(*_answer("abc-2", status=0x58))  # (ESME_RTHROTTLED: no id to remember)
    assert message_id_of(_answer("abc-1")[1]) == "abc-1"
    assert parts.take("abc-1") is True
    assert parts.take("abc-1") is False
    assert parts.take("abc-2") is False
    assert len(parts) == 0


def test_past_the_bound_the_oldest_ids_are_forgotten():
    parts = EarlierParts(remembered=3)
    for n in range(5):
        parts.note(*_answer(f"id-{n}"))
    assert len(parts) == 3
    assert [parts.take(f"id-{n}") for n in range(5)] == [False, False, True, True, True]
