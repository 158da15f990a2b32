"""The rules an e-mail address and its display name are checked by (characters, lengths, scripts,
normal forms); :mod:`contos_messaging.domain.addresses` parses with them."""

from __future__ import annotations

import functools
import re
import unicodedata

import idna
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from contos_messaging.errors import InvalidAddress

__all__ = [
    "ATOM_SPECIALS",
    "MAX_DISPLAY_NAME_BYTES",
    "MAX_DOMAIN_OCTETS",
    "MAX_LOCAL_PART_OCTETS",
    "MAX_PATH_OCTETS",
    "ascii_domain",
    "bad_character",
    "clean_display_name",
    "normalise_addr_spec",
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
ATOM_SPECIALS = frozenset('()<>[]:;@\\,"')
_SCRIPT_ALIASES = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK"}


# Control characters (Cc), line and paragraph separators, surrogates, private use and the
# bidirectional controls above: one regex, one C-speed scan.
_BAD = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ue000-\uf8ff\U000f0000-\U0010ffff"
    + "".join(sorted(_BIDI_CONTROLS))
    + "]"
)


def bad_character(text: str) -> str | None:
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
def ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    return idna.encode(domain, uts46=True).decode("ascii")


def normalise_addr_spec(value: str) -> str:
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
    bad = bad_character(value)
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


def clean_display_name(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidAddress(
            repr(value)[:200], f"a display name must be a string, not {type(value).__name__}"
        )
    bad = bad_character(value)
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
