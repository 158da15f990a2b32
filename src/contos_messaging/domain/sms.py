"""SMS text: which encoding it goes in, how many segments it costs, and the policies that keep
Czech text in the cheaper one (3GPP TS 23.038 and 23.040).

An SMS carries 140 bytes: 160 characters of the GSM 7-bit default alphabet, or 70 UTF-16 units
(UCS-2). A longer message is split into segments that carry a header (UDH) for reassembly,
which leaves 153 septets or 67 units each. A character of the GSM extension table (``€ [ ] { }
\\ ^ ~ |`` and form feed) costs two septets (an escape and the character), and the two never
go in different segments; a character outside the Basic Multilingual Plane (most emoji)
costs two units (a surrogate pair), which are never split either. One character outside the
GSM alphabet puts the whole message in UCS-2, so ``Dobrý den`` costs as much as 70 characters
allow, where ``Dobry den`` would allow 160.

Policies: ``auto`` (GSM-7 when every character has a place in it, else UCS-2),
``transliterate`` (Czech letters with diacritics and typographic punctuation replaced by their
GSM-7 look-alikes first: ``Dobrý den, Vaše objednávka…`` becomes ``Dobry den, Vase
objednavka...``; letters that GSM-7 has, such as ``é`` and ``É``, stay) and ``ucs2`` (always
UCS-2). Control characters other than LF and CR (an ESC typed in, say) are refused.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable

import attrs

from contos_messaging.errors import InvalidMessage

__all__ = [
    "GSM7",
    "UCS2",
    "SmsEncoding",
    "SmsPolicy",
    "analyse_sms",
    "check_sms_control_characters",
    "split_sms",
    "transliterate",
]

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The GSM 7-bit default alphabet (TS 23.038, 6.2.1), without the escape at 0x1B.
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table (6.2.1.1): each costs the escape and itself.
_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_SEPTETS, SEGMENT_SEPTETS = 160, 153
SINGLE_UNITS, SEGMENT_UNITS = 70, 67

# Czech letters and typographic punctuation, to what GSM-7 has (é and É it has as they are).
_TRANSLITERATION = str.maketrans(
    {
        "á": "a", "č": "c", "ď": "d", "ě": "e", "í": "i", "ň": "n", "ó": "o", "ř": "r",
        "š": "s", "ť": "t", "ú": "u", "ů": "u", "ý": "y", "ž": "z",
        "Á": "A", "Č": "C", "Ď": "D", "Ě": "E", "Í": "I", "Ň": "N", "Ó": "O", "Ř": "R",
        "Š": "S", "Ť": "T", "Ú": "U", "Ů": "U", "Ý": "Y", "Ž": "Z",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2039": "'", "\u203a": "'",
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u00a0": " ",
        "\u202f": " ", "\u2009": " ", "\u2022": "*", "\u00b7": ".", "\t": " ",
    }
)  # fmt: skip


class SmsPolicy(enum.StrEnum):
    """How an SMS's text is encoded (see the module's text)."""

    AUTO = "auto"
    TRANSLITERATE = "transliterate"
    UCS2 = "ucs2"


@attrs.frozen
class SmsEncoding:
    """What an SMS text costs: ``text`` as it is sent (after the policy), its ``encoding``
    (``"GSM-7"`` or ``"UCS-2"``), its ``segments``, its ``units`` (septets or UTF-16 units),
    ``left`` (units still free in the last segment), the characters that forced UCS-2 under
    ``auto`` or ``transliterate`` (``forced_by``, in order of appearance), and the ``policy``
    applied.

    .. versionadded:: 0.5
    """

    text: str
    encoding: str
    segments: int
    units: int
    left: int
    forced_by: tuple[str, ...]
    policy: SmsPolicy


def _is_gsm(ch: str) -> bool:
    return ch in _BASIC or ch in _EXTENSION


def transliterate(text: str) -> str:
    """``text`` with Czech diacritics and typographic punctuation replaced by GSM-7 look-alikes;
    any other Latin letter that GSM-7 lacks loses its accents when that gives one it has."""
    text = text.translate(_TRANSLITERATION)
    if all(_is_gsm(ch) for ch in text):
        return text
    out = []
    for ch in text:
        if not _is_gsm(ch):
            bare = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            if bare and all(_is_gsm(c) for c in bare):
                ch = bare
        out.append(ch)
    return "".join(out)


def check_sms_control_characters(text: str) -> None:
    """InvalidMessage for a control character other than LF and CR (ESC, NUL, a C1 code)."""
    for position, ch in enumerate(text):
        if ch not in "\n\r" and unicodedata.category(ch) == "Cc":
            raise InvalidMessage(
                "text", f"holds the control character U+{ord(ch):04X} at {position}"
            )


def _septets(ch: str) -> int:
    return 2 if ch in _EXTENSION else 1


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _split(
    text: str, cost: Callable[[str], int], single: int, per_segment: int
) -> tuple[int, int, int]:
    """(segments, units, units left in the last segment) of ``text``, each character costing
    ``cost(ch)`` units and never split across two segments."""
    units = sum(map(cost, text))
    if units <= single:
        return 1, units, single - units
    segments, used = 1, 0
    for ch in text:
        step = cost(ch)
        if used + step > per_segment:
            segments, used = segments + 1, 0
        used += step
    return segments, units, per_segment - used


def analyse_sms(text: str, policy: SmsPolicy | str = SmsPolicy.AUTO) -> SmsEncoding:
    """The encoding and cost of ``text`` under ``policy`` (control characters refused)."""
    policy = SmsPolicy(policy)
    check_sms_control_characters(text)
    sent = transliterate(text) if policy is SmsPolicy.TRANSLITERATE else text
    forced = tuple(dict.fromkeys(ch for ch in sent if not _is_gsm(ch)))
    if policy is not SmsPolicy.UCS2 and not forced:
        segments, units, left = _split(sent, _septets, SINGLE_SEPTETS, SEGMENT_SEPTETS)
        return SmsEncoding(sent, GSM7, segments, units, left, (), policy)
    segments, units, left = _split(sent, _utf16_units, SINGLE_UNITS, SEGMENT_UNITS)
    shown = () if policy is SmsPolicy.UCS2 else forced
    return SmsEncoding(sent, UCS2, segments, units, left, shown, policy)


def _parts(text: str, cost: Callable[[str], int], single: int, per_segment: int) -> tuple[str, ...]:
    """``text`` cut into segments as :func:`_split` counts them."""
    if sum(map(cost, text)) <= single:
        return (text,)
    parts: list[str] = []
    start, used = 0, 0
    for index, ch in enumerate(text):
        step = cost(ch)
        if used + step > per_segment:
            parts.append(text[start:index])
            start, used = index, 0
        used += step
    parts.append(text[start:])
    return tuple(parts)


def split_sms(text: str, policy: SmsPolicy | str = SmsPolicy.AUTO) -> tuple[str, ...]:
    """The segments ``text`` is sent in under ``policy``, as :func:`analyse_sms` counts them:
    one when it fits in a single SMS, else pieces of at most 153 septets (GSM-7) or 67 UTF-16
    units (UCS-2) each. An extension character (its escape and itself) and a character outside
    the Basic Multilingual Plane (its surrogate pair) always stay in one piece. The pieces
    joined give the text as sent (after ``transliterate``); control characters are refused.

    .. versionadded:: 0.5
    """
    encoding = analyse_sms(text, policy)
    if encoding.encoding == GSM7:
        return _parts(encoding.text, _septets, SINGLE_SEPTETS, SEGMENT_SEPTETS)
    return _parts(encoding.text, _utf16_units, SINGLE_UNITS, SEGMENT_UNITS)
