"""HTML from an editor is stored sanitised (issue 16, item 7), on the embedded store: compose
and edit keep no script, handler or remote image; the text alternative holds nothing that was
cut away; a body with nothing safe left is refused and nothing is stored."""

from __future__ import annotations

import email
import email.policy

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    InvalidMessage,
    LinkedEntity,
    MessengerSettings,
)
from contos_messaging.testing import RecordingEmailTransport
from tests.integration.conftest import MASTER_KEY

ORDER = LinkedEntity.order("O-7")
HOSTILE = (
    '<p onclick="steal()">Dobrý den,</p><script>var heslo = "tajne";</script>'
    '<img src="https://tracker.example/p.gif?c=7" onerror="alert(1)">'
    '<a href="javascript:alert(1)">potvrdit</a> <a href="https://contos.example.cz/o/7">objednávka</a>'
)


async def _open(tmp_path, **settings):
    return await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY,
        settings=MessengerSettings(company_sender="info@contos.example.com", **settings),
        email_transport=RecordingEmailTransport(),
    )  # fmt: skip


async def test_compose_and_edit_store_only_safe_html(tmp_path):
    messenger = await _open(tmp_path)
    try:
        message = await messenger.compose_email(
            Actor.system(), to="jan@example.com", subject="Objednávka", html=HOSTILE,
            links=[ORDER],
        )  # fmt: skip
        stored = await messenger.get(message.id)
        assert stored.html == (
            '<p>Dobrý den,</p><img><a rel="noopener noreferrer">potvrdit</a> '
            '<a href="https://contos.example.cz/o/7" rel="noopener noreferrer">objednávka</a>'
        )
        eml = email.message_from_bytes(
            await messenger.export_eml(message.id), policy=email.policy.default
        )
        text = eml.get_body(("plain",)).get_content()
        assert "Dobrý den" in text
        assert "heslo" not in text
        assert "tracker" not in text

        edited = await messenger.edit(
            Actor.system(), message.id, html='<p>Nově</p><iframe src="https://evil.example">'
        )
        assert (await messenger.get(edited.id)).html == "<p>Nově</p>"

        before = await messenger.history(ORDER)
        with pytest.raises(InvalidMessage, match="nothing that can be sent safely"):
            await messenger.compose_email(
                Actor.system(), to="jan@example.com", subject="Prázdná",
                html="<script>alert(1)</script><style>p{}</style>", links=[ORDER],
            )  # fmt: skip
        assert (await messenger.history(ORDER)).total == before.total == 1
    finally:
        await messenger.aclose()


async def test_remote_images_stay_when_the_host_allows_them(tmp_path):
    messenger = await _open(tmp_path, remote_images=True)
    try:
        message = await messenger.compose_email(
            Actor.system(), to="jan@example.com", subject="Leták",
            html='<img src="https://contos.example.cz/letak.png" onerror="x()">', links=[ORDER],
        )  # fmt: skip
        assert (await messenger.get(message.id)).html == (
            '<img src="https://contos.example.cz/letak.png">'
        )
    finally:
        await messenger.aclose()
