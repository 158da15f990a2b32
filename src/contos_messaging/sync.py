"""Messenger: the blocking facade, running an AsyncMessenger on a private event-loop thread."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from contos_messaging.domain.actor import Actor
from contos_messaging.domain.addresses import AddressInput, EmailAddress
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.integrity import VerifyReport
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus
from contos_messaging.domain.page import Page
from contos_messaging.domain.phones import PhoneNumber
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.errors import UsageError
from contos_messaging.ports import (
    AddressBook,
    Clock,
    ContextProvider,
    EmailTransport,
    PermissionPolicy,
    SmsTransport,
)
from contos_messaging.services.composing import Progress
from contos_messaging.services.messenger import AsyncMessenger, GcReport
from contos_messaging.services.searching import SearchPage
from contos_messaging.services.send_report import SendReport
from contos_messaging.services.settings import MessengerSettings, Ports
from contos_messaging.services.templating import BulkReport, BulkTarget
from contos_messaging.sync_support import LoopThread, Templates

__all__ = ["Messenger", "Templates"]

T = TypeVar("T")


class Messenger:
    """The blocking twin of :class:`AsyncMessenger`: same methods, same arguments, plain calls.

    It owns one private event loop on a daemon thread, started on first use, so it works in
    plain scripts, in threaded web servers and inside a host that already runs its own loop.
    Calls from several threads are safe. :meth:`close` (or leaving the ``with`` block) closes the
    async messenger and stops the thread. Calling it from its own loop thread (for example from
    inside a callback it invoked) raises :class:`UsageError` instead of deadlocking.
    """

    def __init__(self, messenger: AsyncMessenger, *, _runner: LoopThread | None = None) -> None:
        self._async = messenger
        self._runner = _runner
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        master_key: bytes | str | None = None,
        company_sender: EmailAddress | str | None = None,
        settings: MessengerSettings | None = None,
        email_transport: EmailTransport | None = None,
        sms_transport: SmsTransport | None = None,
        address_book: AddressBook | None = None,
        context: ContextProvider | None = None,
        permissions: PermissionPolicy | None = None,
        clock: Clock | None = None,
    ) -> Messenger:
        """Blocking :meth:`AsyncMessenger.open`: open the embedded store in directory ``path``."""
        runner = LoopThread()
        try:
            messenger = runner.run(
                AsyncMessenger.open(
                    path,
                    master_key=master_key,
                    company_sender=company_sender,
                    settings=settings,
                    email_transport=email_transport,
                    sms_transport=sms_transport,
                    address_book=address_book,
                    context=context,
                    permissions=permissions,
                    clock=clock,
                )
            )
        except BaseException:
            runner.stop()
            raise
        return cls(messenger, _runner=runner)

    # -- loop thread -------------------------------------------------------------------------

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None:
        return self._runner.loop if self._runner else None

    @property
    def _thread(self) -> threading.Thread | None:
        return self._runner.thread if self._runner else None

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._closed:
                coro.close()
                raise UsageError("this messenger is closed")
            if self._runner is None:
                self._runner = LoopThread()
            runner = self._runner
        return runner.run(coro)

    def close(self) -> None:
        """Close the messenger and stop its loop thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            if self._runner is not None and self._runner.on_thread():
                raise UsageError("Messenger.close() cannot be called from its own loop thread")
            self._closed = True
            runner, self._runner = self._runner, None
        if runner is None:
            runner = LoopThread()  # never used: close the async side on a short-lived loop
        try:
            runner.run(self._async.aclose())
        finally:
            runner.stop()

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
    def templates(self) -> Templates:
        """Blocking :attr:`AsyncMessenger.templates`."""
        return Templates(self._async.templates, self._run)

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
        idempotency_key: str | None = None,
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
                idempotency_key=idempotency_key,
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
        idempotency_key: str | None = None,
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
                idempotency_key=idempotency_key,
            )
        )

    def compose_from_template(
        self,
        actor: Actor,
        template_name: str,
        *,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        to: AddressInput | None = None,
        variables: Mapping[str, Any] | None = None,
        language: str | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Blocking :meth:`AsyncMessenger.compose_from_template`."""
        return self._run(
            self._async.compose_from_template(
                actor,
                template_name,
                links=links,
                to=to,
                variables=variables,
                language=language,
                scheduled_at=scheduled_at,
                expires_at=expires_at,
                idempotency_key=idempotency_key,
            )
        )

    def generate_bulk(
        self,
        actor: Actor,
        template_name: str,
        targets: Iterable[BulkTarget | LinkedEntity | Iterable[LinkedEntity]],
        *,
        scheduled_at: datetime | None = None,
        progress: Progress | None = None,
        language: str | None = None,
        batch_size: int = 500,
    ) -> BulkReport:
        """Blocking :meth:`AsyncMessenger.generate_bulk`; ``progress`` runs on the messenger's
        loop thread (it must not call the messenger)."""
        return self._run(
            self._async.generate_bulk(
                actor,
                template_name,
                targets,
                scheduled_at=scheduled_at,
                progress=progress,
                language=language,
                batch_size=batch_size,
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

    def search(
        self,
        query: str,
        *,
        channel: Channel | None = None,
        status: MessageStatus | None = None,
        linked: LinkedEntity | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        created_by: str | None = None,
        order: Literal["relevance", "newest"] = "relevance",
        limit: int = 20,
        offset: int = 0,
    ) -> SearchPage:
        """Blocking :meth:`AsyncMessenger.search`."""
        return self._run(
            self._async.search(
                query,
                channel=channel,
                status=status,
                linked=linked,
                since=since,
                until=until,
                created_by=created_by,
                order=order,
                limit=limit,
                offset=offset,
            )
        )

    def wait_indexed(self) -> None:
        """Blocking :meth:`AsyncMessenger.wait_indexed`."""
        self._run(self._async.wait_indexed())

    def reindex(self, *, progress: Progress | None = None) -> int:
        """Blocking :meth:`AsyncMessenger.reindex`."""
        return self._run(self._async.reindex(progress=progress))

    def send_log(self, message_id: str) -> list[SendAttempt]:
        """Blocking :meth:`AsyncMessenger.send_log`."""
        return self._run(self._async.send_log(message_id))

    def send(
        self,
        actor: Actor,
        message_ids: str | Iterable[str],
        *,
        lease: timedelta = timedelta(minutes=5),
    ) -> SendReport:
        """Blocking :meth:`AsyncMessenger.send`."""
        return self._run(self._async.send(actor, message_ids, lease=lease))

    def send_due(
        self,
        limit: int | None = None,
        *,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
        actor: Actor | None = None,
        watch: bool = False,
        poll: float = 5.0,
        progress: Progress | None = None,
    ) -> SendReport:
        """Blocking :meth:`AsyncMessenger.send_due`. With ``watch=True`` in the main thread,
        SIGTERM and SIGINT stop it gracefully (the batch in flight finishes)."""
        previous: dict[signal.Signals, Any] = {}
        if watch and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda *_: self._async.stop_outbox())
        try:
            return self._run(
                self._async.send_due(
                    limit,
                    lease=lease,
                    batch=batch,
                    actor=actor,
                    watch=watch,
                    poll=poll,
                    progress=progress,
                )
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_outbox(self) -> None:
        """:meth:`AsyncMessenger.stop_outbox` (safe from any thread)."""
        self._async.stop_outbox()

    def resend(self, actor: Actor, message_id: str) -> SendAttempt:
        """Blocking :meth:`AsyncMessenger.resend`."""
        return self._run(self._async.resend(actor, message_id))

    def edit(
        self,
        actor: Actor,
        message_id: str,
        *,
        to: AddressInput | None = None,
        cc: AddressInput | None = None,
        bcc: AddressInput | None = None,
        subject: str | None = None,
        html: str | None = None,
        text: str | None = None,
        links: Iterable[LinkedEntity] | LinkedEntity | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Message:
        """Blocking :meth:`AsyncMessenger.edit`."""
        return self._run(
            self._async.edit(
                actor,
                message_id,
                to=to,
                cc=cc,
                bcc=bcc,
                subject=subject,
                html=html,
                text=text,
                links=links,
                scheduled_at=scheduled_at,
                expires_at=expires_at,
            )
        )

    def cancel(self, actor: Actor, message_id: str) -> Message:
        """Blocking :meth:`AsyncMessenger.cancel`."""
        return self._run(self._async.cancel(actor, message_id))

    def erase_client(self, actor: Actor, client_id: str) -> tuple[str, ...]:
        """Blocking :meth:`AsyncMessenger.erase_client`."""
        return self._run(self._async.erase_client(actor, client_id))

    def rotate_client_key(self, actor: Actor, client_id: str) -> str:
        """Blocking :meth:`AsyncMessenger.rotate_client_key`."""
        return self._run(self._async.rotate_client_key(actor, client_id))

    def verify(self) -> VerifyReport:
        """Blocking :meth:`AsyncMessenger.verify`."""
        return self._run(self._async.verify())

    def gc(self, *, grace: timedelta = timedelta(hours=1)) -> GcReport:
        """Blocking :meth:`AsyncMessenger.gc`."""
        return self._run(self._async.gc(grace=grace))
