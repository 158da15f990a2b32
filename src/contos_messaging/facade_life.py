"""The life-cycle and administration half of :class:`~contos_messaging.AsyncMessenger`: send, the
outbox, resend, edit, queue, cancel, erasure, key rotation, verify, gc (one class of methods it
inherits, to keep each file readable; see ``messenger.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from contos_messaging.adapters.sqlite.keys import load_master_key
from contos_messaging.domain.actor import Actor
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.integrity import VerifyReport
from contos_messaging.domain.limits import check_grace, check_lease, check_outbox_run
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Message
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import SendAttempt
from contos_messaging.facade_base import LEASE, FacadeBase
from contos_messaging.ports.search import CompactionReport
from contos_messaging.services import (
    cancel,
    edit,
    erase,
    gc,
    queue,
    resend,
    rotate,
    send,
    verify,
)
from contos_messaging.services.arguments import checked_methods
from contos_messaging.services.composing import EmailInput, PhoneInput, Progress
from contos_messaging.services.gc import GcReport
from contos_messaging.services.queue import QueueReport
from contos_messaging.services.send_report import SendReport

__all__ = ["LifeCycleMethods"]


@checked_methods
class LifeCycleMethods(FacadeBase):
    """Sending, changing and administering; see :class:`~contos_messaging.AsyncMessenger`."""

    # -- the life cycle: services/send.py, outbox.py, resend.py, edit.py, cancel.py ---------

    async def send(
        self, actor: Actor, message_ids: str | Iterable[str], *, lease: timedelta = LEASE
    ) -> SendReport:
        """Send the given messages now (the "tick several and send" of the communication window).

        Returns one :class:`SendOutcome` per id, in order: sent, partially sent, deferred,
        failed, expired, or skipped with its :class:`SkipReason` (not found, no permission,
        already sent, cancelled, being sent by another worker, ...). A selection is never
        refused as a whole. Each message is claimed under a lease like the outbox's (renewed
        while the call runs), so if this process dies mid-send the outbox takes the message
        back once ``lease`` (1 second to 1 day) has passed. The actor is recorded as who
        queued the message.
        """
        check_lease(lease)
        return await send.send(self._open(), actor, message_ids, lease=lease)

    async def send_due(
        self,
        limit: int | None = None,
        *,
        lease: timedelta = LEASE,
        batch: int = 100,
        actor: Actor | None = None,
        watch: bool = False,
        poll: float = 5.0,
        progress: Progress | None = None,
    ) -> SendReport:
        """The outbox: send every message whose time has come (QUEUED now or at its
        ``scheduled_at``, DEFERRED at its retry time, SENDING whose lease expired because its
        sender died), at most ``limit``. Messages are claimed in batches under a lease fenced by
        a token, so several workers (threads or processes) on one store never send the same
        message twice; a sender that outlived its lease cannot record a late outcome. After a
        crash between the server's acceptance and the commit, the message goes again with the
        same Message-ID when the lease expires (at-least-once).

        With ``watch=True`` it keeps running, looking for due messages every ``poll`` seconds,
        until :meth:`stop_outbox` is called or (in the main thread) SIGTERM / SIGINT arrive:
        the batch in flight finishes and is recorded, nothing is left half-sent.
        ``progress(sent_so_far, attempted_so_far)`` is called after each batch.
        """
        core = self._open()
        check_outbox_run(batch=batch, limit=limit, poll=poll, lease=lease)
        return await core.outbox.run(
            limit, lease=lease, batch=batch, actor=actor or Actor.system(), owner=core.owner,
            watch=watch, poll=poll, progress=progress,
        )  # fmt: skip

    def stop_outbox(self) -> None:
        """Ask a running ``send_due(watch=True)`` to finish its batch and return. Safe to call
        from any thread."""
        self._core.outbox.stop()

    async def resend(self, actor: Actor, message_id: str) -> SendAttempt:
        """Send a message again (SENT, PARTIALLY_SENT or FAILED) to all its recipients, with
        the same content and Message-ID; the attempt is logged as a resend."""
        return await resend.resend(self._open(), actor, message_id)

    async def edit(
        self,
        actor: Actor,
        message_id: str,
        *,
        to: EmailInput | PhoneInput | None = None,
        cc: EmailInput | None = None,
        bcc: EmailInput | None = None,
        subject: str | None = None,
        html: str | None = None,
        text: str | None = None,
        links: Iterable[LinkedEntity] | LinkedEntity | None = None,
        scheduled_at: datetime | None = None,
        expires_at: datetime | None = None,
        attachments: Sequence[Attachment] | None = None,
    ) -> Message:
        """Change a message that is not sent yet (DRAFT, QUEUED or DEFERRED); parts left as
        None stay. Needs :attr:`Permission.EDIT` (and ``EDIT_OTHERS`` for someone else's
        message). The message gets a new ``version``; the audit log records who changed what;
        the search index follows. For e-mail, giving any of ``to`` / ``cc`` / ``bcc`` replaces
        all three (the others become empty unless given). ``attachments`` is the new list:
        keep an attachment by passing the message's own (``message.attachments[i]``), add one
        with ``Attachment.from_bytes`` / ``from_path``, remove one by leaving it out."""
        return await edit.edit(
            self._open(), actor, message_id, to=to, cc=cc, bcc=bcc, subject=subject, html=html,
            text=text, links=links, scheduled_at=scheduled_at, expires_at=expires_at,
            attachments=attachments,
        )  # fmt: skip

    async def queue(
        self,
        actor: Actor,
        selection: str | Iterable[str] | MessageQuery,
        *,
        scheduled_at: datetime | None = None,
    ) -> QueueReport:
        """Queue drafts for sending ("review, then send"): the ids given, or every DRAFT the
        query finds (``MessageQuery(template="vyuctovani", created_by="jana")``, say; its
        status is taken as DRAFT, its page ignored), in transactions of 500. Each goes QUEUED
        with a ``status_changed`` audit entry naming the actor, to be sent by the outbox now or
        at ``scheduled_at`` (which replaces the draft's own when given). Needs
        ``Permission.SEND`` for each; a message that is not a draft, not there or not the
        actor's to send is left alone and named in ``skipped`` with its reason.

        .. versionadded:: 0.5
        """
        return await queue.queue(self._open(), actor, selection, scheduled_at=scheduled_at)

    async def cancel(self, actor: Actor, message_id: str) -> Message:
        """Withdraw a message that is not sent yet (DRAFT, QUEUED or DEFERRED)."""
        return await cancel.cancel(self._open(), actor, message_id)

    # -- administration: services/erase.py, rotate.py, verify.py, gc.py ---------------------

    async def erase_client(self, actor: Actor, client_id: str) -> tuple[str, ...]:
        """Erase all communication sealed under a client's key (crypto-shredding).

        The client's keys are destroyed first, so its content can never be opened again even if
        the call is interrupted (calling it again finishes the job); then its messages, links,
        blind-index rows, send log, attachments and search documents are deleted and a
        tombstone is written to the audit log. Returns the erased message ids.
        """
        return await erase.erase_client(self._open(), actor, client_id)

    async def wait_for_compaction(self) -> CompactionReport | None:
        """Wait until the search index's files hold nothing of the clients erased so far: after
        ``erase_client`` returns nothing of the client is searchable, and the index is then
        rewritten in the background (about 6 s at 10,000 messages and a minute at 100,000 on
        a 2-core machine, see docs/performance.md). Erasures made by other processes count
        too: the process that writes the index notices them within a few seconds, and at once
        when this is called.
        A compaction an earlier process left unfinished resumes on open, and is waited for
        too. Returns the report (all zero when there was nothing left to
        compact), or None when the compaction failed (the log says why; ``reindex`` rewrites
        the whole index).

        .. versionadded:: 0.5
        """
        core = self._open()
        await core.erasures.check()  # (erasures made by other processes)
        return await core.index.compacted()

    async def rotate_client_key(self, actor: Actor, client_id: str) -> str:
        """Start a new key version for a client: new content uses it, old content stays
        readable with the older version. Returns the new key id."""
        return await rotate.rotate_client_key(self._open(), actor, client_id)

    async def rotate_master_key(
        self, actor: Actor, new_key: bytes | str, *, finish: bool = False
    ) -> int:
        """Put the store under a new master key (32 bytes or their base64 text) while it is
        open: every client key is re-wrapped in one transaction, no message is rewritten, and
        from then on only ``new_key`` opens the store. Other processes opened with the old
        key keep working until :meth:`finish_master_key_rotation` (restart them with the new
        key first); with ``finish`` the rotation is finished at once. Needs
        ``Permission.MANAGE_KEYS``. Returns the number of keys re-wrapped.

        .. versionadded:: 0.5
        """
        core = self._open()
        rotate.check_may_manage_keys(core, actor)  # (before the key is even looked at)
        key = load_master_key(new_key, what="the new_key argument")
        return await rotate.rotate_master_key(core, actor, key, finish=finish)

    async def finish_master_key_rotation(self, actor: Actor) -> int:
        """Finish the master key rotations so far, once every process runs with the new key:
        the client keys move under a fresh store key and every bridge from an old key is
        deleted, so a copy of the key file taken from now on opens with the new master key
        only, whatever older copies an attacker holds. A process still running with an old key
        can then use only the keys it holds in memory (others raise ``KeyUnavailable`` saying
        so). Called again, it empties the key file's write-ahead log if another connection
        kept it from that before (``StorageError`` says so). Needs
        ``Permission.MANAGE_KEYS``; returns how many rotations it finished.

        .. versionadded:: 0.5
        """
        return await rotate.finish_master_key_rotation(self._open(), actor)

    async def verify(self) -> VerifyReport:
        """Open every stored object (messages, send log, attachments) and report each one that
        fails its integrity check, and each attachment a message refers to that is missing; the
        others are unaffected."""
        return await verify.verify(self._open())

    async def gc(self, *, grace: timedelta = timedelta(hours=1)) -> GcReport:
        """Remove stored attachments no message refers to (left by an interrupted compose)
        once they are older than ``grace`` (0 to 3650 days), then reclaim their space."""
        check_grace(grace)
        return await gc.gc(self._open(), grace=grace)
