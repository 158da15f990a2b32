"""E-mail addresses: strict parsing of what staff type; one form for header and envelope.

A list is a string whose items are separated by ``,`` or ``;`` (quoted display names may contain
either: ``"Novák, Jan" <jan@example.com>; eva@example.com`` is two recipients) or a sequence of
such strings / :class:`EmailAddress` values. Rejected, with :class:`InvalidAddress` naming the
item: control characters (CR, LF, NUL, ...), bidirectional controls (U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069), comments, group syntax, source routes, quoted local parts,
domain literals, mixed-script domain labels, empty lists, values that are not text, and
lengths beyond RFC 5321 (4.5.3.1): a local part over 64 octets, a domain over 255 octets in
its ASCII (punycode) form, a path ("<" address ">") over 256 octets; a display name over 200
characters or 600 bytes of UTF-8. IDN domains are accepted; the envelope gets their punycode
form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from contos_messaging.domain.address_rules import (
    ATOM_SPECIALS,
    ascii_domain,
    bad_character,
    clean_display_name,
    normalise_addr_spec,
)
from contos_messaging.errors import InvalidAddress

__all__ = [
    "EmailAddress",
    "EmailRecipients",
    "format_address_list",
    "parse_address",
    "parse_address_list",
]


@attrs.frozen
class EmailAddress:
    """One validated e-mail address with an optional display name.

    ``addr_spec`` is normalised (domain lower-cased, IDN in Unicode form); the SMTP envelope uses
    :attr:`ascii_addr_spec`. Construct with :func:`parse_address` or directly:
    ``EmailAddress("jan@example.com", "Jan Novák")``.
    """

    addr_spec: str = attrs.field(converter=normalise_addr_spec)
    display_name: str = attrs.field(default="", converter=clean_display_name)

    @property
    def local_part(self) -> str:
        """The part before the ``@``."""
        return self.addr_spec.rsplit("@", 1)[0]

    @property
    def domain(self) -> str:
        """The domain, in Unicode form."""
        return self.addr_spec.rsplit("@", 1)[1]

    @property
    def ascii_addr_spec(self) -> str:
        """The address as the SMTP envelope gets it (punycode domain)."""
        spec = self.addr_spec
        if spec.isascii():  # the local part is ASCII always; so is the domain then
            return spec
        return f"{self.local_part}@{ascii_domain(self.domain)}"

    @property
    def key(self) -> str:
        """Case-insensitive identity used to remove duplicates."""
        return self.ascii_addr_spec.lower()

    def format(self) -> str:
        """The header form: ``Jan Novák <jan@example.com>`` or ``"Novák, Jan" <...>``."""
        if not self.display_name:
            return self.addr_spec
        name = self.display_name
        if any(ch in ATOM_SPECIALS for ch in name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{self.addr_spec}>"

    def __str__(self) -> str:
        return self.format()


def _split_items(text: str) -> list[str]:
    items: list[str] = []
    buf: list[str] = []
    in_quote = escaped = False
    depth = 0
    for ch in text:
        if escaped:
            escaped = False
        elif in_quote:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch in ",;" and depth <= 0:
            items.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    if in_quote:
        raise InvalidAddress(text, "a quoted display name is not closed")
    items.append("".join(buf))
    return items


def _unquote(phrase: str, item: str) -> str:
    if not phrase.startswith('"'):
        if '"' in phrase:
            raise InvalidAddress(item, "a display name must be quoted as a whole or not at all")
        return phrase
    if not phrase.endswith('"') or len(phrase) < 2:
        raise InvalidAddress(item, "text follows the quoted display name")
    out: list[str] = []
    escaped = False
    for ch in phrase[1:-1]:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            raise InvalidAddress(item, "text follows the quoted display name")
        else:
            out.append(ch)
    return "".join(out)


def _outside_quotes(item: str) -> str:
    """Return ``item`` with quoted strings blanked out, for structural checks."""
    out: list[str] = []
    in_quote = escaped = False
    for ch in item:
        if escaped:
            escaped = False
            out.append("_")
        elif in_quote:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                in_quote = False
            out.append("_" if in_quote else '"')
        else:
            if ch == '"':
                in_quote = True
            out.append(ch)
    return "".join(out)


def parse_address(item: str) -> EmailAddress:
    """Parse exactly one address: ``jan@example.com``, ``Jan Novák <jan@example.com>``."""
    if not isinstance(item, str):
        raise InvalidAddress(
            repr(item)[:200], f"an address must be a string, not {type(item).__name__}"
        )
    bad = bad_character(item)
    if bad:
        raise InvalidAddress(item, bad)
    text = item.strip()
    if not text:
        raise InvalidAddress(item, "the address is empty")
    shape = _outside_quotes(text)
    if "(" in shape or ")" in shape:
        raise InvalidAddress(item, "comments in parentheses are not allowed")
    if "<" in shape:
        start = shape.index("<")
        if shape.count("<") != 1 or shape.count(">") != 1 or not shape.endswith(">"):
            raise InvalidAddress(
                item, "expected 'Name <address>' with one address in angle brackets"
            )
        inner = text[start + 1 : -1].strip()
        if inner.startswith("@") or ":" in inner:
            raise InvalidAddress(item, "source routes are not allowed")
        if ":" in shape[:start]:
            raise InvalidAddress(item, "group syntax is not allowed")
        if "@" in shape[:start]:
            raise InvalidAddress(item, "a display name containing '@' must be quoted")
        phrase = _unquote(text[:start].strip(), item)
        addr = inner
    else:
        if ":" in shape:
            raise InvalidAddress(item, "group syntax is not allowed")
        if ">" in shape:
            raise InvalidAddress(item, "'>' without '<'")
        if text.startswith('"') and shape.count('"') >= 2 and "@" in shape.rsplit('"', 1)[1]:
            raise InvalidAddress(item, "quoted local parts are not allowed")
        if any(ch.isspace() for ch in text):
            raise InvalidAddress(item, "an address without angle brackets cannot contain spaces")
        phrase, addr = "", text
    if not addr:
        raise InvalidAddress(item, "the angle brackets hold no address")
    try:
        return EmailAddress(addr, phrase)
    except InvalidAddress as exc:
        raise InvalidAddress(item, exc.reason) from exc


# Iterables that are not lists of addresses: iterating bytes gives numbers, a mapping its keys.
_NOT_A_LIST = (bytes, bytearray, memoryview, Mapping)


def parse_address_list(
    value: str | EmailAddress | Iterable[str | EmailAddress], *, allow_empty: bool = False
) -> tuple[EmailAddress, ...]:
    """Parse a recipient list; duplicates (case-insensitive) are removed, first one wins."""
    raw: list[str | EmailAddress]
    if isinstance(value, (str, EmailAddress)):
        raw = [value]
    elif isinstance(value, Iterable) and not isinstance(value, _NOT_A_LIST):
        raw = list(value)
    else:
        raise InvalidAddress(
            repr(value)[:200],
            "a recipient list must be a string, an EmailAddress or a sequence of them,"
            f" not {type(value).__name__}",
        )
    parsed: list[EmailAddress] = []
    for entry in raw:
        if isinstance(entry, EmailAddress):
            parsed.append(entry)
            continue
        if not isinstance(entry, str):
            raise InvalidAddress(
                repr(entry)[:200],
                f"an address must be a string or an EmailAddress, not {type(entry).__name__}",
            )
        bad = bad_character(entry)
        if bad:
            raise InvalidAddress(entry, bad)
        for item in _split_items(entry):
            if item.strip():
                parsed.append(parse_address(item))
    if not parsed and not allow_empty:
        raise InvalidAddress(str(value) if isinstance(value, str) else "", "no address given")
    return _dedupe(parsed, set())


def _dedupe(addresses: Iterable[EmailAddress], seen: set[str]) -> tuple[EmailAddress, ...]:
    out: list[EmailAddress] = []
    for address in addresses:
        key = address.key
        if key not in seen:
            seen.add(key)
            out.append(address)
    return tuple(out)


def format_address_list(addresses: Iterable[EmailAddress]) -> str:
    """The header form of a list: items joined with ``, ``."""
    return ", ".join(a.format() for a in addresses)


AddressInput = str | EmailAddress | Sequence[str | EmailAddress]


@attrs.frozen
class EmailRecipients:
    """To, Cc and Bcc of an e-mail, validated and without duplicates across the three lists."""

    to: tuple[EmailAddress, ...] = ()
    cc: tuple[EmailAddress, ...] = ()
    bcc: tuple[EmailAddress, ...] = ()

    @classmethod
    def parse(
        cls, to: AddressInput = (), cc: AddressInput = (), bcc: AddressInput = ()
    ) -> EmailRecipients:
        """Parse the three lists; an address in several keeps its first place (to, cc, bcc)."""
        seen: set[str] = set()
        to_ = _dedupe(parse_address_list(to, allow_empty=True), seen)
        cc_ = _dedupe(parse_address_list(cc, allow_empty=True), seen)
        bcc_ = _dedupe(parse_address_list(bcc, allow_empty=True), seen)
        if not (to_ or cc_ or bcc_):
            raise InvalidAddress("", "the message has no recipient")
        return cls(to=to_, cc=cc_, bcc=bcc_)

    @property
    def all(self) -> tuple[EmailAddress, ...]:
        """Every recipient: to, then cc, then bcc."""
        return self.to + self.cc + self.bcc

    @property
    def envelope(self) -> tuple[str, ...]:
        """The SMTP ``RCPT TO`` addresses, in the same order as :attr:`all`."""
        return tuple(a.ascii_addr_spec for a in self.all)

    def __len__(self) -> int:
        return len(self.to) + len(self.cc) + len(self.bcc)
