"""SMS over SMPP 3.4 to an SMS centre (SMSC), with its delivery receipts.

:class:`SmppTransport` binds as a transceiver and keeps the session: each number of a message
gets its own ``submit_sm`` (one per segment for a long text, led by a concatenation UDH,
``esm_class`` 0x40), asking for a receipt (``registered_delivery`` 1). GSM-7 text goes as
unpacked GSM 03.38 septets with ``data_coding`` 0, anything else as UTF-16BE with
``data_coding`` 8; a segment holds at most 153 septets or 67 UTF-16 units and an escape pair or
a surrogate pair is never split (:func:`~contos_messaging.domain.sms.split_sms`). At most
``window`` ``submit_sm`` wait for their answer at once, across all concurrent sends;
``enquire_link`` goes every ``enquire_link_interval`` seconds and a session it finds dead, or
one the SMSC drops, is bound again (at once when a receipt handler is set, else by the next
send).

Outcomes: each number gets a :class:`~contos_messaging.domain.send_log.RecipientOutcome` whose
``provider_id`` is the SMSC's ``message_id`` (for a concatenated text, the id of its **last**
segment: receipts naming it are matched to the outcome; the SMSC's receipts for the earlier
segments name their own ids, which are remembered and acknowledged without being handed on:
see ``parts.py``). ``ESME_RTHROTTLED``, ``ESME_RMSGQFUL``
(and any status given in ``temporary_statuses``) refuse a number temporarily; when every
number was refused so, the send raises :class:`~contos_messaging.errors.TransportTemporaryError`
with a ``retry_after`` that doubles while the SMSC keeps throttling. Any other error status
refuses the number permanently, ``code`` the ``command_status`` and ``reply`` its name
(``ESME_RINVDSTADR``). A refused bind (``ESME_RBINDFAIL``, ``ESME_RINVPASWD``...) is
:class:`~contos_messaging.errors.AuthenticationFailed` (a ``TransportConfigurationError``).

**At-least-once.** A ``submit_sm`` that was written when the connection dropped, or whose
answer did not come within ``response_timeout``, may have been taken by the SMSC: its number
is reported as temporarily refused (the whole send raises ``TransportTemporaryError`` when no
number got through) and the outbox sends it again, so the handset may get it twice.

Receipts: a ``deliver_sm`` marked as a receipt is read from its ``receipted_message_id`` and
``message_state`` TLVs and its text (``id:... stat:DELIVRD err:000 ...``) into a
:class:`~contos_messaging.domain.delivery.DeliveryReceipt`, handed to the handler given to
:meth:`SmppTransport.set_receipt_handler`, and acknowledged (``deliver_sm_resp`` ESME_ROK) only
when the handler has returned. With no handler, or one that raises, the answer is
``ESME_RX_T_APPN`` (0x64) and the SMSC delivers the receipt again later. A ``deliver_sm`` that
cannot be read, a receipt that names no message or that the handler refuses as bad input
(``InvalidInput``: a field over its bound, say), or an incoming SMS (which this transport does
not take) is logged as a warning and acknowledged, so that the SMSC does not offer it forever.

Why not aiosmpplib's ``ESME``: it acknowledges every ``deliver_sm`` with ESME_ROK before the
application can refuse it, has no submit window (only a rate limiter), cuts long texts with
SAR TLVs at byte boundaries (it may split an escape or a surrogate pair) and reports results
through a broker and hooks rather than per call. So this transport runs its own session
(:mod:`~contos_messaging.adapters.smpp.session`) and uses aiosmpplib for building PDUs and its
GSM 03.38 codec; incoming PDUs are read by :mod:`~contos_messaging.adapters.smpp.codec`, which
also takes TLV-only receipts and data codings aiosmpplib refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from datetime import UTC, tzinfo

from contos_messaging.adapters.smpp.codec import (
    ESME_RMSGQFUL,
    ESME_ROK,
    ESME_RTHROTTLED,
    ESME_RX_T_APPN,
    encode_sms,
    status_name,
    submit_pdus,
)
from contos_messaging.adapters.smpp.parts import EarlierParts, message_id_of
from contos_messaging.adapters.smpp.receipts import read_receipt
from contos_messaging.adapters.smpp.session import BindRefused, SessionLost, SmppSession
from contos_messaging.domain.message import Message
from contos_messaging.domain.send_log import RecipientOutcome
from contos_messaging.domain.sms import SmsPolicy
from contos_messaging.errors import (
    AuthenticationFailed,
    ConfigurationError,
    InvalidInput,
    TLSFailure,
    TransportConfigurationError,
    TransportPermanentError,
    TransportTemporaryError,
    TransportTimeout,
)
from contos_messaging.ports.transports import DeliveryReport, ReceiptHandler

__all__ = ["SmppTransport"]

log = logging.getLogger("contos_messaging.smpp")

_BIND_REFUSALS = {0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x0F: "ESME_RINVSYSID"}


def _ascii(value: str, what: str, most: int) -> str:
    if not isinstance(value, str) or not value.isascii() or len(value) > most or "\0" in value:
        raise ConfigurationError(f"the SMPP {what} must be ASCII of at most {most} characters")
    return value


class SmppTransport:
    """Sends SMS through an SMSC over SMPP 3.4 and receives its delivery receipts (see the
    module's text).

    ``system_id`` (15 characters at most), ``password`` (8) and ``system_type`` (12) are the
    bind's; ``tls`` an ``ssl.SSLContext`` (or True for the system's trust store); ``sender``
    replaces each message's sender id; ``policy`` (:class:`~contos_messaging.domain.sms.
    SmsPolicy`) chooses GSM-7 or UCS-2 as ``analyse_sms`` does; ``temporary_statuses`` adds
    the SMSC's own temporary error codes to ESME_RTHROTTLED and ESME_RMSGQFUL;
    ``receipt_timezone`` is the SMSC's clock for the dates in receipts; ``name`` replaces
    ``smpp:host:port``. Nothing connects before the first send (or :meth:`connect`); close
    with :meth:`aclose` or ``async with``.

    .. versionadded:: 0.5
    """

    def __init__(
        self,
        host: str,
        port: int = 2775,
        *,
        system_id: str,
        password: str,
        system_type: str = "",
        sender: str | None = None,
        window: int = 10,
        enquire_link_interval: float = 30.0,
        response_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        tls: ssl.SSLContext | bool = False,
        policy: SmsPolicy | str = SmsPolicy.AUTO,
        temporary_statuses: frozenset[int] = frozenset(),
        receipt_timezone: tzinfo = UTC,
        reconnect_delay: float = 1.0,
        name: str | None = None,
    ) -> None:
        if not isinstance(host, str) or not host or not isinstance(port, int):
            raise ConfigurationError("give the SMSC's host and port")
        self._host, self._port = host, port
        self._system_id = _ascii(system_id, "system_id", 15)
        self._password = _ascii(password, "password", 8)
        self._system_type = _ascii(system_type, "system_type", 12)
        if sender is not None and not (0 < len(sender) <= 20 and sender.isascii()):
            raise ConfigurationError("the SMPP sender must be ASCII of 1 to 20 characters")
        self._sender = sender
        if not isinstance(window, int) or not 1 <= window <= 1000:
            raise ConfigurationError("the SMPP window must be 1 to 1000 submits")
        for what, seconds in (
            ("enquire_link_interval", enquire_link_interval),
            ("response_timeout", response_timeout),
            ("connect_timeout", connect_timeout),
            ("reconnect_delay", reconnect_delay),
        ):
            if not isinstance(seconds, int | float) or not 0 < seconds <= 3600:
                raise ConfigurationError(f"the SMPP {what} must be 0 to 3600 seconds")
        self._interval = float(enquire_link_interval)
        self._response_timeout = float(response_timeout)
        self._connect_timeout = float(connect_timeout)
        self._reconnect_delay = float(reconnect_delay)
        self._tls = tls  # (True: the system's trust store, loaded when connecting)
        try:
            self._policy = SmsPolicy(policy)
        except ValueError as exc:
            raise ConfigurationError(f"unknown SMS policy {policy!r}") from exc
        self._temporary = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL}) | temporary_statuses
        self._zone = receipt_timezone
        self._name = name or f"smpp:{host}:{port}"
        self._window_size = window
        self._window: asyncio.Semaphore | None = None
        self._session: SmppSession | None = None
        self._connecting: asyncio.Lock | None = None
        self._handler: ReceiptHandler | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._reference = 0
        self._earlier = EarlierParts()  # (see parts.py)
        self._throttled = 0
        self._closed = False

    @property
    def name(self) -> str:
        """``smpp:host:port`` (or the ``name`` given), for the send log and receipts."""
        return self._name

    def set_receipt_handler(self, handler: ReceiptHandler | None, /) -> None:
        """Hand each delivery receipt received from now on to ``handler`` (``None``: refuse
        them, so the SMSC keeps them for later)."""
        self._handler = handler

    async def __aenter__(self) -> SmppTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the session ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Bind now (else the first send does), to receive receipts before sending anything."""
        await self._bound()

    async def _bound(self) -> SmppSession:
        if self._closed:
            raise TransportConfigurationError("the transport is closed", transport=self.name)
        if self._session is not None and self._session.alive:
            return self._session
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._session is not None and self._session.alive:
                return self._session
            self._session = await self._open_session()
            log.info("bound to %s as %s", self.name, self._system_id)
            if self._watcher is None or self._watcher.done():
                self._watcher = asyncio.ensure_future(self._watch())
            return self._session

    async def _open_session(self) -> SmppSession:
        where = f"{self._host}:{self._port}"
        tls = self._tls
        try:
            if tls is True:
                tls = ssl.create_default_context()
            return await SmppSession.open(
                self._host, self._port, system_id=self._system_id, password=self._password,
                system_type=self._system_type, tls=tls or None, timeout=self._connect_timeout,
                response_timeout=self._response_timeout, enquire_link_interval=self._interval,
                on_deliver=self._on_deliver,
            )  # fmt: skip
        except BindRefused as exc:
            status = status_name(exc.status)
            error = (
                AuthenticationFailed
                if exc.status in _BIND_REFUSALS
                else TransportConfigurationError
            )
            raise error(
                f"the SMSC {where} refused the bind of {self._system_id!r}: {status}",
                transport=self.name, code=exc.status, reply=status,
            ) from exc  # fmt: skip
        except ssl.SSLCertVerificationError as exc:
            raise TLSFailure(
                f"the SMSC's TLS certificate is not trusted: {exc}", transport=self.name
            ) from exc
        except TimeoutError as exc:
            raise TransportTimeout(
                f"the SMSC {where} did not answer the bind in {self._connect_timeout:g} s",
                transport=self.name,
            ) from exc
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            raise TransportTemporaryError(
                f"cannot bind to the SMSC {where}: {exc}", transport=self.name
            ) from exc

    async def _watch(self) -> None:
        """Bind again when the session drops and receipts are wanted, backing off while the
        SMSC cannot be reached."""
        delay = self._reconnect_delay
        while not self._closed:
            session = self._session
            if session is None:
                return
            await session.ended.wait()
            if self._closed:
                return
            log.warning("SMPP session with %s ended: %s", self.name, session.reason)
            if self._handler is None:
                return  # (the next send binds again)
            try:
                await self._bound()
                delay = self._reconnect_delay
            except TransportConfigurationError:
                log.exception("cannot bind to %s again; receipts wait for the next send", self.name)
                return
            except TransportTemporaryError as exc:
                log.warning("cannot bind to %s again (%s); next try in %g s", self.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    # -- sending -------------------------------------------------------------------------------

    async def send(
        self, sms: Message, /, *, recipients: tuple[str, ...] | None = None
    ) -> DeliveryReport:
        """Send ``sms`` to each number (all of its numbers without ``recipients``)."""
        numbers = recipients or sms.recipients.envelope
        self._reference = (self._reference + 1) % 256
        try:
            encoded = encode_sms(sms.text or "", reference=self._reference, policy=self._policy)
        except (InvalidInput, ValueError) as exc:
            raise TransportPermanentError(
                f"the SMS cannot be sent over SMPP: {exc}", transport=self.name
            ) from exc
        try:
            pdus = {number: submit_pdus(self._sender or str(sms.sender), number, encoded)
                    for number in numbers}  # fmt: skip
        except ValueError as exc:  # (aiosmpplib's checks: an address too long, say)
            raise TransportPermanentError(
                f"the SMS cannot be sent over SMPP: {exc}", transport=self.name
            ) from exc
        session = await self._bound()
        if self._window is None:
            self._window = asyncio.Semaphore(self._window_size)
        if len(numbers) == 1:
            outcomes = [await self._send_one(session, numbers[0], pdus[numbers[0]])]
        else:
            outcomes = await asyncio.gather(
                *(self._send_one(session, number, pdus[number]) for number in numbers)
            )
        if any(o.accepted for o in outcomes):
            self._throttled = 0
        elif outcomes and all(o.temporary for o in outcomes):
            throttled = any(o.code in self._temporary for o in outcomes)
            retry_after = None
            if throttled:
                self._throttled += 1
                retry_after = min(2.0 ** (self._throttled - 1), 300.0)
            first = outcomes[0]
            raise TransportTemporaryError(
                f"the SMSC took none of the numbers: {first.reply}",
                transport=self.name, code=first.code, reply=first.reply, retry_after=retry_after,
            )  # fmt: skip
        return DeliveryReport(self.name, tuple(outcomes))

    async def _send_one(
        self, session: SmppSession, number: str, parts: list[bytes]
    ) -> RecipientOutcome:
        if len(parts) == 1:
            answers = [await self._submit(session, parts[0])]
        else:
            last = len(parts) - 1
            answers = await asyncio.gather(
                *(self._submit(session, part, earlier=n < last) for n, part in enumerate(parts))
            )
        ids: list[str] = []
        for answer in answers:
            if isinstance(answer, str):  # (the session dropped or the answer is late)
                return RecipientOutcome(number, False, None, answer, temporary=True)
            status, message_id = answer
            if status != ESME_ROK:
                reply = status_name(status)
                return RecipientOutcome(
                    number, False, status, reply, temporary=status in self._temporary
                )
            ids.append(message_id)
        return RecipientOutcome(number, True, ESME_ROK, " ".join(ids), provider_id=ids[-1])

    async def _submit(
        self, session: SmppSession, pdu: bytes, *, earlier: bool = False
    ) -> tuple[int, str] | str:
        """(status, message_id) of one ``submit_sm``, or why it has no answer; the id of an
        ``earlier`` part of a concatenated text is remembered (see ``parts.py``)."""
        assert self._window is not None
        hook = self._earlier.note if earlier else None
        async with self._window:
            try:
                header, answer = await session.request(pdu, on_response=hook)
            except SessionLost as exc:
                return f"the SMPP session ended with the submit in flight ({exc}; at-least-once)"
            except TimeoutError:
                return (
                    f"no answer to submit_sm in {self._response_timeout:g} s"
                    " (it may have been delivered: at-least-once)"
                )
        if header.status != ESME_ROK:
            return header.status, ""
        return ESME_ROK, message_id_of(answer)

    # -- receipts ------------------------------------------------------------------------------

    async def _on_deliver(self, pdu: bytes) -> int:
        """The status to answer a ``deliver_sm`` with (see the module's text)."""
        receipt = read_receipt(pdu, transport=self.name, zone=self._zone)
        if receipt is None:
            return ESME_ROK  # (logged: offering it again would not help)
        if self._earlier.take(receipt.provider_id):
            log.debug("receipt of an earlier part (%s) from %s", receipt.provider_id, self.name)
            return ESME_ROK  # (the last part's receipt decides the message's state)
        handler = self._handler
        if handler is None:
            log.warning("a receipt from %s came with no handler set: refused", self.name)
            return ESME_RX_T_APPN
        try:
            await handler(receipt)
        except InvalidInput as exc:  # (a receipt no store takes: offering it again won't help)
            log.warning("a receipt from %s was refused and dropped: %s", self.name, exc)
            return ESME_ROK
        except Exception:  # (the SMSC delivers it again; the session goes on)
            log.exception("the receipt handler failed on %s (%s)", receipt.provider_id, self.name)
            return ESME_RX_T_APPN
        return ESME_ROK

    async def aclose(self) -> None:
        """Unbind and close the connection (again: nothing)."""
        if self._closed:
            return
        self._closed = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._session is not None:
            await self._session.aclose()
