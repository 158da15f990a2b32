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

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

import attrs
import idna
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from contos_messaging.errors import InvalidAddress

__all__ = [
    "EmailAddress",
    "EmailRecipients",
    "format_address_list",
    "parse_address",
    "parse_address_list",
]

_MAX_DISPLAY_NAME = 200
# A display name that needs encoding goes on the wire as one RFC 2047 word per run of
# non-ASCII words (readers disagree on the space between two such words), so its UTF-8 is
# bounded: 600 bytes are 800 base64 characters, one header line well within 998.
MAX_DISPLAY_NAME_BYTES = 600
# RFC 5321, 4.5.3.1: local part, domain (in its ASCII form) and path ("<" address ">").
MAX_LOCAL_PART_OCTETS = 64
MAX_DOMAIN_OCTETS = 255
MAX_PATH_OCTETS = 256
# Bidirectional marks, embeddings, overrides and isolates: they make a header show something
# other than what it holds (U+202E turns "Banka <...>" around).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_ATOM_SPECIALS = frozenset('()<>[]:;@\\,"')
_SCRIPT_ALIASES = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK"}


# Control characters (Cc), line and paragraph separators, surrogates, private use and the
# bidirectional controls above: one regex, one C-speed scan.
_BAD = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ue000-\uf8ff\U000f0000-\U0010ffff"
    + "".join(sorted(_BIDI_CONTROLS))
    + "]"
)


def _bad_character(text: str) -> str | None:
    match = _BAD.search(text)
    if match is None:
        return None
    char = match.group()
    if char in _BIDI_CONTROLS:
        return (
            f"contains the bidirectional control character U+{ord(char):04X}, which makes a"
            " mail program show the text in another order than it was written"
        )
    return f"contains the control character U+{ord(char):04X}"


def _check_lengths(value: str, local: str, ascii_domain: str | None) -> None:
    """Refuse a local part, a domain (ASCII form; None when not known yet) or a path longer
    than RFC 5321 (4.5.3.1) allows."""
    local_octets = len(local.encode("utf-8"))
    if local_octets > MAX_LOCAL_PART_OCTETS:
        raise InvalidAddress(
            value,
            f"the part before '@' is {local_octets} octets long; RFC 5321 allows at most"
            f" {MAX_LOCAL_PART_OCTETS}",
        )
    if ascii_domain is None:
        return
    if len(ascii_domain) > MAX_DOMAIN_OCTETS:
        raise InvalidAddress(
            value,
            f"the domain is {len(ascii_domain)} octets long in its ASCII form; RFC 5321 allows"
            f" at most {MAX_DOMAIN_OCTETS}",
        )
    path = local_octets + 1 + len(ascii_domain) + 2
    if path > MAX_PATH_OCTETS:
        raise InvalidAddress(
            value,
            f"the address is {path - 2} octets long in its ASCII form; in angle brackets an"
            f" SMTP path may be at most {MAX_PATH_OCTETS} octets (RFC 5321)",
        )


def _scripts(label: str) -> set[str]:
    found: set[str] = set()
    for ch in label:
        if not ch.isalpha():
            continue
        if ch.isascii():
            found.add("LATIN")
            continue
        first = unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]
        found.add(_SCRIPT_ALIASES.get(first, first))
    return found


@functools.lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    return idna.encode(domain, uts46=True).decode("ascii")


def _normalise_addr_spec(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidAddress(
            repr(value)[:200], f"an address must be a string, not {type(value).__name__}"
        )
    return _normalise_str(value)


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_PLAIN_ADDRESS = re.compile(
    rf"^({_ATEXT}+(?:\.{_ATEXT}+)*)@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63})$"
)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE_TLDS = frozenset(d.rsplit(".", 1)[-1] for d in _SPECIAL_USE)


def _plain_ascii(value: str) -> str | None:
    """The normal form of an everyday ASCII address, or None to take the full validator."""
    match = _PLAIN_ADDRESS.match(value)
    if match is None or len(value) > 254 or len(match.group(1)) > 64:
        return None
    domain = match.group(2).lower()
    if "xn--" in domain:
        return None  # punycode: the full validator shows it in Unicode
    if domain.rsplit(".", 1)[-1] in _SPECIAL_USE_TLDS and any(
        domain == d or domain.endswith("." + d) for d in _SPECIAL_USE
    ):
        return None  # let the full validator explain the refusal
    return f"{match.group(1)}@{domain}"


@functools.lru_cache(maxsize=8192)
def _normalise_str(value: str) -> str:
    bad = _bad_character(value)
    if bad:
        raise InvalidAddress(value, bad)
    if value.startswith('"'):
        raise InvalidAddress(value, "quoted local parts are not allowed")
    local, _at, domain = value.rpartition("@")
    _check_lengths(value, local, domain if domain.isascii() else None)
    plain = _plain_ascii(value)
    if plain is not None:
        return plain
    try:
        result = validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as exc:
        raise InvalidAddress(value, str(exc)) from exc
    _check_lengths(value, result.local_part or "", result.ascii_domain)
    domain = result.domain
    for label in domain.split("."):
        if len(_scripts(label)) > 1:
            raise InvalidAddress(
                value, f"the domain label {label!r} mixes scripts (a look-alike domain)"
            )
    return f"{result.local_part}@{domain}"


def _clean_display_name(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidAddress(
            repr(value)[:200], f"a display name must be a string, not {type(value).__name__}"
        )
    bad = _bad_character(value)
    if bad:
        raise InvalidAddress(value, f"display name {bad}")
    value = " ".join(value.split())
    if len(value) > _MAX_DISPLAY_NAME:
        raise InvalidAddress(value, f"display name is longer than {_MAX_DISPLAY_NAME} characters")
    if len(value.encode("utf-8")) > MAX_DISPLAY_NAME_BYTES:
        raise InvalidAddress(
            value, f"display name is longer than {MAX_DISPLAY_NAME_BYTES} bytes of UTF-8"
        )
    return value


@attrs.frozen
class EmailAddress:
    """One validated e-mail address with an optional display name.

    ``addr_spec`` is normalised (domain lower-cased, IDN in Unicode form); the SMTP envelope uses
    :attr:`ascii_addr_spec`. Construct with :func:`parse_address` or directly:
    ``EmailAddress("jan@example.com", "Jan Novák")``.
    """

    addr_spec: str = attrs.field(converter=_normalise_addr_spec)
    display_name: str = attrs.field(default="", converter=_clean_display_name)

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
        return f"{self.local_part}@{_ascii_domain(self.domain)}"

    @property
    def key(self) -> str:
        """Case-insensitive identity used to remove duplicates."""
        return self.ascii_addr_spec.lower()

    def format(self) -> str:
        """The header form: ``Jan Novák <jan@example.com>`` or ``"Novák, Jan" <...>``."""
        if not self.display_name:
            return self.addr_spec
        name = self.display_name
        if any(ch in _ATOM_SPECIALS for ch in name):
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
    bad = _bad_character(item)
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
        bad = _bad_character(entry)
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
