"""Size known at compose (issue 16, item 4): a compose window asks, before it uploads a file,
whether it fits; the answer agrees with what compose and edit then accept and refuse."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    InvalidInput,
    LimitExceeded,
    Limits,
    LinkedEntity,
    MessengerSettings,
)
from contos_messaging.testing import RecordingEmailTransport, make_async_test_messenger
from tests.integration.conftest import MASTER_KEY

ADMIN = Actor.system()
C1 = LinkedEntity.client("C-1")


async def test_room_is_what_compose_and_edit_then_accept(tmp_path):
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY,
        settings=MessengerSettings(company_sender="info@contos.example.com"),
        email_transport=RecordingEmailTransport(max_message_size=300_000),
    )  # fmt: skip
    try:
        draft = await messenger.compose_email(
            ADMIN, to="jan@example.com", subject="Smlouva", text="V příloze.", links=[C1],
            attachments=[Attachment.from_bytes("smlouva.pdf", b"x" * 100_000)],
        )  # fmt: skip
        now = await messenger.email_size(draft.id)
        assert now.fits
        assert now.limit == 300_000
        assert 100_000 * 4 // 3 < now.attachments_encoded < now.encoded < 300_000
        room = now.room
        assert 50_000 < room < 200_000 * 3 // 4
        assert (await messenger.email_size(draft.id, adding=[room])).fits
        assert not (await messenger.email_size(draft.id, adding=[room + 4096])).fits

        keep = draft.attachments[0]
        fitted = await messenger.edit(
            ADMIN, draft.id, attachments=[keep, Attachment.from_bytes("a.pdf", b"y" * room)]
        )
        assert len(fitted.attachments) == 2
        with pytest.raises(LimitExceeded, match="max_message_size"):
            await messenger.edit(
                ADMIN, draft.id,
                attachments=[keep, Attachment.from_bytes("b.pdf", b"z" * (room + 4096))],
            )  # fmt: skip
        fresh = await messenger.email_size(adding=[250_000])
        assert not fresh.fits
        with pytest.raises(LimitExceeded):
            await messenger.compose_email(
                ADMIN, to="jan@example.com", subject="S", text="T", links=[C1],
                attachments=[Attachment.from_bytes("c.pdf", b"c" * 250_000)],
            )  # fmt: skip
        sms = await messenger.compose_sms(ADMIN, to="+420601123456", text="Kód", links=[C1])
        with pytest.raises(InvalidInput, match="SMS"):
            await messenger.email_size(sms.id)
        for bad in ([-1], [True], [1.5]):
            with pytest.raises(InvalidInput):
                await messenger.email_size(adding=bad)  # type: ignore[arg-type]
    finally:
        await messenger.aclose()


@settings(max_examples=40, deadline=None)
@given(
    files=st.lists(st.integers(0, 40_000), max_size=4),
    limit=st.integers(20_000, 200_000),
    attachments_bytes=st.integers(10_000, 150_000),
)
def test_fits_says_exactly_whether_compose_accepts(files, limit, attachments_bytes):
    """For any files and limits: ``fits`` is True exactly when compose stores the message."""
    settings_ = MessengerSettings(
        company_sender="info@contos.example.com",
        limits=Limits(attachments_bytes=attachments_bytes, attachments=3),
    )

    async def run() -> None:
        async with make_async_test_messenger(
            settings=settings_, email_transport=RecordingEmailTransport(max_message_size=limit)
        ) as messenger:
            answer = await messenger.email_size(adding=files)
            try:
                await messenger.compose_email(
                    ADMIN, to="x@example.com", subject="", text=" ", links=[C1],
                    attachments=[Attachment.from_bytes("file", b"f" * n) for n in files],
                )  # fmt: skip
                accepted = True
            except LimitExceeded:
                accepted = False
            assert answer.fits == accepted, (answer, accepted)

    asyncio.run(run())
