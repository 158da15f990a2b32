"""Contracts of the transport ports, :class:`~contos_messaging.ports.EmailTransport` and
:class:`~contos_messaging.ports.SmsTransport`.

A transport talks to a peer (an SMTP server, a gateway) the suite cannot see, so besides the
factory a subclass may define hooks that act on the peer: :meth:`refuse_recipient` and
:meth:`refuse_next_message` (a test that needs one the subclass did not define is skipped, with
the hook's name as the reason) and :meth:`delivered` (without it, the tests check the reports
only, not what the peer took).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from contos_messaging.adapters.smtp.mime import mime_stream
from contos_messaging.domain.attachment import Attachment
from contos_messaging.errors import TransportPermanentError, TransportTemporaryError
from contos_messaging.ports import DeliveryReport, EmailTransport, OutgoingEmail, SmsTransport
from contos_messaging.testing.contracts._base import Contract, not_defined, under_test
from contos_messaging.testing.contracts._messages import email, sms

__all__ = ["EmailTransportContract", "SmsTransportContract"]

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
JAN, EVA, PETR, ARCHIV = "jan@example.com", "eva@example.com", "petr@example.com", "archiv@x.cz"
MOBILE, OTHER = "+420601123456", "+420602765432"


def _accepted(report: DeliveryReport) -> list[str]:
    return [r.recipient for r in report.recipients if r.accepted]


class _PeerHooks(Contract):
    def refuse_recipient(self, recipient: str, code: int, reply: str) -> None:
        """Make the peer refuse ``recipient`` (an envelope address or an E.164 number) with
        ``code`` and ``reply`` from now on. Not defined: the tests that need it are skipped."""
        pytest.skip(f"{type(self).__name__} defines no refuse_recipient()")

    def refuse_next_message(self, code: int, reply: str) -> None:
        """Make the peer refuse the next message as a whole (for SMTP: the answer to DATA)
        with ``code`` and ``reply``; the one after goes through again."""
        pytest.skip(f"{type(self).__name__} defines no refuse_next_message()")

    def delivered(self) -> list[tuple[str, ...]] | None:
        """What the peer took so far: for each message, in order, the recipients it took it
        for (envelope addresses or E.164 numbers); ``None`` (not defined): unknown."""
        return None

    def _assert_delivered(self, expected: list[tuple[str, ...]]) -> None:
        """The peer took exactly ``expected`` (see :meth:`delivered`), when it can tell."""
        delivered = self.delivered()
        if delivered is not None:
            assert delivered == expected


class EmailTransportContract(_PeerHooks):
    """The behaviour every :class:`~contos_messaging.ports.EmailTransport` keeps. Subclass it
    as ``Test...``, define :meth:`make_transport` and, to run the tests that act on the peer,
    :meth:`refuse_recipient`, :meth:`refuse_next_message` and :meth:`delivered`.

    The size tests build e-mails of exactly ``size_limit()`` bytes as :meth:`wire_size` counts
    them: give the transport a small limit (64 KiB) so they stay fast.

    .. versionadded:: 0.3
    """

    async def make_transport(self, directory: Path) -> EmailTransport:
        """A transport connected (or ready to connect) to a peer that takes every message."""
        raise not_defined(self, "make_transport")

    def wire_size(self, email: OutgoingEmail) -> int:
        """The size the transport compares with its ``size_limit()``: by default the length
        of the RFC 5322 form the library writes (what :class:`SMTPTransport` sends)."""
        return mime_stream(email).size

    @pytest_asyncio.fixture
    async def transport(self, tmp_path: Path) -> AsyncIterator[EmailTransport]:
        """The transport under test, closed after the test."""
        async with under_test(self, self.make_transport, tmp_path) as transport:
            yield transport

    async def test_a_report_has_one_outcome_per_envelope_recipient_in_order(
        self, transport: EmailTransport
    ) -> None:
        message = email(T0, to=f"Jan <{JAN}>, {EVA}", cc=PETR, bcc=ARCHIV)
        report = await transport.send(OutgoingEmail(message))
        assert [r.recipient for r in report.recipients] == [JAN, EVA, PETR, ARCHIV]
        assert _accepted(report) == [JAN, EVA, PETR, ARCHIV]
        assert all(r.code is None or 200 <= r.code < 300 for r in report.recipients)
        assert not any(r.temporary for r in report.recipients)
        assert report.transport == transport.name

    async def test_only_the_given_recipients_are_sent_to(self, transport: EmailTransport) -> None:
        message = email(T0, to=f"{JAN}, {EVA}", bcc=ARCHIV)
        report = await transport.send(OutgoingEmail(message, recipients=(ARCHIV, EVA)))
        assert [r.recipient for r in report.recipients] == [ARCHIV, EVA]
        assert _accepted(report) == [ARCHIV, EVA]
        self._assert_delivered([(ARCHIV, EVA)])

    async def test_refused_recipients_carry_code_reply_and_kind_and_the_rest_is_sent(
        self, transport: EmailTransport
    ) -> None:
        self.refuse_recipient(EVA, 550, "5.1.1 no such user")
        self.refuse_recipient(PETR, 450, "4.2.1 mailbox busy")
        report = await transport.send(OutgoingEmail(email(T0, to=f"{JAN}, {EVA}, {PETR}")))
        assert [(r.recipient, r.accepted, r.temporary) for r in report.recipients] == [
            (JAN, True, False),
            (EVA, False, False),
            (PETR, False, True),
        ]
        assert [r.code for r in report.recipients[1:]] == [550, 450]
        assert "no such user" in report.recipients[1].reply
        assert "mailbox busy" in report.recipients[2].reply
        self._assert_delivered([(JAN,)])

    async def test_when_every_recipient_is_refused_nothing_is_delivered(
        self, transport: EmailTransport
    ) -> None:
        self.refuse_recipient(JAN, 550, "5.1.1 no such user")
        self.refuse_recipient(EVA, 450, "4.2.1 mailbox busy")
        report = await transport.send(OutgoingEmail(email(T0, to=f"{JAN}, {EVA}")))
        assert [(r.recipient, r.accepted, r.code) for r in report.recipients] == [
            (JAN, False, 550),
            (EVA, False, 450),
        ]
        self._assert_delivered([])

    async def test_a_refused_message_raises_by_its_code_and_the_next_one_is_sent(
        self, transport: EmailTransport
    ) -> None:
        self.refuse_next_message(451, "4.3.0 try again later")
        with pytest.raises(TransportTemporaryError) as temporary:
            await transport.send(OutgoingEmail(email(T0, to=JAN)))
        assert (temporary.value.code, temporary.value.transport) == (451, transport.name)
        self.refuse_next_message(554, "5.7.1 rejected as spam")
        with pytest.raises(TransportPermanentError) as permanent:
            await transport.send(OutgoingEmail(email(T0, to=JAN)))
        assert (permanent.value.code, permanent.value.transport) == (554, transport.name)
        report = await transport.send(OutgoingEmail(email(T0, to=EVA)))
        assert _accepted(report) == [EVA]
        self._assert_delivered([(EVA,)])

    async def test_size_limit_is_a_positive_number_of_bytes_or_none(
        self, transport: EmailTransport
    ) -> None:
        limit = await transport.size_limit()
        assert limit is None or (isinstance(limit, int) and limit > 0)
        assert await transport.size_limit() == limit
        configured = transport.max_message_size  # composing checks against it
        assert configured is None or (isinstance(configured, int) and configured > 0)
        if configured is not None:
            assert limit is not None
            assert limit <= configured

    async def test_an_email_of_the_size_limit_is_sent_and_one_byte_more_is_refused_with_552(
        self, transport: EmailTransport
    ) -> None:
        limit = await transport.size_limit()
        if limit is None:
            pytest.skip("the transport has no size limit")
        fits, over = self._email_of_size(limit), self._email_of_size(limit + 1)
        assert _accepted(await transport.send(fits)) == [JAN]
        with pytest.raises(TransportPermanentError) as info:
            await transport.send(over)
        assert (info.value.code, info.value.transport) == (552, transport.name)
        self._assert_delivered([(JAN,)])

    async def test_closing_twice_is_harmless(self, transport: EmailTransport) -> None:
        await transport.send(OutgoingEmail(email(T0, to=JAN)))
        await transport.aclose()
        await transport.aclose()

    def _email_of_size(self, size: int) -> OutgoingEmail:
        """An e-mail to JAN of exactly ``size`` bytes as :meth:`wire_size` counts: an
        attachment for the bulk, the subject's length for the last bytes."""
        lines = max(0, size - 1200) // 78  # base64 in lines of 76 characters and CRLF
        content = (bytes(range(256)) * (lines * 57 // 256 + 1))[: lines * 57]
        attachment = Attachment.from_bytes("filler.bin", content)
        subject = 1
        for _ in range(8):
            message = email(T0, to=JAN, subject="S" * subject, attachments=[attachment])
            outgoing = OutgoingEmail(message, attachments=((attachment, content),))
            missing = size - self.wire_size(outgoing)
            if missing == 0:
                return outgoing
            subject += missing
            if not 1 <= subject <= 900:
                break
        pytest.fail(f"no e-mail of exactly {size} bytes could be built (see wire_size())")


class SmsTransportContract(_PeerHooks):
    """The behaviour every :class:`~contos_messaging.ports.SmsTransport` keeps. Subclass it as
    ``Test...``, define :meth:`make_transport` and, to run the tests that act on the gateway,
    :meth:`refuse_recipient`, :meth:`refuse_next_message` and :meth:`delivered`.

    .. versionadded:: 0.3
    """

    async def make_transport(self, directory: Path) -> SmsTransport:
        """A transport connected (or ready to connect) to a gateway that takes every SMS."""
        raise not_defined(self, "make_transport")

    @pytest_asyncio.fixture
    async def transport(self, tmp_path: Path) -> AsyncIterator[SmsTransport]:
        """The transport under test, closed after the test."""
        async with under_test(self, self.make_transport, tmp_path) as transport:
            yield transport

    async def test_a_report_has_one_outcome_per_number_in_order(
        self, transport: SmsTransport
    ) -> None:
        report = await transport.send(sms(T0, to=f"{MOBILE}, {OTHER}"))
        assert [(r.recipient, r.accepted) for r in report.recipients] == [
            (MOBILE, True),
            (OTHER, True),
        ]
        assert report.transport == transport.name

    async def test_only_the_given_numbers_are_sent_to(self, transport: SmsTransport) -> None:
        report = await transport.send(sms(T0, to=f"{MOBILE}, {OTHER}"), recipients=(OTHER,))
        assert _accepted(report) == [OTHER]
        self._assert_delivered([(OTHER,)])

    async def test_a_refused_number_carries_code_and_kind_and_the_rest_is_sent(
        self, transport: SmsTransport
    ) -> None:
        self.refuse_recipient(OTHER, 450, "number busy")
        report = await transport.send(sms(T0, to=f"{MOBILE}, {OTHER}"))
        assert [(r.recipient, r.accepted, r.temporary) for r in report.recipients] == [
            (MOBILE, True, False),
            (OTHER, False, True),
        ]
        assert report.recipients[1].code == 450
        self._assert_delivered([(MOBILE,)])

    async def test_a_refused_message_raises_by_its_code_and_the_next_one_is_sent(
        self, transport: SmsTransport
    ) -> None:
        self.refuse_next_message(421, "gateway busy")
        with pytest.raises(TransportTemporaryError) as info:
            await transport.send(sms(T0))
        assert info.value.code == 421
        assert _accepted(await transport.send(sms(T0))) == [MOBILE]
        self._assert_delivered([(MOBILE,)])

    async def test_closing_twice_is_harmless(self, transport: SmsTransport) -> None:
        await transport.send(sms(T0))
        await transport.aclose()
        await transport.aclose()
