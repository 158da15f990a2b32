"""Building search documents and keeping the index in step (never blocking on it)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from contos_messaging.domain.addresses import EmailRecipients
from contos_messaging.domain.message import Message
from contos_messaging.ports import SearchDocument, SearchIndex

__all__ = ["IndexUpdater", "search_document"]

log = logging.getLogger("contos_messaging.search")


def search_document(message: Message) -> SearchDocument:
    """The searchable view of a message: subject, body text, recipients, file names."""
    if isinstance(message.recipients, EmailRecipients):
        recipients = " ".join(
            f"{a.display_name} {a.addr_spec}".strip() for a in message.recipients.all
        )
    else:
        recipients = " ".join(message.recipients.envelope)
    body = message.body_text
    return SearchDocument(
        message_id=message.id,
        channel=message.channel,
        status=message.status,
        created_at=message.created_at,
        created_by=message.created_by,
        links=message.links,
        subject=message.subject,
        body=body,
        recipients=recipients,
        attachment_names=" ".join(a.filename for a in message.attachments),
        template_name=message.template.name if message.template else "",
    )


class IndexUpdater:
    """Pushes changes to the search index. A failure is logged and counted, never raised: the
    index is derived data and ``reindex`` rebuilds it."""

    def __init__(self, index: SearchIndex | None) -> None:
        self._index = index
        self.failures = 0

    async def upsert(self, messages: Sequence[Message]) -> None:
        """Index (or re-index) messages."""
        if not messages or self._index is None:
            return
        try:
            await self._index.upsert([search_document(m) for m in messages])
        except Exception:  # the index must never block storing or sending
            self.failures += 1
            log.exception("search index update failed for %d message(s)", len(messages))

    async def delete(self, message_ids: Sequence[str]) -> None:
        """Remove messages from the index."""
        if not message_ids or self._index is None:
            return
        try:
            await self._index.delete(message_ids)
        except Exception:  # the index must never block erasing
            self.failures += 1
            log.exception("search index delete failed for %d message(s)", len(message_ids))
