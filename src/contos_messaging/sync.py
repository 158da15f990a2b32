"""Messenger and Templates: the blocking twins of AsyncMessenger and AsyncTemplates, produced
mechanically. Each method is ``blocking(AsyncMessenger.<name>)``: the same signature (mypy sees
it through ``ParamSpec``), the same docstring, and a body that runs the coroutine on the
messenger's private event-loop thread. ``tests/unit/test_sync.py`` fails if any public method,
parameter, annotation, default, return type or docstring of a twin differs from its original."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from contos_messaging.messenger import AsyncMessenger
from contos_messaging.services.export import BlockingAttachmentDownload, blocking_chunks
from contos_messaging.services.settings import MessengerSettings, Ports
from contos_messaging.services.templates import AsyncTemplates
from contos_messaging.sync_support import (
    LoopOwner,
    LoopThread,
    Twin,
    blocking,
    opener,
    signals_while_watching,
)

__all__ = ["Messenger", "Templates"]

R = TypeVar("R")


class Templates(Twin):
    """Blocking :class:`~contos_messaging.AsyncTemplates` (``messenger.templates``)."""

    def __init__(
        self, templates: AsyncTemplates, run: Callable[[Coroutine[Any, Any, Any]], Any]
    ) -> None:
        self._async = templates
        self._run = run

    save = blocking(AsyncTemplates.save)
    get = blocking(AsyncTemplates.get)
    list = blocking(AsyncTemplates.list)
    retire = blocking(AsyncTemplates.retire)
    variables = blocking(AsyncTemplates.variables)
    preview = blocking(AsyncTemplates.preview)


class Messenger(LoopOwner):
    """The blocking twin of :class:`AsyncMessenger`: same methods, same arguments, plain calls.

    It owns one private event loop on a daemon thread, started on first use, so it works in
    plain scripts, in threaded web servers and inside a host that already runs its own loop.
    Calls from several threads are safe. :meth:`close` (or leaving the ``with`` block) closes the
    async messenger and stops the thread. Calling it from its own loop thread (for example from
    inside a callback it invoked) raises :class:`UsageError` instead of deadlocking. Callbacks
    (``progress``) run on that loop thread and must not call the messenger.
    """

    def __init__(self, messenger: AsyncMessenger, *, _runner: LoopThread | None = None) -> None:
        super().__init__(messenger, _runner)

    open = staticmethod(opener(AsyncMessenger.open, lambda m, runner: Messenger(m, _runner=runner)))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()

    @property
    def async_messenger(self) -> AsyncMessenger:
        """The async messenger behind this facade."""
        return self._async  # type: ignore[no-any-return]

    @property
    @functools.wraps(AsyncMessenger.ports.fget)  # type: ignore[attr-defined]
    def ports(self) -> Ports:
        return self._async.ports  # type: ignore[no-any-return]

    @property
    @functools.wraps(AsyncMessenger.settings.fget)  # type: ignore[attr-defined]
    def settings(self) -> MessengerSettings:
        return self._async.settings  # type: ignore[no-any-return]

    @property
    def templates(self) -> Templates:
        """The template store: ``save``, ``get``, ``list``, ``retire``, ``variables``,
        ``preview``."""
        return Templates(self._async.templates, self._run)

    @functools.wraps(AsyncMessenger.stop_outbox)
    def stop_outbox(self) -> None:
        self._async.stop_outbox()

    compose_email = blocking(AsyncMessenger.compose_email)
    compose_sms = blocking(AsyncMessenger.compose_sms)
    compose_from_template = blocking(AsyncMessenger.compose_from_template)
    preview_sms = blocking(AsyncMessenger.preview_sms)
    generate_bulk = blocking(AsyncMessenger.generate_bulk)
    get = blocking(AsyncMessenger.get)
    history = blocking(AsyncMessenger.history)
    messages = blocking(AsyncMessenger.messages)
    status_counts = blocking(AsyncMessenger.status_counts)
    search = blocking(AsyncMessenger.search)
    wait_indexed = blocking(AsyncMessenger.wait_indexed)
    reindex = blocking(AsyncMessenger.reindex)
    send_log = blocking(AsyncMessenger.send_log)
    audit = blocking(AsyncMessenger.audit)
    record_delivery = blocking(AsyncMessenger.record_delivery)
    deliveries = blocking(AsyncMessenger.deliveries)
    email_size = blocking(AsyncMessenger.email_size)
    lookup_contacts = blocking(AsyncMessenger.lookup_contacts)
    export_eml = blocking(AsyncMessenger.export_eml)

    def attachment(self, message_id: str, index: int) -> BlockingAttachmentDownload:
        download = self._run(self._async.attachment(message_id, index))

        def next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
            async def step() -> bytes | None:
                return await anext(chunks, None)

            chunk: bytes | None = self._run(step())
            return chunk

        return BlockingAttachmentDownload(
            download.attachment, blocking_chunks(next_chunk, download.chunks)
        )

    attachment.__doc__ = AsyncMessenger.attachment.__doc__
    send = blocking(AsyncMessenger.send)
    send_due = blocking(AsyncMessenger.send_due, around=signals_while_watching)
    resend = blocking(AsyncMessenger.resend)
    edit = blocking(AsyncMessenger.edit)
    cancel = blocking(AsyncMessenger.cancel)
    queue = blocking(AsyncMessenger.queue)
    erase_client = blocking(AsyncMessenger.erase_client)
    wait_for_compaction = blocking(AsyncMessenger.wait_for_compaction)
    rotate_client_key = blocking(AsyncMessenger.rotate_client_key)
    rotate_master_key = blocking(AsyncMessenger.rotate_master_key)
    finish_master_key_rotation = blocking(AsyncMessenger.finish_master_key_rotation)
    verify = blocking(AsyncMessenger.verify)
    gc = blocking(AsyncMessenger.gc)
