"""gc never deletes an attachment under a message that is being committed while it runs.

An orphaned attachment (its message gone) ages past the grace; then a new message with the same
content is composed (deduplicated: the content is not written again) while gc runs. Whichever
step of gc the compose falls between, the new message's attachment stays readable.
Deterministic: the fakes' timestamps are set by hand and the compose runs at a gate inside gc.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contos_messaging import Actor, AsyncMessenger, Attachment, LinkedEntity, Permission
from contos_messaging.adapters.memory import InMemoryBlobStore, InMemoryMessageRepository
from contos_messaging.domain.message import Message
from contos_messaging.testing import make_async_test_messenger

C1 = LinkedEntity.client("C-1")
PDF = b"%PDF-1.7 smlouva klienta"
CLERK = Actor("jana", permissions={Permission.COMPOSE, Permission.SEND})


async def _orphan_aged_past_the_grace(messenger: AsyncMessenger) -> tuple[str, str]:
    """Compose a message with PDF, drop the message (as an interrupted compose would leave
    its attachment) and age the attachment two hours."""
    gone = await messenger.compose_email(
        CLERK, to="jan@example.com", subject="s", text="t", links=[C1],
        attachments=[Attachment.from_bytes("smlouva.pdf", PDF)],
    )  # fmt: skip
    repository = messenger.ports.repository
    blobs = messenger.ports.blobs
    assert isinstance(repository, InMemoryMessageRepository)
    assert isinstance(blobs, InMemoryBlobStore)
    del repository.messages[gone.id]
    stored = ("C-1", gone.attachments[0].sha256)
    blobs.created[stored] = datetime.now(UTC) - timedelta(hours=2)
    return stored


def _gate(
    target: Any, name: str, then: Callable[[], Awaitable[None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run ``then`` right after ``target.name`` returns (once)."""
    original = getattr(target, name)
    done: list[bool] = []

    async def gated(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        if not done:
            done.append(True)
            await then()
        return result

    monkeypatch.setattr(target, name, gated)


@pytest.mark.parametrize("gate", ["after_references_are_read", "after_candidates_are_listed"])
async def test_a_deduplicated_compose_during_gc_keeps_its_attachment(
    gate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    messenger = make_async_test_messenger()
    stored = await _orphan_aged_past_the_grace(messenger)
    composed: list[Message] = []

    async def compose_again() -> None:
        again = await messenger.compose_email(
            CLERK, to="jan@example.com", subject="znovu", text="t", links=[C1],
            attachments=[Attachment.from_bytes("smlouva.pdf", PDF)],
        )  # fmt: skip
        composed.append(again)

    if gate == "after_references_are_read":
        _gate(messenger.ports.repository, "referenced_blobs", compose_again, monkeypatch)
    else:
        _gate(messenger.ports.blobs, "list_objects", compose_again, monkeypatch)
    report = await messenger.gc(grace=timedelta(hours=1))

    (message,) = composed
    assert ("C-1", message.attachments[0].sha256) == stored  # deduplicated, not written again
    assert report.removed_objects == 0
    assert await messenger.ports.blobs.get(*stored) == PDF
    outcome = await messenger.send(CLERK, [message.id])
    assert outcome.sent == (message.id,)
    assert (await messenger.verify()).ok
    await messenger.aclose()


async def test_an_orphan_nobody_stores_again_is_still_collected() -> None:
    messenger = make_async_test_messenger()
    stored = await _orphan_aged_past_the_grace(messenger)
    report = await messenger.gc(grace=timedelta(hours=1))
    assert report.removed_objects == 1
    assert not await messenger.ports.blobs.exists(*stored)
    await messenger.aclose()
