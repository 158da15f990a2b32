"""Messenger: the blocking facade, running an AsyncMessenger on a private event-loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.addresses import AddressInput, EmailAddress
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.phones import PhoneNumber
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import UsageError
from contos_messaging.services.messenger import AsyncMessenger
from contos_messaging.services.sending import SendReport
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = ["Messenger"]

T = TypeVar("T")


class Messenger:
    """The blocking twin of :class:`AsyncMessenger`: same methods, same arguments, plain calls.

    It owns one private event loop on a daemon thread, started on first use, so it works in
    plain scripts, in threaded web servers and inside a host that already runs its own loop.
    Calls from several threads are safe. :meth:`close` (or leaving the ``with`` block) closes the
    async messenger and stops the thread. Calling it from its own loop thread (for example from
    inside a callback it invoked) raises :class:`UsageError` instead of deadlocking.
    """

    def __init__(self, messenger: AsyncMessenger) -> None:
        self._async = messenger
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- loop thread -------------------------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise UsageError("this messenger is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name="contos-messaging-loop", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            loop = self._ensure_loop()
        except UsageError:
            coro.close()
            raise
        if self._thread is not None and threading.get_ident() == self._thread.ident:
            coro.close()
            raise UsageError(
                "Messenger was called from its own event-loop thread (inside a callback); "
                "use the AsyncMessenger there"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def close(self) -> None:
        """Close the messenger and stop its loop thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            # Never used: close the async side on a throw-away loop.
            if _no_running_loop():
                asyncio.run(self._async.aclose())
            else:
                _close_in_thread(self._async)
            return
        if threading.get_ident() == thread.ident:
            raise UsageError("Messenger.close() cannot be called from its own loop thread")
        try:
            asyncio.run_coroutine_threadsafe(self._async.aclose(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the facade --------------------------------------------------------------------------

    @property
    def ports(self) -> Ports:
        """The adapters this messenger runs on (in tests: the fakes to inspect)."""
        return self._async.ports

    @property
    def settings(self) -> MessengerSettings:
        """The company-wide settings."""
        return self._async.settings

    @property
    def async_messenger(self) -> AsyncMessenger:
        """The async messenger behind this facade."""
        return self._async

    def compose_email(
        self,
        actor: Actor,
        *,
        to: AddressInput | None = None,
        subject: str,
        html: str | None = None,
        text: str | None = None,
        cc: AddressInput = (),
        bcc: AddressInput = (),
        sender: EmailAddress | str | None = None,
        attachments: Sequence[Attachment] = (),
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Message:
        """Blocking :meth:`AsyncMessenger.compose_email`."""
        return self._run(
            self._async.compose_email(
                actor,
                to=to,
                subject=subject,
                html=html,
                text=text,
                cc=cc,
                bcc=bcc,
                sender=sender,
                attachments=attachments,
                links=links,
                scheduled_at=scheduled_at,
                expires_at=expires_at,
            )
        )

    def compose_sms(
        self,
        actor: Actor,
        *,
        to: str | PhoneNumber | Sequence[str | PhoneNumber] | None = None,
        text: str,
        sender: str | None = None,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Message:
        """Blocking :meth:`AsyncMessenger.compose_sms`."""
        return self._run(
            self._async.compose_sms(
                actor,
                to=to,
                text=text,
                sender=sender,
                links=links,
                scheduled_at=scheduled_at,
                expires_at=expires_at,
            )
        )

    def get(self, message_id: str) -> Message:
        """Blocking :meth:`AsyncMessenger.get`."""
        return self._run(self._async.get(message_id))

    def history(
        self,
        entity: LinkedEntity,
        *,
        channel: Channel | None = None,
        status: MessageStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        created_by: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[Message]:
        """Blocking :meth:`AsyncMessenger.history`."""
        return self._run(
            self._async.history(
                entity,
                channel=channel,
                status=status,
                since=since,
                until=until,
                created_by=created_by,
                limit=limit,
                offset=offset,
            )
        )

    def send_log(self, message_id: str) -> list[SendAttempt]:
        """Blocking :meth:`AsyncMessenger.send_log`."""
        return self._run(self._async.send_log(message_id))

    def send(self, actor: Actor, message_ids: str | Iterable[str]) -> SendReport:
        """Blocking :meth:`AsyncMessenger.send`."""
        return self._run(self._async.send(actor, message_ids))

    def cancel(self, actor: Actor, message_id: str) -> Message:
        """Blocking :meth:`AsyncMessenger.cancel`."""
        return self._run(self._async.cancel(actor, message_id))


def _no_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


def _close_in_thread(messenger: AsyncMessenger) -> None:
    thread = threading.Thread(target=lambda: asyncio.run(messenger.aclose()))
    thread.start()
    thread.join()
