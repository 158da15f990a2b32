"""SMS encoding on the embedded store (issue 17, items 1 and 2): an SMS says what it costs, a
control character is refused, the transliterate policy keeps Czech text in GSM-7, the maximum
number of segments holds for compose, templates and edit, and nothing is stored when refused."""

from __future__ import annotations

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Channel,
    InvalidInput,
    InvalidMessage,
    InvalidPhoneNumber,
    LimitExceeded,
    LinkedEntity,
    MessengerSettings,
)
from tests.integration.conftest import MASTER_KEY

ADMIN = Actor.system()
C1 = LinkedEntity.client("C-1")
CZECH = "Dobrý den, Vaše objednávka č. 1234 je připravena k vyzvednutí – děkujeme…"


async def _open(tmp_path, **settings):
    return await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY,
        settings=MessengerSettings(company_sender="info@contos.example.com", **settings),
    )  # fmt: skip


async def test_an_sms_says_what_it_costs_and_control_characters_are_refused(tmp_path):
    messenger = await _open(tmp_path)
    try:
        sms = await messenger.compose_sms(ADMIN, to="+420601123456", text=CZECH, links=[C1])
        cost = (await messenger.get(sms.id)).sms_cost
        assert cost is not None
        assert (cost.encoding, cost.segments) == ("UCS-2", 2)
        assert cost.forced_by[:3] == ("ý", "š", "á")
        with pytest.raises(InvalidMessage, match="U\\+001B"):
            await messenger.compose_sms(ADMIN, to="+420601123456", text="Kód \x1b 1234")
        with pytest.raises(InvalidMessage, match="U\\+0007"):
            await messenger.edit(ADMIN, sms.id, text="zvonek \x07")
        with pytest.raises(LimitExceeded, match="sms_segments"):
            await messenger.compose_sms(ADMIN, to="+420601123456", text="x" * 1199)
        assert (await messenger.history(C1)).total == 1
        preview = await messenger.preview_sms(CZECH, policy="transliterate")
        assert (preview.encoding, preview.segments) == ("GSM-7", 1)
        assert preview.text.startswith("Dobry den, Vase objednavka c. 1234")
        assert (await messenger.preview_sms("ok")).left == 158
        with pytest.raises(InvalidInput, match="policy must be one of"):
            await messenger.preview_sms("ok", policy="latin2")
    finally:
        await messenger.aclose()


async def test_the_transliterate_policy_keeps_czech_in_one_gsm7_segment(tmp_path):
    messenger = await _open(tmp_path, sms_policy="transliterate")
    try:
        sms = await messenger.compose_sms(ADMIN, to="+420601123456", text=CZECH, links=[C1])
        assert sms.text.startswith("Dobry den, Vase objednavka c. 1234")
        assert sms.sms_cost is not None
        assert (sms.sms_cost.encoding, sms.sms_cost.segments) == ("GSM-7", 1)
        await messenger.templates.save(
            ADMIN, "pripominka", channel=Channel.SMS, text="Připomínáme splátku {{ castka }} Kč."
        )
        reminded = await messenger.compose_from_template(
            ADMIN, "pripominka", to="+420601123456", variables={"castka": "1 200"}, links=[C1]
        )
        assert reminded.text == "Pripominame splatku 1 200 Kc."
        edited = await messenger.edit(ADMIN, sms.id, text="Změna termínu: čtvrtek")
        assert edited.text == "Zmena terminu: ctvrtek"
    finally:
        await messenger.aclose()


async def test_numbers_are_e164_and_abroad_only_when_allowed(tmp_path):
    home = await _open(tmp_path)
    try:
        sms = await home.compose_sms(ADMIN, to="＋420 ６０１ １２３ ４５６; 601123456", text="Kód")
        assert sms.recipients.envelope == ("+420601123456",)
        for number, reason in [
            ("+421 905 123 456", "SMS abroad are off"),
            ("112", "emergency"),
            ("116 111", "short code"),
            ("900 123 456", "premium-rate"),
            ("601 ABC 456", "no letters"),
        ]:
            with pytest.raises(InvalidPhoneNumber, match=reason):
                await home.compose_sms(ADMIN, to=number, text="Kód")
        assert (await home.history(C1)).total == 0
    finally:
        await home.aclose()
    abroad = await _open(tmp_path, sms_international=True)
    try:
        sms = await abroad.compose_sms(ADMIN, to="+421 905 123 456", text="Kód")
        assert sms.recipients.envelope == ("+421905123456",)
    finally:
        await abroad.aclose()


async def test_a_template_preview_shows_what_the_sms_costs_and_the_html_as_stored(tmp_path):
    messenger = await _open(tmp_path, sms_policy="transliterate")
    try:
        await messenger.templates.save(
            ADMIN,
            "upominka",
            channel=Channel.SMS,
            text="Dobrý den, připomínáme splátku {{ c }} Kč…",
        )
        await messenger.templates.save(
            ADMIN,
            "letak",
            subject="Nabídka",
            html='<p onclick="x()">Nabídka</p><script>s()</script>',
        )
        sms = await messenger.templates.preview("upominka", {"c": "1 200"})
        assert sms.text == "Dobry den, pripominame splatku 1 200 Kc..."
        assert sms.sms is not None
        assert (sms.sms.encoding, sms.sms.segments, sms.sms.left) == ("GSM-7", 1, 160 - 42)
        html = await messenger.templates.preview("letak")
        assert html.html == "<p>Nabídka</p>"
        assert html.sms is None
    finally:
        await messenger.aclose()


@pytest.mark.parametrize("store", ["fakes", "embedded"])
async def test_a_templates_own_policy_wins_over_the_messengers(tmp_path, store):
    from contos_messaging.testing import make_async_test_messenger

    messenger = (
        make_async_test_messenger() if store == "fakes"
        else await _open(tmp_path)  # the messenger's policy: auto
    )  # fmt: skip
    try:
        await messenger.templates.save(
            ADMIN, "upominka", channel=Channel.SMS, sms_policy="transliterate",
            text="Dobrý den, připomínáme splátku {{ c }} Kč…",
        )  # fmt: skip
        await messenger.templates.save(
            ADMIN, "upominka-cz", channel=Channel.SMS, text="Připomínáme splátku {{ c }} Kč."
        )
        stored = await messenger.templates.get("upominka")
        assert stored.sms_policy == "transliterate"
        preview = await messenger.templates.preview("upominka", {"c": "1 200"})
        assert preview.sms is not None
        assert (preview.sms.policy, preview.sms.encoding) == ("transliterate", "GSM-7")
        sms = await messenger.compose_from_template(
            ADMIN, "upominka", to="+420601123456", variables={"c": "1 200"}, links=[C1]
        )
        assert sms.text == "Dobry den, pripominame splatku 1 200 Kc..."
        kept = await messenger.compose_from_template(
            ADMIN, "upominka-cz", to="+420601123456", variables={"c": "9"}, links=[C1]
        )
        assert kept.text == "Připomínáme splátku 9 Kč."
        with pytest.raises(InvalidInput, match="sms_policy must be one of"):
            await messenger.templates.save(
                ADMIN, "x", channel=Channel.SMS, text="x", sms_policy="gsm8"
            )
        with pytest.raises(InvalidInput, match="e-mail template 'y' cannot have an sms_policy"):
            await messenger.templates.save(
                ADMIN, "y", subject="s", text="t", sms_policy="transliterate"
            )
    finally:
        await messenger.aclose()
