"""Phone numbers for SMS."""

from __future__ import annotations

import pytest

from contos_messaging import InvalidPhoneNumber, parse_phone
from contos_messaging.domain.phones import parse_phone_list


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("601 123 456", "+420601123456"),
        ("+420 777 123 456", "+420777123456"),
        ("00420 603-123-456", "+420603123456"),
        ("+421 905 123 456", "+421905123456"),
    ],
)
def test_numbers_are_normalised_to_e164(raw, e164):
    assert parse_phone(raw).e164 == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("900 123 456", "premium-rate"),
        ("12345", "short code"),
        ("116 111", "short code"),
        ("112", "emergency"),
        ("155", "emergency"),
        ("601 12", "too short for a number in CZ"),
        ("601 123 456 789 0", "too long for a number in CZ"),
        ("+999 123", "no country"),
        ("601 ABC 456", "no letters"),
        ("+420 601 123 456\x1b", "only digits"),
        ("", "empty"),
        ("601 123 456\n", "only digits"),
        ("abc", "only digits"),
        ("222 123 456", "fixed-line"),
    ],
)
def test_bad_numbers_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(InvalidPhoneNumber) as info:
        parse_phone(raw)
    assert reason in info.value.reason


def test_lists_split_on_separators_and_drop_duplicates():
    numbers = parse_phone_list("601 123 456; +420601123456, 777 123 456")
    assert [n.e164 for n in numbers] == ["+420601123456", "+420777123456"]


@pytest.mark.parametrize(
    "raw",
    ["+420 ６０１ １２３ ４５６", "＋420 601 123 456", "+420 ٦٠١ ١٢٣ ٤٥٦", "601\u00a0123\u00a0456"],
)
def test_digits_of_any_script_and_full_width_forms_are_read_as_digits(raw):
    assert parse_phone(raw).e164 == "+420601123456"
    assert [n.e164 for n in parse_phone_list(f"{raw}; 601 123 456")] == ["+420601123456"]


def test_numbers_abroad_only_when_allowed():
    assert parse_phone("+421 905 123 456").e164 == "+421905123456"
    with pytest.raises(InvalidPhoneNumber, match="a number in SK: SMS abroad are off"):
        parse_phone("+421 905 123 456", international=False)
    with pytest.raises(InvalidPhoneNumber, match="SMS abroad are off"):
        parse_phone_list(["601 123 456", "0043 664 123 4567"], international=False)
    assert parse_phone("601 123 456", international=False).e164 == "+420601123456"
