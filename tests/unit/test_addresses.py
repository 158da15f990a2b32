"""Recipient parsing: what staff type becomes validated, deduplicated addresses."""

from __future__ import annotations

import pytest

from contos_messaging import EmailAddress, EmailRecipients, InvalidAddress, parse_address_list
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
