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
        ("12345", "not a valid number"),
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
