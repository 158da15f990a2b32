"""Looking up: one message, all communication linked to a record, a message's send log."""

from __future__ import annotations

from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message
from contos_messaging.domain.page import Page
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import InvalidInput, UsageError
from contos_messaging.ports import Contact, ContactLookup
from contos_messaging.services.core import Core

__all__ = ["history", "lookup_contacts", "send_log"]

MAX_LOOKUP = 100
MAX_LOOKUP_CHARS = 200


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
