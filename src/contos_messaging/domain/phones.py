"""Phone numbers for SMS: normalised to E.164, malformed and premium-rate numbers rejected."""

from __future__ import annotations

import re
from collections.abc import Iterable

import attrs
import phonenumbers

from contos_messaging.errors import InvalidPhoneNumber

__all__ = ["PhoneNumber", "SmsRecipients", "parse_phone", "parse_phone_list"]

DEFAULT_REGION = "CZ"
_REJECTED_TYPES = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium-rate numbers are not allowed",
    phonenumbers.PhoneNumberType.SHARED_COST: "shared-cost numbers are not allowed",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll-free numbers cannot receive SMS",
    phonenumbers.PhoneNumberType.FIXED_LINE: "fixed-line numbers cannot receive SMS",
    phonenumbers.PhoneNumberType.VOIP: "VoIP numbers cannot receive SMS reliably",
    phonenumbers.PhoneNumberType.PAGER: "pager numbers cannot receive SMS",
    phonenumbers.PhoneNumberType.UAN: "UAN numbers cannot receive SMS",
    phonenumbers.PhoneNumberType.VOICEMAIL: "voicemail numbers cannot receive SMS",
}
_ALLOWED_CHARS = re.compile(r"^[0-9+()\-./ \u00a0]+$")


def _normalise(value: str, region: str = DEFAULT_REGION) -> str:
    if not isinstance(value, str):
        raise InvalidPhoneNumber(repr(value), "a phone number must be a string")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidPhoneNumber(
            value, "only digits, '+', spaces, '-', '.', '/' and () are allowed"
        )
    text = value.strip()
    if not text:
        raise InvalidPhoneNumber(value, "the number is empty")
    if not _ALLOWED_CHARS.match(text):
        raise InvalidPhoneNumber(
            value, "only digits, '+', spaces, '-', '.', '/' and () are allowed"
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(value, str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(value, "not a valid number")
    kind = phonenumbers.number_type(number)
    if kind in _REJECTED_TYPES:
        raise InvalidPhoneNumber(value, _REJECTED_TYPES[kind])
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@attrs.frozen
class PhoneNumber:
    """A mobile number in E.164 form (``+420601123456``); national numbers default to CZ."""

    e164: str = attrs.field(converter=_normalise)

    def __str__(self) -> str:
        return self.e164


def parse_phone(value: str | PhoneNumber, *, region: str = DEFAULT_REGION) -> PhoneNumber:
    """Parse one number; ``region`` applies to numbers written without a country code."""
    if isinstance(value, PhoneNumber):
        return value
    return PhoneNumber(_normalise(value, region))


def parse_phone_list(
    value: str | PhoneNumber | Iterable[str | PhoneNumber], *, region: str = DEFAULT_REGION
) -> tuple[PhoneNumber, ...]:
    """Parse numbers separated by ``,`` or ``;`` (or a sequence); duplicates are removed."""
    items: list[str | PhoneNumber]
    if isinstance(value, str):
        items = [p for p in re.split(r"[,;]", value) if p.strip()]
    elif isinstance(value, PhoneNumber):
        items = [value]
    else:
        items = list(value)
    out: list[PhoneNumber] = []
    seen: set[str] = set()
    for item in items:
        number = parse_phone(item, region=region)
        if number.e164 not in seen:
            seen.add(number.e164)
            out.append(number)
    if not out:
        raise InvalidPhoneNumber(str(value) if isinstance(value, str) else "", "no number given")
    return tuple(out)


@attrs.frozen
class SmsRecipients:
    """The numbers an SMS goes to."""

    numbers: tuple[PhoneNumber, ...]

    @property
    def envelope(self) -> tuple[str, ...]:
        """E.164 strings, as the gateway gets them."""
        return tuple(n.e164 for n in self.numbers)

    def __len__(self) -> int:
        return len(self.numbers)
