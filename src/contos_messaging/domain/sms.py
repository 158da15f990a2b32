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

import codecs
import enum
import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from encodings import cp1250
from typing import Any

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


def _char_class(chars: frozenset[str], negate: bool = False) -> re.Pattern[str]:
    escaped = "".join(f"\\u{ord(ch):04x}" for ch in sorted(chars))
    return re.compile(f"[{'^' if negate else ''}{escaped}]")


# Fast paths: one scan for every character outside the basic table (the extension table,
# characters GSM-7 lacks, control characters, pairs) finds what the rest needs; a text with
# none is pure GSM-7 and costs its length. Transliteration replaces each distinct character
# once (every key lies outside GSM-7 and every replacement inside it, so none cascades).
_NOT_BASIC = _char_class(_BASIC, negate=True)
_EXTENSION_CHAR = _char_class(_EXTENSION)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# Unicode's Cc (fixed by its stability policy): U+0000-U+001F and U+007F-U+009F; LF and CR pass.
_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROLS = frozenset(chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))) - {"\n", "\r"}
_REPLACEMENT: dict[str, str] = {
    chr(key): value if isinstance(value, str) else chr(value)
    for key, value in _TRANSLITERATION.items()
}
_POLICY_OF: dict[Any, SmsPolicy] = {p.value: p for p in SmsPolicy}


def _is_gsm(ch: str) -> bool:
    return ch in _BASIC or ch in _EXTENSION


def _bare(ch: str) -> str:
    """``ch`` without its accents when that leaves only GSM-7 characters, else ``ch``."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return bare if bare and all(_is_gsm(c) for c in bare) else ch


@functools.lru_cache(maxsize=4096)
def _gsm_form(ch: str) -> str:
    """What :func:`transliterate` makes of ``ch``, a character GSM-7 lacks."""
    return _REPLACEMENT[ch] if ch in _REPLACEMENT else _bare(ch)


def _transliterated(text: str, special: Sequence[str]) -> str:
    """``text`` transliterated, ``special`` holding (at least) every character of it that
    GSM-7 lacks."""
    for ch in dict.fromkeys(special):
        if ch not in _EXTENSION and (new := _gsm_form(ch)) != ch:
            text = text.replace(ch, new)
    return text


@functools.cache
def _czech_tables() -> tuple[str, tuple[tuple[str, str], ...]]:
    """Czech text fits Windows-1250: a decoding table giving, for each of its bytes, what
    :func:`transliterate` makes of the character (one character), and the characters it makes
    more than one of (``…`` to ``...``), to replace first."""
    decoding, longer = [], []
    for ch in cp1250.decoding_table:
        new = ch if ch == "\ufffe" or _is_gsm(ch) else _gsm_form(ch)  # (U+FFFE: no character)
        decoding.append(new if len(new) == 1 else ch)
        if len(new) != 1:
            longer.append((ch, new))
    return "".join(decoding), tuple(longer)


def _czech(text: str) -> str | None:
    """``transliterate(text)`` in two table look-ups when every character of ``text`` is in
    Windows-1250 (as every Czech text is), else None."""
    decoding, longer = _czech_tables()
    for ch, new in longer:
        if ch in text:
            text = text.replace(ch, new)
    try:
        data = codecs.charmap_encode(text, "strict", cp1250.encoding_table)[0]
    except UnicodeEncodeError:
        return None
    return codecs.charmap_decode(data, "strict", decoding)[0]


def transliterate(text: str) -> str:
    """``text`` with Czech diacritics and typographic punctuation replaced by GSM-7 look-alikes;
    any other Latin letter that GSM-7 lacks loses its accents when that gives one it has."""
    if type(text) is not str:
        slow: str = _slow_transliterate(text)
        return slow
    if not text.isascii() and (czech := _czech(text)) is not None:
        return czech
    special = _NOT_BASIC.findall(text)
    return _transliterated(text, special) if special else text


def check_sms_control_characters(text: str) -> None:
    """InvalidMessage for a control character other than LF and CR (ESC, NUL, a C1 code)."""
    if type(text) is not str:
        return _slow_check_sms_control_characters(text)
    found = _CONTROL.search(text)
    if found is not None:
        raise InvalidMessage(
            "text", f"holds the control character U+{ord(found.group()):04X} at {found.start()}"
        )
    return None


def _cuts(length: int, doubles: Sequence[int], per_segment: int) -> tuple[list[int], int]:
    """Where each segment starts, and the units used in the last, for ``length`` characters
    costing one unit each but those at ``doubles`` (ascending positions), which cost two and
    are never split; segments of ``per_segment`` units filled in order."""
    starts, used, at = [0], 0, 0
    for position in (*doubles, length):
        singles = position - at
        if used + singles > per_segment:
            start = at + per_segment - used
            while start < position:
                starts.append(start)
                start += per_segment
            used = position - starts[-1]
        else:
            used += singles
        if position == length:
            break
        if used + 2 > per_segment:
            starts.append(position)
            used = 0
        used += 2
        at = position + 1
    return starts, used


def _cost(text: str, gsm: bool, doubles: int) -> tuple[int, int, int, list[int]]:
    """(segments, units, units left, segment starts) of ``text`` holding ``doubles``
    characters that cost two units (extension characters in GSM-7, pairs in UCS-2)."""
    single, per_segment = (
        (SINGLE_SEPTETS, SEGMENT_SEPTETS) if gsm else (SINGLE_UNITS, SEGMENT_UNITS)
    )
    length = len(text)
    units = length + doubles
    if units <= single:
        return 1, units, single - units, [0]
    if doubles:
        pattern = _EXTENSION_CHAR if gsm else _ASTRAL
        starts, used = _cuts(length, [m.start() for m in pattern.finditer(text)], per_segment)
    else:
        segments = -(-length // per_segment)
        starts = list(range(0, length, per_segment))
        used = length - (segments - 1) * per_segment
    return len(starts), units, per_segment - used, starts


def _policy(policy: SmsPolicy | str) -> SmsPolicy:
    try:
        return _POLICY_OF[policy]
    except (KeyError, TypeError):
        return SmsPolicy(policy)


def _analyse(text: str, policy: SmsPolicy) -> tuple[SmsEncoding, list[int]]:
    if policy is SmsPolicy.TRANSLITERATE and not text.isascii():
        sent = _czech(text)
        if sent is not None:
            if _CONTROL.search(text) is not None:
                check_sms_control_characters(text)
            return _costed(sent, _NOT_BASIC.findall(sent), policy)
    special = _NOT_BASIC.findall(text)
    if not special:  # pure GSM-7 (every pure-ASCII text without ` ^ { } \ [ ~ ] | or controls)
        return _gsm7(text, 0, policy)
    if not _CONTROLS.isdisjoint(special):
        check_sms_control_characters(text)
    sent = text
    if policy is SmsPolicy.TRANSLITERATE:
        sent = _transliterated(text, special)
        if sent is not text:
            special = _NOT_BASIC.findall(sent)
    return _costed(sent, special, policy)


def _costed(sent: str, special: list[str], policy: SmsPolicy) -> tuple[SmsEncoding, list[int]]:
    """The cost of ``sent`` (after the policy), ``special`` its characters outside the basic
    table, in order."""
    extension = sum(map(_EXTENSION.__contains__, special)) if special else 0
    if extension == len(special):
        if policy is not SmsPolicy.UCS2:
            return _gsm7(sent, extension, policy)
        forced: tuple[str, ...] = ()
    else:
        forced = tuple(ch for ch in dict.fromkeys(special) if ch not in _EXTENSION)
    pairs = sum(ch > "\uffff" for ch in special) if special and max(special) > "\uffff" else 0
    segments, units, left, starts = _cost(sent, False, pairs)
    shown = () if policy is SmsPolicy.UCS2 else forced
    return SmsEncoding(sent, UCS2, segments, units, left, shown, policy), starts


def _gsm7(text: str, extension: int, policy: SmsPolicy) -> tuple[SmsEncoding, list[int]]:
    if policy is SmsPolicy.UCS2:
        segments, units, left, starts = _cost(text, False, 0)
        return SmsEncoding(text, UCS2, segments, units, left, (), policy), starts
    segments, units, left, starts = _cost(text, True, extension)
    return SmsEncoding(text, GSM7, segments, units, left, (), policy), starts


def analyse_sms(text: str, policy: SmsPolicy | str = SmsPolicy.AUTO) -> SmsEncoding:
    """The encoding and cost of ``text`` under ``policy`` (control characters refused)."""
    chosen = _policy(policy)
    if type(text) is not str:
        return _slow_analyse_sms(text, chosen)
    return _analyse(text, chosen)[0]


def split_sms(text: str, policy: SmsPolicy | str = SmsPolicy.AUTO) -> tuple[str, ...]:
    """The segments ``text`` is sent in under ``policy``, as :func:`analyse_sms` counts them:
    one when it fits in a single SMS, else pieces of at most 153 septets (GSM-7) or 67 UTF-16
    units (UCS-2) each. An extension character (its escape and itself) and a character outside
    the Basic Multilingual Plane (its surrogate pair) always stay in one piece. The pieces
    joined give the text as sent (after ``transliterate``); control characters are refused.

    .. versionadded:: 0.5
    """
    chosen = _policy(policy)
    if type(text) is not str:
        return _slow_split_sms(text, chosen)
    encoding, starts = _analyse(text, chosen)
    sent = encoding.text
    if len(starts) == 1:
        return (sent,)
    return tuple(sent[a:b] for a, b in zip(starts, (*starts[1:], len(sent)), strict=True))


# What any other value (not a str, or a subclass of str with methods of its own) gets: the
# same steps character by character, as before the fast paths, so it fares exactly as it did.


def _slow_transliterate(text: Any) -> Any:
    text = text.translate(_TRANSLITERATION)
    if all(_is_gsm(ch) for ch in text):
        return text
    return "".join([ch if _is_gsm(ch) else _bare(ch) for ch in text])


def _slow_check_sms_control_characters(text: Any) -> None:
    for position, ch in enumerate(text):
        if ch not in "\n\r" and unicodedata.category(ch) == "Cc":
            raise InvalidMessage(
                "text", f"holds the control character U+{ord(ch):04X} at {position}"
            )


def _septets(ch: str) -> int:
    return 2 if ch in _EXTENSION else 1


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _slow_split(
    text: Any, cost: Callable[[str], int], single: int, per_segment: int
) -> tuple[int, int, int]:
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


def _slow_analyse_sms(text: Any, policy: SmsPolicy) -> SmsEncoding:
    _slow_check_sms_control_characters(text)
    sent = _slow_transliterate(text) if policy is SmsPolicy.TRANSLITERATE else text
    forced = tuple(dict.fromkeys(ch for ch in sent if not _is_gsm(ch)))
    if policy is not SmsPolicy.UCS2 and not forced:
        segments, units, left = _slow_split(sent, _septets, SINGLE_SEPTETS, SEGMENT_SEPTETS)
        return SmsEncoding(sent, GSM7, segments, units, left, (), policy)
    segments, units, left = _slow_split(sent, _utf16_units, SINGLE_UNITS, SEGMENT_UNITS)
    shown = () if policy is SmsPolicy.UCS2 else forced
    return SmsEncoding(sent, UCS2, segments, units, left, shown, policy)


def _slow_split_sms(text: Any, policy: SmsPolicy) -> tuple[Any, ...]:
    encoding = _slow_analyse_sms(text, policy)
    cost, single, per_segment = (
        (_septets, SINGLE_SEPTETS, SEGMENT_SEPTETS)
        if encoding.encoding == GSM7
        else (_utf16_units, SINGLE_UNITS, SEGMENT_UNITS)
    )
    sent = encoding.text
    if sum(map(cost, sent)) <= single:
        return (sent,)
    parts: list[Any] = []
    start, used = 0, 0
    for index, ch in enumerate(sent):
        step = cost(ch)
        if used + step > per_segment:
            parts.append(sent[start:index])
            start, used = index, 0
        used += step
    parts.append(sent[start:])
    return tuple(parts)
