"""Properties of recipient parsing (Hypothesis)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from contos_messaging import (
    EmailAddress,
    EmailRecipients,
    InvalidAddress,
    parse_address,
    parse_address_list,
)
from contos_messaging.domain.addresses import format_address_list
from tests.strategies import addr_specs, display_names, domains

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


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


@given(display_names, st.sampled_from(_BIDI), st.integers(0, 30), addr_specs)
def test_a_bidirectional_control_anywhere_in_a_display_name_is_refused(name, bidi, at, spec):
    name = name[:at] + bidi + name[at:]
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    for parse in (lambda: parse_address(f"{quoted} <{spec}>"), lambda: EmailAddress(spec, name)):
        try:
            parse()
        except InvalidAddress as exc:
            assert f"bidirectional control character U+{ord(bidi):04X}" in exc.reason
        else:
            raise AssertionError("a bidirectional control character was accepted")


@given(st.integers(1, 120), domains)
def test_a_local_part_is_accepted_exactly_up_to_64_octets(length, domain):
    spec = "x" * length + "@" + domain
    try:
        address = EmailAddress(spec)
    except InvalidAddress as exc:
        assert length > 64, exc.reason
        assert f"is {length} octets long" in exc.reason
    else:
        assert length <= 64
        assert len(address.ascii_addr_spec) + 2 <= 256


@given(st.integers(1, 64), st.lists(st.integers(1, 63), min_size=1, max_size=6))
def test_an_address_is_accepted_exactly_while_its_path_fits_256_octets(local, labels):
    domain = ".".join("a" * n for n in labels) + ".cz"
    spec = "x" * local + "@" + domain
    try:
        EmailAddress(spec)
    except InvalidAddress:
        assert len(spec) + 2 > 256 or len(domain) > 253
    else:
        assert len(spec) + 2 <= 256


_not_text = st.one_of(
    st.none(), st.integers(), st.floats(), st.binary(min_size=1), st.booleans(),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), min_size=1),
)  # fmt: skip


@given(_not_text)
def test_a_value_that_is_not_text_is_an_invalid_address_never_a_foreign_error(value):
    for parse in (
        lambda: parse_address(value),
        lambda: parse_address_list(value),
        lambda: parse_address_list(["jan@example.com", value]),
        lambda: EmailRecipients.parse(to="jan@example.com", cc=[value]),
        lambda: EmailAddress(value),
        lambda: EmailAddress("jan@example.com", value),
    ):
        try:
            parse()
        except InvalidAddress as exc:
            assert type(value).__name__ in exc.reason
        else:
            raise AssertionError(f"{value!r} was accepted")
