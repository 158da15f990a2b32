"""Phone numbers for SMS: normalised to E.164, malformed and premium-rate numbers rejected."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import attrs
import phonenumbers
from phonenumbers import shortnumberinfo

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


def _ascii_digits(text: str) -> str:
    """``text`` with full-width forms folded (NFKC) and digits of any script as ASCII digits."""
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFKC", text)
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in folded
    )


_ERRORS = phonenumbers.NumberParseException
_PARSE_ERRORS = {
    _ERRORS.INVALID_COUNTRY_CODE: "of no country (unknown country code)",
    _ERRORS.NOT_A_NUMBER: "not a phone number",
    _ERRORS.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    _ERRORS.TOO_SHORT_NSN: "too short",
    _ERRORS.TOO_LONG: "too long",
}
_TOO = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "of a length no number there has",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "of no country (unknown country code)",
}


def _normalise(value: str, region: str = DEFAULT_REGION, *, international: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidPhoneNumber(repr(value), "a phone number must be a string")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
        raise InvalidPhoneNumber(
            value, "only digits, '+', spaces, '-', '.', '/' and () are allowed"
        )
    text = _ascii_digits(value).strip()
    if not text:
        raise InvalidPhoneNumber(value, "the number is empty")
    if not _ALLOWED_CHARS.match(text):
        raise InvalidPhoneNumber(
            value, "only digits, '+', spaces, '-', '.', '/' and () are allowed (no letters)"
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(value, _PARSE_ERRORS.get(exc.error_type, str(exc))) from None
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and phonenumbers.is_emergency_number(digits, region):
        raise InvalidPhoneNumber(value, "an emergency number: SMS to it are not sent from here")
    if not text.startswith("+") and shortnumberinfo.is_valid_short_number(number):
        raise InvalidPhoneNumber(value, "a short code (a service number): not allowed")
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _TOO:
        where = phonenumbers.region_code_for_number(number) or region
        raise InvalidPhoneNumber(value, f"{_TOO[possible]} for a number in {where}")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(value, "not a valid number")
    kind = phonenumbers.number_type(number)
    if kind in _REJECTED_TYPES:
        raise InvalidPhoneNumber(value, _REJECTED_TYPES[kind])
    home = phonenumbers.country_code_for_region(region)
    if not international and number.country_code != home:
        abroad = phonenumbers.region_code_for_number(number) or f"+{number.country_code}"
        raise InvalidPhoneNumber(
            value,
            f"a number in {abroad}: SMS abroad are off (MessengerSettings(sms_international=True))",
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@attrs.frozen
class PhoneNumber:
    """A mobile number in E.164 form (``+420601123456``); national numbers default to CZ."""

    e164: str = attrs.field(converter=_normalise)

    def __str__(self) -> str:
        return self.e164


def parse_phone(
    value: str | PhoneNumber, *, region: str = DEFAULT_REGION, international: bool = True
) -> PhoneNumber:
    """Parse one number; ``region`` applies to numbers written without a country code, and
    without ``international`` a number of another country is refused."""
    if isinstance(value, PhoneNumber):
        if not international:
            _normalise(value.e164, region, international=False)
        return value
    return PhoneNumber(_normalise(value, region, international=international))


def parse_phone_list(
    value: str | PhoneNumber | Iterable[str | PhoneNumber],
    *,
    region: str = DEFAULT_REGION,
    international: bool = True,
) -> tuple[PhoneNumber, ...]:
    """Parse numbers separated by ``,`` or ``;`` (or a sequence); duplicates are removed."""
    items: list[str | PhoneNumber]
    if isinstance(value, str):
        items = [p for p in re.split(r"[,;]", _ascii_digits(value)) if p.strip()]
    elif isinstance(value, PhoneNumber):
        items = [value]
    else:
        items = list(value)
    out: list[PhoneNumber] = []
    seen: set[str] = set()
    for item in items:
        number = parse_phone(item, region=region, international=international)
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
