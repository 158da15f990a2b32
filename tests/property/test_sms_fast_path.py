"""The fast SMS functions (precompiled patterns, closed-form segment counts) give exactly what the
slow, obviously correct code they replaced gives, kept here as the reference: the same
:class:`SmsEncoding`, segments, transliteration, and the same error (type and message), for any
text (lone surrogates, control characters, emoji, the GSM extension table, Czech letters, any
code point at all) under every policy, given as the enum or as its text.

``pytest --hypothesis-profile=thorough`` hunts longer.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contos_messaging.domain import sms
from contos_messaging.domain.sms import (
    GSM7,
    UCS2,
    SmsEncoding,
    SmsPolicy,
    analyse_sms,
    check_sms_control_characters,
    split_sms,
    transliterate,
)
from contos_messaging.errors import InvalidMessage

# --- the reference: domain/sms.py as it was before the fast paths, character by character ---

_REF_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_REF_EXTENSION = frozenset("\f^{}\\[~]|€")
_REF_TRANSLITERATION = str.maketrans(
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


def _ref_is_gsm(ch: Any) -> bool:
    return ch in _REF_BASIC or ch in _REF_EXTENSION


def ref_transliterate(text: Any) -> Any:
    text = text.translate(_REF_TRANSLITERATION)
    if all(_ref_is_gsm(ch) for ch in text):
        return text
    out = []
    for ch in text:
        if not _ref_is_gsm(ch):
            bare = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            if bare and all(_ref_is_gsm(c) for c in bare):
                ch = bare
        out.append(ch)
    return "".join(out)


def ref_check_sms_control_characters(text: Any) -> None:
    for position, ch in enumerate(text):
        if ch not in "\n\r" and unicodedata.category(ch) == "Cc":
            raise InvalidMessage(
                "text", f"holds the control character U+{ord(ch):04X} at {position}"
            )


def _ref_septets(ch: str) -> int:
    return 2 if ch in _REF_EXTENSION else 1


def _ref_utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _ref_split(
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


def ref_analyse_sms(text: Any, policy: Any = SmsPolicy.AUTO) -> SmsEncoding:
    policy = SmsPolicy(policy)
    ref_check_sms_control_characters(text)
    sent = ref_transliterate(text) if policy is SmsPolicy.TRANSLITERATE else text
    forced = tuple(dict.fromkeys(ch for ch in sent if not _ref_is_gsm(ch)))
    if policy is not SmsPolicy.UCS2 and not forced:
        segments, units, left = _ref_split(sent, _ref_septets, 160, 153)
        return SmsEncoding(sent, GSM7, segments, units, left, (), policy)
    segments, units, left = _ref_split(sent, _ref_utf16_units, 70, 67)
    shown = () if policy is SmsPolicy.UCS2 else forced
    return SmsEncoding(sent, UCS2, segments, units, left, shown, policy)


def _ref_parts(
    text: Any, cost: Callable[[str], int], single: int, per_segment: int
) -> tuple[Any, ...]:
    if sum(map(cost, text)) <= single:
        return (text,)
    parts: list[Any] = []
    start, used = 0, 0
    for index, ch in enumerate(text):
        step = cost(ch)
        if used + step > per_segment:
            parts.append(text[start:index])
            start, used = index, 0
        used += step
    parts.append(text[start:])
    return tuple(parts)


def ref_split_sms(text: Any, policy: Any = SmsPolicy.AUTO) -> tuple[Any, ...]:
    encoding = ref_analyse_sms(text, policy)
    if encoding.encoding == GSM7:
        return _ref_parts(encoding.text, _ref_septets, 160, 153)
    return _ref_parts(encoding.text, _ref_utf16_units, 70, 67)


# --- the texts ---

_GSM = "".join(sorted(_REF_BASIC))
_EXT = "".join(sorted(_REF_EXTENSION))
_CZECH = "áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ„“”‚‘’«»‹›–—−…•·\u00a0\u202f\u2009\t"
_OTHER = "ĺľŕäöüÄÖÜőűçñÑåÅøØæÆßẞﬁ①²ᵃ\u0301\u030c\ufb01Ωω™©®°µ½"
_ODD = "\x00\x07\x1b\x7f\x80\x85\x9b\x9f\ud800\udbff\udc00\udfff\u200b\u200d\ufeff\u2028\ufffd"
_ASTRAL = "😀👍🇨🇿𝐀𝔸\U0010ffff\U00010000"
# Any code point at all, lone surrogates included, and the ones that matter here, often.
_any_char = st.one_of(st.characters(codec=None), st.characters(categories=["Cs"]))
_chosen = st.sampled_from(_GSM + _EXT + _CZECH + _OTHER + _ODD + _ASTRAL)
texts = st.text(st.one_of(_any_char, _chosen), max_size=400)
# Long texts near the segment boundaries: the extension table and pairs at the cuts.
_long_gsm = st.text(st.sampled_from(_GSM + _EXT + _EXT + "čř…"), min_size=140, max_size=700)
_long_ucs2 = st.text(st.sampled_from(_CZECH + _ASTRAL + "abc "), min_size=60, max_size=400)
_plain = st.text(st.sampled_from(_GSM), max_size=700)
_ascii = st.text(st.characters(max_codepoint=0x7F), max_size=400)
# Every character of Windows-1250 (which holds Czech text), and now and then one outside it.
_CP1250 = "".join(ch for ch in bytes(range(256)).decode("cp1250", "replace") if ch != "\ufffd")
_czech = st.text(st.sampled_from(_CP1250), max_size=400)
_mostly_czech = st.text(st.one_of(st.sampled_from(_CP1250), _chosen), max_size=400)
all_texts = st.one_of(texts, _long_gsm, _long_ucs2, _plain, _ascii, _czech, _mostly_czech)
policies = st.sampled_from([*SmsPolicy, *(p.value for p in SmsPolicy)])


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call gives: ``("ok", value)`` or ``("raised", (type, message, data))``."""
    try:
        return "ok", call()
    except Exception as exc:  # the comparison is the point: any error, by type and message
        return "raised", (type(exc), str(exc), getattr(exc, "field", None))


def _same(call: Callable[[], Any], reference: Callable[[], Any]) -> None:
    got, expected = _outcome(call), _outcome(reference)
    assert got == expected
    if got[0] == "ok" and isinstance(got[1], SmsEncoding):
        assert got[1].policy is expected[1].policy
        assert type(got[1].text) is type(expected[1].text)


_SAMPLES = [
    "",
    "a" * 160,
    "a" * 161,
    "a" * 306,
    "a" * 307,
    "€" * 80,
    "€" * 81,
    "a" * 152 + "€" + "a" * 10,
    "č" * 70,
    "č" * 71,
    "😀" * 35,
    "😀" * 36,
    "a" * 66 + "😀" + "b" * 10,
    "Kód \x1b 1234",
    "řádek\r\ndalší\n",
    "\ud800",
    "ok \udfff…",
    "Café É ĺ ﬁ ①",
    "Dobrý den, Vaše objednávka č. 12 je připravena… Děkujeme",
]


@settings(max_examples=1_500)
@given(all_texts, policies)
@example("", "auto")
def test_analyse_sms_is_what_the_reference_gives(text: str, policy: Any) -> None:
    _same(lambda: analyse_sms(text, policy), lambda: ref_analyse_sms(text, policy))


@settings(max_examples=1_000)
@given(all_texts, policies)
def test_split_sms_is_what_the_reference_gives(text: str, policy: Any) -> None:
    _same(lambda: split_sms(text, policy), lambda: ref_split_sms(text, policy))


@settings(max_examples=1_000)
@given(all_texts)
def test_transliterate_and_the_control_check_are_what_the_reference_gives(text: str) -> None:
    _same(lambda: transliterate(text), lambda: ref_transliterate(text))
    _same(
        lambda: check_sms_control_characters(text),
        lambda: ref_check_sms_control_characters(text),
    )


@pytest.mark.parametrize("text", _SAMPLES)
@pytest.mark.parametrize("policy", [*SmsPolicy, "auto", "transliterate", "ucs2"])
def test_known_texts_are_what_the_reference_gives(text: str, policy: Any) -> None:
    _same(lambda: analyse_sms(text, policy), lambda: ref_analyse_sms(text, policy))
    _same(lambda: split_sms(text, policy), lambda: ref_split_sms(text, policy))
    _same(lambda: transliterate(text), lambda: ref_transliterate(text))


class _Shouting(str):
    """A str subclass with methods of its own: the fast paths must not bypass them."""

    def translate(self, table: Any) -> str:
        return str.translate(self.upper(), table)

    def __iter__(self) -> Any:
        return iter(str(self).upper())


@pytest.mark.parametrize(
    "value",
    [None, 42, b"abc", b"a\x1bb", ["a", "b"], ("č",), ["a\x1b"], _Shouting("dobrý den"),
     _Shouting("kód \x1b"), "ok"],
)  # fmt: skip
@pytest.mark.parametrize("policy", [*SmsPolicy, "bogus", None, 3])
def test_values_that_are_not_plain_text_fare_as_they_did(value: Any, policy: Any) -> None:
    """Not text, or text with methods of its own: the same result or the same error."""
    _same(lambda: analyse_sms(value, policy), lambda: ref_analyse_sms(value, policy))
    _same(lambda: split_sms(value, policy), lambda: ref_split_sms(value, policy))
    _same(lambda: transliterate(value), lambda: ref_transliterate(value))
    _same(
        lambda: check_sms_control_characters(value),
        lambda: ref_check_sms_control_characters(value),
    )


def test_the_control_characters_refused_are_exactly_unicode_cc_but_lf_and_cr() -> None:
    """Every code point: refused by the fast check exactly when the reference refuses it."""
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        refused = ch not in "\n\r" and unicodedata.category(ch) == "Cc"
        try:
            check_sms_control_characters(f"ab{ch}")
        except InvalidMessage as exc:
            assert refused, f"U+{code:04X}"
            assert (
                str(exc) == f"invalid message text: holds the control character U+{code:04X} at 2"
            )
        else:
            assert not refused, f"U+{code:04X}"


def test_the_transliteration_cannot_cascade() -> None:
    """What the fast path relies on to replace each distinct character once: every character
    transliterated lies outside GSM-7, and everything it becomes lies inside it."""
    gsm = _REF_BASIC | _REF_EXTENSION
    for key, value in sms._REPLACEMENT.items():
        assert key not in gsm, key
        assert value, key
        assert set(value) <= gsm, (key, value)
