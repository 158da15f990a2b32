"""SMS encoding and segments (issue 17, item 1), checked against an independent GSM 03.38
codec (the ``gsm0338`` package): for any text, GSM-7 exactly when the codec encodes it, its
septets the codec's bytes, and the segments those bytes make when cut at 153 without leaving
an escape at the end of a segment; UCS-2 counted in UTF-16 units, never splitting a pair."""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contos_messaging import InvalidMessage
from contos_messaging.domain.sms import GSM7, UCS2, SmsPolicy, analyse_sms, transliterate

# Characters a Czech office types, the GSM extension table, and a few beyond the BMP.
ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?-+/()@\n\r"
    "áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ€[]{}\\^~|„“”‚‘’–—…\u00a0éèÄÖÜäöüß"
)
_texts = st.text(alphabet=st.sampled_from(ALPHABET + "😀👍🇨🇿"), max_size=700)


def _reference_gsm_segments(encoded: bytes) -> int:
    if len(encoded) <= 160:
        return 1
    segments, rest = 0, encoded
    while rest:
        cut = 153
        if len(rest) > cut and rest[cut - 1] == 0x1B:  # an escape stays with its character
            cut -= 1
        rest, segments = rest[cut:], segments + 1
    return segments


def _reference_ucs2_segments(text: str) -> int:
    units = text.encode("utf-16-be")
    if len(units) <= 140:
        return 1
    segments, rest = 0, units
    while rest:
        cut = 134
        if len(rest) > cut and 0xD8 <= rest[cut - 2] <= 0xDB:  # a high surrogate stays
            cut -= 2
        rest, segments = rest[cut:], segments + 1
    return segments


@settings(max_examples=400)
@given(_texts, st.sampled_from(list(SmsPolicy)))
def test_encoding_and_segments_agree_with_an_independent_codec(text, policy):
    found = analyse_sms(text, policy)
    try:
        encoded = found.text.encode("gsm03.38")
    except UnicodeEncodeError:
        encoded = None
    if policy is not SmsPolicy.UCS2 and encoded is not None:
        assert found.encoding == GSM7
        assert found.units == len(encoded)
        assert found.segments == _reference_gsm_segments(encoded)
        assert found.forced_by == ()
    else:
        assert found.encoding == UCS2
        assert found.units == len(found.text.encode("utf-16-be")) // 2
        assert found.segments == _reference_ucs2_segments(found.text)
        if policy is not SmsPolicy.UCS2:
            assert found.forced_by
            for ch in found.forced_by:
                with pytest.raises(UnicodeEncodeError):
                    ch.encode("gsm03.38")
    per = (160 if found.encoding == GSM7 else 70) if found.segments == 1 else None
    if per is not None:
        assert found.left == per - found.units
    assert 0 <= found.left <= 160


@given(st.text(alphabet=st.sampled_from("áčďěíňóřšťúůýžÁČĎĚÍŇÓŘŠŤÚŮÝŽ„“”‚‘’–—…abc "), max_size=300))
def test_transliterated_czech_always_fits_gsm7(text):
    sent = transliterate(text)
    sent.encode("gsm03.38")  # (no character left outside the alphabet)
    assert analyse_sms(text, "transliterate").encoding == GSM7


@pytest.mark.parametrize(
    ("text", "policy", "encoding", "segments", "left"),
    [
        ("a" * 160, "auto", GSM7, 1, 0),
        ("a" * 161, "auto", GSM7, 2, 145),
        ("a" * 306, "auto", GSM7, 2, 0),
        ("a" * 307, "auto", GSM7, 3, 152),
        ("€" * 80, "auto", GSM7, 1, 0),
        ("€" * 81, "auto", GSM7, 2, 143),  # 76 + 5: no escape left at the end of a segment
        ("č" * 70, "auto", UCS2, 1, 0),
        ("č" * 71, "auto", UCS2, 2, 63),
        ("😀" * 35, "auto", UCS2, 1, 0),
        ("😀" * 36, "auto", UCS2, 2, 61),  # 33 + 3: no pair split
        ("Dobrý den, Vaše objednávka je připravena…", "auto", UCS2, 1, 70 - 41),
        ("Dobrý den, Vaše objednávka je připravena…", "transliterate", GSM7, 1, 160 - 43),
        ("ok", "ucs2", UCS2, 1, 68),
    ],
)
def test_known_costs(text, policy, encoding, segments, left):
    found = analyse_sms(text, policy)
    assert (found.encoding, found.segments, found.left) == (encoding, segments, left)


def test_the_characters_that_forced_ucs2_are_named_in_order():
    assert analyse_sms("Cena: 100 Kč, splatnost ř").forced_by == ("č", "ř")
    assert analyse_sms("Dobry den, Vase objednavka...").forced_by == ()
    assert analyse_sms("Dobrý den", "transliterate").text == "Dobry den"
    assert analyse_sms("Café É", "transliterate").text == "Café É"  # (GSM-7 has é and É)


@pytest.mark.parametrize("ch", ["\x1b", "\x00", "\x07", "\x7f", "\x85", "\x9b"])
def test_control_characters_other_than_lf_and_cr_are_refused(ch):
    with pytest.raises(InvalidMessage, match=f"U\\+{ord(ch):04X} at 4"):
        analyse_sms(f"Kód {ch} 1234")
    assert analyse_sms("řádek\r\ndalší\n").segments == 1
