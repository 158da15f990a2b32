"""Looking up: one message, all communication linked to a record, a message's send log."""

from __future__ import annotations

import attrs

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import InvalidInput, UsageError
from contos_messaging.ports import Contact, ContactLookup
from contos_messaging.services.core import Core

__all__ = ["history", "lookup_contacts", "messages", "send_log", "status_counts"]

MAX_LOOKUP = 100
MAX_LOOKUP_CHARS = 200


async def history(core: Core, entity: LinkedEntity, query: MessageQuery) -> Page[Message]:
    """See ``AsyncMessenger.history``."""
    if not isinstance(entity, LinkedEntity):
        raise InvalidInput(f"history needs a LinkedEntity, got {entity!r}")
    query = MessageQuery.of(query, linked=entity).for_list().within(core.settings.limits)
    return await core.ports.repository.list_messages(query)


async def messages(core: Core, query: MessageQuery) -> Page[Message]:
    """See ``AsyncMessenger.messages``."""
    query = query.for_list().within(core.settings.limits)
    return await core.ports.repository.list_messages(query)


async def status_counts(core: Core, query: MessageQuery) -> dict[MessageStatus, int]:
    """See ``AsyncMessenger.status_counts``."""
    query = query.for_list()
    counts: dict[MessageStatus, int] = {}
    for status in query.status or tuple(MessageStatus):
        counted = attrs.evolve(query, status=status, limit=1, offset=0, after=None)
        counts[status] = (await core.ports.repository.list_messages(counted)).total
    return counts


async def send_log(core: Core, message_id: str) -> list[SendAttempt]:
    """See ``AsyncMessenger.send_log``."""
    await core.ports.repository.get(message_id)
    return await core.ports.repository.attempts(message_id)


async def lookup_contacts(
    core: Core, text: str, *, limit: int
) -> list[tuple[LinkedEntity, Contact]]:
    """See ``AsyncMessenger.lookup_contacts``."""
    if not 1 <= limit <= MAX_LOOKUP:
        raise InvalidInput(f"limit must be 1 to {MAX_LOOKUP}, got {limit}")
    if len(text) > MAX_LOOKUP_CHARS:
        raise InvalidInput(f"the lookup text is longer than {MAX_LOOKUP_CHARS} characters")
    book = core.ports.address_book
    if not isinstance(book, ContactLookup):
        raise UsageError(
            f"the address book ({type(book).__name__}) has no lookup(text, *, limit): implement"
            " ContactLookup to offer autocomplete"
        )
    found = await book.lookup(text, limit=limit)
    return [(entity, contact) for entity, contact in list(found)[:limit]]
