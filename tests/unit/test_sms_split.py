"""``split_sms``: the segments a text is sent in, as ``analyse_sms`` counts them; an escape
pair (extension character) or a surrogate pair is never cut."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contos_messaging.domain.sms import SmsPolicy, analyse_sms, split_sms
from contos_messaging.errors import InvalidMessage


def _septets(part: str) -> int:
    return sum(2 if ch in "\f^{}\\[~]|€" else 1 for ch in part)


def _units(part: str) -> int:
    return len(part.encode("utf-16-be")) // 2


def test_a_text_that_fits_is_one_part():
    assert split_sms("Dobry den") == ("Dobry den",)
    assert split_sms("x" * 160) == ("x" * 160,)
    assert split_sms("") == ("",)


def test_a_gsm_text_is_cut_at_153_septets():
    assert [len(p) for p in split_sms("x" * 161)] == [153, 8]


def test_an_extension_character_at_the_boundary_starts_the_next_part():
    text = "x" * 152 + "€" + "y" * 20
    first, second = split_sms(text)
    assert first == "x" * 152  # (152 + 2 septets would be 154)
    assert second.startswith("€")
    assert _septets(first) == 152


def test_a_surrogate_pair_at_the_boundary_starts_the_next_part():
    text = "ř" * 66 + "😀" + "x" * 10
    first, second = split_sms(text)
    assert first == "ř" * 66  # (66 + 2 units would be 68)
    assert second == "😀" + "x" * 10


def test_the_policy_applies_before_the_cut():
    parts = split_sms("Příliš žluťoučký kůň " * 10, SmsPolicy.TRANSLITERATE)
    assert "".join(parts) == "Prilis zlutoucky kun " * 10
    assert len(parts) == 2


def test_control_characters_are_refused():
    with pytest.raises(InvalidMessage, match="U\\+001B"):
        split_sms("a\x1bb")


@given(
    st.text(alphabet=st.sampled_from([*"abcř€{😀 \n", "é", "Ž"]), min_size=0, max_size=600),
    st.sampled_from(list(SmsPolicy)),
)
def test_parts_join_to_the_text_and_match_the_count(text, policy):
    analysis = analyse_sms(text, policy)
    parts = split_sms(text, policy)
    assert "".join(parts) == analysis.text
    assert len(parts) == analysis.segments
    if len(parts) > 1:
        cost = _septets if analysis.encoding == "GSM-7" else _units
        assert all(0 < cost(part) <= (153 if cost is _septets else 67) for part in parts)
