"""Recipient parsing: what staff type becomes validated, deduplicated addresses."""

from __future__ import annotations

import pytest

from contos_messaging import (
    EmailAddress,
    EmailRecipients,
    InvalidAddress,
    parse_address,
    parse_address_list,
)
from contos_messaging.domain.addresses import format_address_list


def specs(value) -> list[str]:
    return [a.addr_spec for a in parse_address_list(value)]


def test_quoted_display_name_may_contain_both_separators():
    parsed = parse_address_list('"Novák, Jan" <jan@example.com>; eva@example.com')
    assert [(a.display_name, a.addr_spec) for a in parsed] == [
        ("Novák, Jan", "jan@example.com"),
        ("", "eva@example.com"),
    ]
    assert parse_address_list('"a;b" <x@example.com>')[0].display_name == "a;b"


def test_commas_semicolons_sequences_and_empty_items():
    assert specs("a@example.com, b@example.com;c@example.com;") == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert specs(["a@example.com", "Bob <b@example.com>"]) == ["a@example.com", "b@example.com"]


def test_duplicates_are_removed_case_insensitively_first_wins():
    parsed = parse_address_list("Jan <JAN@Example.com>, jan@example.com")
    assert [(a.display_name, a.addr_spec) for a in parsed] == [("Jan", "JAN@example.com")]


def test_unquoted_display_name_with_title_dot_is_accepted():
    (address,) = parse_address_list("Ing. Jan Novák <jan@example.com>")
    assert address.display_name == "Ing. Jan Novák"


def test_idn_domain_is_accepted_and_the_envelope_gets_punycode():
    (address,) = parse_address_list("Jan <jan@Příklad.CZ>")
    assert address.addr_spec == "jan@příklad.cz"
    assert address.ascii_addr_spec == "jan@xn--pklad-zsa96e.cz"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("jan@example.com\r\nBcc: eve@evil.example", "control character U+000D"),
        ("jan@example.com\nx", "control character U+000A"),
        ("jan@exam\x00ple.com", "control character U+0000"),
        ("Jan \x1b<jan@example.com>", "control character U+001B"),
        ("Jan\u202e <jan@example.com>", "control character U+202E"),
        ("jan@example.com (Jan)", "comments"),
        ("Friends: jan@example.com, eva@example.com;", "group syntax"),
        ("<@relay.example.com:jan@example.com>", "source routes"),
        ('"jan novak"@example.com', "quoted local parts"),
        ("jan@[192.168.0.1]", "bracketed IP"),
        ("jan@pаypal.com", "mixes scripts"),
        ("jan", "@-sign"),
        ("jan@@example.com", ""),
        ("Jan <jan@example.com> extra", "one address in angle brackets"),
        ('"Jan <jan@example.com>', "not closed"),
        ("jan novak@example.com", "cannot contain spaces"),
        ("Jan <>", "no address"),
    ],
)
def test_rejected_input_names_the_item_and_the_reason(value, reason):
    with pytest.raises(InvalidAddress) as info:
        parse_address_list(["ok@example.com", value])
    assert reason in info.value.reason
    assert info.value.item.strip() in value or value.strip() in info.value.item


def test_an_empty_list_is_rejected():
    for value in ("", " ; , ", []):
        with pytest.raises(InvalidAddress, match="no address given"):
            parse_address_list(value)


def test_recipients_dedupe_across_to_cc_bcc_and_keep_the_first_place():
    r = EmailRecipients.parse(
        to="a@example.com", cc="A@example.com, b@example.com", bcc="b@example.com; c@example.com"
    )
    assert [a.addr_spec for a in r.to] == ["a@example.com"]
    assert [a.addr_spec for a in r.cc] == ["b@example.com"]
    assert [a.addr_spec for a in r.bcc] == ["c@example.com"]
    assert r.envelope == ("a@example.com", "b@example.com", "c@example.com")


def test_recipients_need_at_least_one_address():
    with pytest.raises(InvalidAddress, match="no recipient"):
        EmailRecipients.parse()


def test_the_header_form_parses_back_to_the_envelope_addresses():
    r = EmailRecipients.parse(
        to='"Novák, Jan" <jan@příklad.cz>; "Eva \\"E\\" K." <eva@example.com>'
    )
    header = format_address_list(r.to)
    assert header == '"Novák, Jan" <jan@příklad.cz>, "Eva \\"E\\" K." <eva@example.com>'
    again = parse_address_list(header)
    assert tuple(a.ascii_addr_spec for a in again) == r.envelope
    assert again == r.to


def test_email_address_direct_construction_validates():
    assert EmailAddress("Jan@Example.COM", "Jan").addr_spec == "Jan@example.com"
    with pytest.raises(InvalidAddress):
        EmailAddress("not an address")


_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize("char", list(_BIDI))
def test_a_bidirectional_control_in_a_display_name_is_refused_with_its_reason(char):
    for value in (f"Banka{char} ČSOB <a@example.cz>", f'"{char}Novák, Jan" <a@example.cz>'):
        with pytest.raises(InvalidAddress) as info:
            parse_address_list(value)
        assert f"bidirectional control character U+{ord(char):04X}" in info.value.reason
    with pytest.raises(InvalidAddress, match="bidirectional control character"):
        EmailAddress("a@example.cz", f"x{char}y")


@pytest.mark.parametrize(
    ("local", "domain", "reason"),
    [
        ("x" * 65, "example.com", "the part before '@' is 65 octets long"),
        ("x" * 200, "example.com", "the part before '@' is 200 octets long"),
        ("a", ".".join(["a" * 63] * 4) + ".cz", "the domain is 258 octets long"),
        ("x" * 64, ".".join(["a" * 60] * 3) + ".example.com", "259 octets long"),
        ("x" * 64, ".".join(["a" * 60] * 3) + ".abcd.cz", "at most 256 octets"),  # 257
        ("a", ".".join(["ř" * 5] * 30) + ".cz", "too long after the @-sign"),  # IDN, punycode
    ],
)
def test_local_parts_domains_and_paths_beyond_rfc_5321_are_refused(local, domain, reason):
    with pytest.raises(InvalidAddress) as info:
        parse_address_list(f"Jan <{local}@{domain}>")
    assert reason in info.value.reason
    with pytest.raises(InvalidAddress):
        EmailAddress(f"{local}@{domain}")


def test_the_longest_local_part_domain_and_path_rfc_5321_allows_are_accepted():
    assert EmailAddress("x" * 64 + "@example.com").local_part == "x" * 64
    domain = ".".join(["a" * 62] * 4)[:249] + ".cz"  # 252 octets: "<a@" ... ">" is 256
    assert len(EmailAddress(f"a@{domain}").ascii_addr_spec) + 2 == 256
    longest = EmailAddress("x" * 64 + "@" + ".".join(["a" * 60] * 3) + ".abc.cz")
    assert len(longest.ascii_addr_spec) + 2 == 256


@pytest.mark.parametrize(
    "value", [12345, None, 1.5, b"jan@example.com", {"jan@example.com": "Jan"}, object()]
)
def test_a_value_that_is_not_a_recipient_list_is_an_invalid_address(value):
    for call in (parse_address_list, parse_address, EmailRecipients.parse):
        with pytest.raises(InvalidAddress) as info:
            call(value)
        assert type(value).__name__ in info.value.reason


@pytest.mark.parametrize("item", [12345, None, b"jan@example.com", ["jan@example.com"]])
def test_an_item_that_is_not_an_address_is_an_invalid_address(item):
    with pytest.raises(InvalidAddress) as info:
        parse_address_list(["jan@example.com", item])
    assert f"not {type(item).__name__}" in info.value.reason
    with pytest.raises(InvalidAddress):
        EmailRecipients.parse(to="jan@example.com", cc=[item])


def test_a_display_name_over_600_bytes_of_utf8_is_refused():
    assert EmailAddress("a@example.cz", "📄" * 150).display_name == "📄" * 150
    with pytest.raises(InvalidAddress, match="longer than 600 bytes of UTF-8"):
        EmailAddress("a@example.cz", "📄" * 151)
