"""Properties of recipient parsing (Hypothesis)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from contos_messaging import EmailAddress, InvalidAddress, parse_address_list
from contos_messaging.domain.addresses import format_address_list
from tests.strategies import addr_specs, display_names


def _valid(spec: str, name: str) -> EmailAddress | None:
    try:
        return EmailAddress(spec, name)
    except InvalidAddress:
        return None


@given(st.lists(st.tuples(addr_specs, display_names), min_size=1, max_size=5))
def test_parse_format_parse_is_stable(pairs):
    addresses = [a for a in (_valid(s, n) for s, n in pairs) if a is not None]
    if not addresses:
        return
    once = parse_address_list(format_address_list(addresses))
    twice = parse_address_list(format_address_list(once))
    assert once == twice
    assert {a.key for a in once} == {a.key for a in addresses}
    assert len(once) == len({a.key for a in addresses})


@given(st.text(max_size=80))
def test_accepted_values_never_contain_control_characters(text):
    try:
        parsed = parse_address_list(text)
    except InvalidAddress:
        return
    for address in parsed:
        for value in (address.addr_spec, address.display_name, address.format()):
            assert not any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in value)
        assert "\r" not in address.ascii_addr_spec
        assert "\n" not in address.ascii_addr_spec


@given(
    st.lists(addr_specs, min_size=1, max_size=4), st.sampled_from(["\r\n", "\n", "\x00", "\x07"])
)
def test_a_control_character_anywhere_rejects_the_whole_list(specs, bad):
    text = ", ".join(specs)
    position = len(text) // 2
    try:
        parse_address_list(text[:position] + bad + text[position:])
    except InvalidAddress as exc:
        assert "control character" in exc.reason
    else:
        raise AssertionError("a control character was accepted")
