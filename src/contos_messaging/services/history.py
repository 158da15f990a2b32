"""Looking up: one message, all communication linked to a record, a message's send log."""

from __future__ import annotations

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import InvalidInput
from contos_messaging.services.core import Core

__all__ = ["history", "send_log"]


async def history(core: Core, entity: LinkedEntity, query: MessageQuery) -> Page[Message]:
    """See ``AsyncMessenger.history``."""
    if not isinstance(entity, LinkedEntity):
        raise InvalidInput(f"history needs a LinkedEntity, got {entity!r}")
    query = MessageQuery.of(query, linked=entity).for_list().within(core.settings.limits)
    return await core.ports.repository.list_messages(query)


async def send_log(core: Core, message_id: str) -> list[SendAttempt]:
    """See ``AsyncMessenger.send_log``."""
    await core.ports.repository.get(message_id)
    return await core.ports.repository.attempts(message_id)
