"""One bound SMPP 3.4 session: the TCP (or TLS) connection, the bind, requests matched to
their responses by sequence number, ``enquire_link`` keep-alive, and requests from the SMSC
(``deliver_sm``, ``enquire_link``, ``unbind``) answered.

Outgoing PDUs are built with aiosmpplib's codec; incoming ones are read by
:mod:`contos_messaging.adapters.smpp.codec`. The session ends when the connection drops, the
SMSC unbinds, or an ``enquire_link`` goes unanswered: every request still waiting then fails
with :class:`SessionLost`, and :attr:`SmppSession.ended` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
from collections.abc import Awaitable, Callable

from aiosmpplib.protocol import (
    BindTransceiver,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Unbind,
    UnbindResp,
)
from aiosmpplib.state import SmppCommandStatus

from contos_messaging.adapters.smpp.codec import HEADER_LENGTH, Header, parse_header

__all__ = ["BindRefused", "SessionLost", "SmppSession"]

log = logging.getLogger("contos_messaging.smpp")

BIND_TRANSCEIVER_RESP = 0x80000009
DELIVER_SM, ENQUIRE_LINK, UNBIND = 0x00000005, 0x00000015, 0x00000006
RESPONSE_BIT = 0x80000000
ESME_RINVCMDID = 0x03
MAX_PDU = 70_000  # (a message_payload of 64 KiB and the fields around it)
WRITE_BUFFER = 256 * 1024  # (written but not yet sent: above it, writers wait)

DeliverHandler = Callable[[bytes], Awaitable[int]]
"""Called with each ``deliver_sm`` PDU; returns the ``command_status`` to answer with."""


class SessionLost(ConnectionError):
    """The session ended before the answer came (internal: the transport maps it)."""


class BindRefused(ConnectionError):
    """The SMSC answered the bind with an error ``status`` (internal)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused with status 0x{status:08X}")
        self.status = status


def _status(value: int) -> object:
    try:
        return SmppCommandStatus(value)
    except ValueError:
        return SmppCommandStatus.ESME_RSYSERR


class SmppSession:
    """A bound transceiver session; open one with :meth:`open`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        on_deliver: DeliverHandler,
        response_timeout: float,
        enquire_link_interval: float,
        first_sequence: int = 2,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_deliver = on_deliver
        self._response_timeout = response_timeout
        self._interval = enquire_link_interval
        self._sequence = first_sequence
        self._pending: dict[int, asyncio.Future[tuple[Header, bytes]]] = {}
        self._hooks: dict[int, Callable[[Header, bytes], None]] = {}
        self._drain = asyncio.Lock()
        self._out: list[bytes] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.ended = asyncio.Event()
        """Set when the session is over (dropped, unbound or closed)."""
        self.reason = ""
        """Why it ended."""

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        system_id: str,
        password: str,
        system_type: str,
        tls: ssl.SSLContext | None,
        timeout: float,
        response_timeout: float,
        enquire_link_interval: float,
        on_deliver: DeliverHandler,
    ) -> SmppSession:
        """Connect and bind as a transceiver; :class:`BindRefused` with the SMSC's status, an
        ``OSError`` or ``TimeoutError`` when it cannot be reached."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=tls, limit=MAX_PDU), timeout
        )
        try:
            bind = BindTransceiver(
                sequence_num=1, system_id=system_id, password=password, system_type=system_type
            )
            writer.write(bind.pdu())
            await asyncio.wait_for(writer.drain(), timeout)
            head = await asyncio.wait_for(reader.readexactly(HEADER_LENGTH), timeout)
            header = parse_header(head)
            if header.length > MAX_PDU:
                raise ValueError(f"a {header.length}-byte answer to the bind")
            await asyncio.wait_for(reader.readexactly(header.length - HEADER_LENGTH), timeout)
            if header.command != BIND_TRANSCEIVER_RESP or header.status != 0:
                raise BindRefused(header.status or ESME_RINVCMDID)
        except BaseException:
            writer.close()
            raise
        session = cls(
            reader,
            writer,
            on_deliver=on_deliver,
            response_timeout=response_timeout,
            enquire_link_interval=enquire_link_interval,
        )
        session._spawn(session._receive())
        session._spawn(session._keep_alive())
        return session

    @property
    def alive(self) -> bool:
        """Whether the session is still bound."""
        return not self.ended.is_set()

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _next_sequence(self) -> int:
        sequence = self._sequence
        self._sequence = 1 if sequence >= 0x7FFFFFFF else sequence + 1
        return sequence

    async def _write(self, data: bytes) -> None:
        """Queue ``data``; what is queued in one turn of the event loop goes out in one write
        (a submit window's worth of PDUs costs one system call, not ten)."""
        if not self.alive:
            raise SessionLost(self.reason)
        self._out.append(data)
        if len(self._out) == 1:
            asyncio.get_running_loop().call_soon(self._flush)
        if self._writer.transport.get_write_buffer_size() > WRITE_BUFFER:
            try:
                async with self._drain:
                    await self._writer.drain()
            except (OSError, RuntimeError) as exc:
                self._end(f"cannot write to the SMSC: {exc}")
                raise SessionLost(self.reason) from exc

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and self.alive:
            self._writer.write(b"".join(out))

    async def request(
        self, pdu: bytes, *, on_response: Callable[[Header, bytes], None] | None = None
    ) -> tuple[Header, bytes]:
        """Send the request ``pdu`` under the next sequence number (the one it holds is
        replaced) and wait for its response (header and PDU); :class:`SessionLost` if the
        session ends first, ``TimeoutError`` after the response timeout. ``on_response`` is
        called with the response as soon as it is read, before any PDU after it."""
        sequence = self._next_sequence()
        future: asyncio.Future[tuple[Header, bytes]] = asyncio.get_running_loop().create_future()
        self._pending[sequence] = future
        if on_response is not None:
            self._hooks[sequence] = on_response
        try:
            await self._write(pdu[:12] + struct.pack("!I", sequence) + pdu[16:])
            return await asyncio.wait_for(future, self._response_timeout)
        finally:
            self._pending.pop(sequence, None)
            self._hooks.pop(sequence, None)

    async def _receive(self) -> None:
        reason = "the SMSC closed the connection"
        try:
            while True:
                head = await self._reader.readexactly(HEADER_LENGTH)
                header = parse_header(head)
                if header.length > MAX_PDU:
                    reason = f"the SMSC sent a {header.length}-byte PDU"
                    break
                pdu = head + await self._reader.readexactly(header.length - HEADER_LENGTH)
                if header.command & RESPONSE_BIT:
                    future = self._pending.get(header.sequence)
                    hook = self._hooks.pop(header.sequence, None)
                    if hook is not None and future is not None and not future.done():
                        hook(header, pdu)
                    if future is not None and not future.done():
                        future.set_result((header, pdu))
                elif header.command == DELIVER_SM:
                    self._spawn(self._deliver(header, pdu))
                elif header.command == ENQUIRE_LINK:
                    await self._write(EnquireLinkResp(sequence_num=header.sequence).pdu())
                elif header.command == UNBIND:
                    await self._write(UnbindResp(sequence_num=header.sequence).pdu())
                    reason = "the SMSC unbound"
                    break
                else:
                    nack = GenericNack(
                        sequence_num=header.sequence, command_status=_status(ESME_RINVCMDID)
                    )
                    await self._write(nack.pdu())
        except (asyncio.IncompleteReadError, OSError, SessionLost) as exc:
            reason = f"the connection to the SMSC dropped ({type(exc).__name__})"
        except ValueError as exc:
            reason = f"the SMSC sent a malformed PDU: {exc}"
        finally:
            self._end(reason)

    async def _deliver(self, header: Header, pdu: bytes) -> None:
        status = await self._on_deliver(pdu)
        answer = DeliverSmResp(sequence_num=header.sequence, command_status=_status(status))
        with contextlib.suppress(SessionLost):  # (then the SMSC delivers it again)
            await self._write(answer.pdu())

    async def _keep_alive(self) -> None:
        while self.alive:
            await asyncio.sleep(self._interval)
            if not self.alive:
                return
            try:
                await self.request(EnquireLink().pdu())
            except SessionLost:
                return
            except TimeoutError:
                self._end("the SMSC did not answer enquire_link")
                return

    def _end(self, reason: str) -> None:
        if self.ended.is_set():
            return
        self._flush()  # (an answer queued before the end still goes)
        self.reason = reason
        self.ended.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(SessionLost(reason))
        self._writer.close()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current and not task.done():
                task.cancel()

    async def aclose(self) -> None:
        """Unbind (waiting for the answer up to the response timeout) and close."""
        if self.alive:
            try:
                await self.request(Unbind().pdu())
            except (SessionLost, TimeoutError) as exc:
                log.debug("unbind not answered: %s", exc)
        self._end("closed")
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
