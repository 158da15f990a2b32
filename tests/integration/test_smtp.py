"""SMTPTransport against a real aiosmtpd server over TLS, with forced server replies."""

from __future__ import annotations

import pytest

from contos_messaging import (
    Attachment,
    AuthenticationFailed,
    ConfigurationError,
    LimitExceeded,
    LinkedEntity,
    MessageStatus,
    TLSFailure,
    TransportPermanentError,
)
from contos_messaging.adapters.smtp import SMTPTransport
from contos_messaging.testing import make_async_test_messenger
from contos_messaging.testing.smtp import LocalSMTPServer

C1 = LinkedEntity.client("C-1")


@pytest.fixture
def server():
    with LocalSMTPServer() as running:
        yield running


@pytest.fixture
async def messenger(server, clock):
    async with make_async_test_messenger(clock=clock, email_transport=server.transport()) as m:
        yield m


async def test_starttls_auth_and_correct_mime(messenger, server, clerk):
    message = await messenger.compose_email(
        clerk,
        to='"Novák, Jan" <jan@example.com>',
        cc="eva@example.com",
        bcc="archiv@example.com",
        subject="Vyúčtování provizí – listopad",
        html="<p>Dobrý den, <b>posíláme</b> vyúčtování.</p>",
        links=[C1],
        attachments=[Attachment.from_bytes("Vyúčtování č. 1.pdf", b"%PDF-1.7 obsah")],
    )
    report = await messenger.send(clerk, message.id)
    assert report.sent == (message.id,)
    (received,) = server.messages
    assert received.recipients == ["jan@example.com", "eva@example.com", "archiv@example.com"]
    mime = received.message
    assert mime["Subject"] == "Vyúčtování provizí – listopad"
    assert mime["Message-ID"] == message.message_id_header
    assert "archiv@example.com" not in received.data.decode("ascii", "replace")
    assert [a.addr_spec for a in mime["To"].addresses] == ["jan@example.com"]
    assert mime["To"].addresses[0].display_name == "Novák, Jan"
    body = mime.get_body(preferencelist=("plain",))
    assert "Dobrý den, posíláme vyúčtování." in body.get_content()
    assert "<b>posíláme</b>" in mime.get_body(preferencelist=("html",)).get_content()
    (attachment,) = mime.iter_attachments()
    assert attachment.get_filename() == "Vyúčtování č. 1.pdf"
    assert attachment.get_content() == b"%PDF-1.7 obsah"
    (attempt,) = await messenger.send_log(message.id)
    assert attempt.transport.startswith("smtp:127.0.0.1:")
    assert {r.code for r in attempt.recipients} == {250}


async def test_implicit_tls(clerk, clock):
    with LocalSMTPServer(security="tls") as server:
        async with make_async_test_messenger(
            clock=clock, email_transport=server.transport()
        ) as messenger:
            message = await messenger.compose_email(
                clerk, to="a@example.com", subject="S", text="T"
            )
            assert (await messenger.send(clerk, message.id)).sent == (message.id,)
    assert len(server.messages) == 1


async def test_a_refused_recipient_is_partially_sent_and_a_busy_one_deferred(
    messenger, server, clerk
):
    server.refuse["gone@example.com"] = "550 5.1.1 no such user"
    server.refuse["busy@example.com"] = "451 4.3.0 try again later"
    partial = await messenger.compose_email(
        clerk, to="ok@example.com, gone@example.com", subject="S", text="T"
    )
    busy = await messenger.compose_email(
        clerk, to="ok@example.com, busy@example.com", subject="S", text="T"
    )
    report = await messenger.send(clerk, [partial.id, busy.id])
    assert report.partially_sent == (partial.id,)
    assert report.deferred == (busy.id,)
    (attempt,) = await messenger.send_log(partial.id)
    assert [(r.recipient, r.accepted, r.code) for r in attempt.recipients] == [
        ("ok@example.com", True, 250),
        ("gone@example.com", False, 550),
    ]


async def test_data_replies_map_to_deferred_and_failed(messenger, server, clerk):
    a = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
    server.data_reply = "451 4.3.0 queue full"
    assert (await messenger.send(clerk, a.id)).deferred == (a.id,)
    b = await messenger.compose_email(clerk, to="b@example.com", subject="S", text="T")
    server.data_reply = "552 5.3.4 message too big"
    assert (await messenger.send(clerk, b.id)).failed == (b.id,)
    server.data_reply = None
    c = await messenger.compose_email(clerk, to="c@example.com", subject="S", text="T")
    assert (await messenger.send(clerk, c.id)).sent == (c.id,)  # the connection recovered


async def test_a_wrong_password_stops_the_transport_and_keeps_retries(server, clerk, clock):
    async with make_async_test_messenger(
        clock=clock, email_transport=server.transport(password="wrong")
    ) as messenger:
        message = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
        report = await messenger.send(clerk, message.id)
        assert isinstance(report.error, AuthenticationFailed)
        assert report.error.code == 535
        stored = await messenger.get(message.id)
        assert stored.status is MessageStatus.QUEUED
        assert stored.attempts == 0
    assert server.messages == []


async def test_an_untrusted_certificate_is_a_tls_failure(server, clerk, clock):
    untrusted = SMTPTransport("127.0.0.1", server.port, username="contos", password="secret")
    async with make_async_test_messenger(clock=clock, email_transport=untrusted) as messenger:
        message = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
        report = await messenger.send(clerk, message.id)
        assert isinstance(report.error, TLSFailure)
    assert server.messages == []


async def test_the_configured_size_limit_is_checked_when_composing(server, clerk, clock):
    # (At send, against the server's SIZE, see test_faults.py r28.)
    small = server.transport(max_message_size=2_000)
    async with make_async_test_messenger(clock=clock, email_transport=small) as messenger:
        with pytest.raises(LimitExceeded, match="over the limit of 2,000 bytes"):
            await messenger.compose_email(
                clerk,
                to="a@example.com",
                subject="S",
                text="T",
                attachments=[Attachment.from_bytes("big.bin", bytes(5_000))],
            )
        assert (await messenger.send_due()).attempts == ()
    assert server.messages == []


def test_plaintext_is_refused_except_to_loopback():
    with pytest.raises(ConfigurationError, match="loopback"):
        SMTPTransport("mail.example.com", 25, security="plain", allow_plaintext=True)
    with pytest.raises(ConfigurationError):
        SMTPTransport("127.0.0.1", 25, security="plain")
    assert SMTPTransport("127.0.0.1", 25, security="plain", allow_plaintext=True).name == (
        "smtp:127.0.0.1:25"
    )


def test_transport_errors_are_typed():
    assert issubclass(TransportPermanentError, ConnectionError)


async def test_a_connection_dropped_after_data_defers_and_resends_the_same_message_id(
    messenger, server, clerk, clock
):
    message = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
    server.drop_after_data = True  # the server keeps it, the client never hears so
    assert (await messenger.send(clerk, message.id)).deferred == (message.id,)
    clock.set((await messenger.get(message.id)).next_attempt_at)
    assert (await messenger.send_due()).sent == (message.id,)
    ids = [m.message["Message-ID"] for m in server.messages]
    assert ids == [message.message_id_header, message.message_id_header]  # at-least-once


async def test_a_read_timeout_is_temporary(server, clerk, clock):
    slow = server.transport(timeout=0.5)
    async with make_async_test_messenger(clock=clock, email_transport=slow) as messenger:
        message = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
        server.data_delay = 2.0
        assert (await messenger.send(clerk, message.id)).deferred == (message.id,)
        (attempt,) = await messenger.send_log(message.id)
        assert "no answer in time" in attempt.error
        server.data_delay = 0.0


async def test_a_421_for_a_recipient_defers(clerk, clock):
    with LocalSMTPServer() as server:
        server.refuse["a@example.com"] = "421 4.3.2 service not available, closing"
        async with make_async_test_messenger(
            clock=clock, email_transport=server.transport()
        ) as messenger:
            message = await messenger.compose_email(
                clerk, to="a@example.com", subject="S", text="T"
            )
            report = await messenger.send(clerk, message.id)
            assert report.deferred == (message.id,)
            stored = await messenger.get(message.id)
            assert stored.next_attempt_at > clock.now()


async def test_xoauth2_with_a_token_source(server, clerk, clock):
    tokens = []

    async def fresh_token() -> str:
        tokens.append(1)
        return LocalSMTPServer.OAUTH_TOKEN

    oauth = SMTPTransport(
        "127.0.0.1",
        server.port,
        username="contos",
        oauth_token=fresh_token,
        ca_file=str(server.ca_file),
    )
    async with make_async_test_messenger(clock=clock, email_transport=oauth) as messenger:
        message = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
        assert (await messenger.send(clerk, message.id)).sent == (message.id,)
    assert tokens == [1]
    assert len(server.messages) == 1


async def test_a_wrong_oauth_token_is_an_authentication_failure(server, clerk, clock):
    async def stale() -> str:
        return "expired"

    oauth = SMTPTransport(
        "127.0.0.1", server.port, username="contos", oauth_token=stale, ca_file=str(server.ca_file)
    )
    async with make_async_test_messenger(clock=clock, email_transport=oauth) as messenger:
        message = await messenger.compose_email(clerk, to="a@example.com", subject="S", text="T")
        assert isinstance((await messenger.send(clerk, message.id)).error, AuthenticationFailed)


async def test_the_servers_size_is_respected_before_data(clerk, clock):
    with LocalSMTPServer(size_limit=3_000) as server:
        async with make_async_test_messenger(
            clock=clock, email_transport=server.transport()
        ) as messenger:
            message = await messenger.compose_email(
                clerk,
                to="a@example.com",
                subject="S",
                text="T",
                attachments=[Attachment.from_bytes("big.bin", bytes(10_000))],
            )
            assert (await messenger.send(clerk, message.id)).failed == (message.id,)
            (attempt,) = await messenger.send_log(message.id)
            assert "over the limit of 3,000" in attempt.error  # the server's SIZE, not 25 MiB
        assert server.messages == []


@pytest.mark.parametrize("size", [0, 1, 57 * 16384, 57 * 16384 * 2 + 5])
async def test_attachments_are_streamed_in_chunks_and_arrive_whole(messenger, server, clerk, size):
    """Attachments go out a chunk of base64 at a time; the server gets every byte back, and the
    streamed size is the size of the message as built in one piece."""
    from contos_messaging.adapters.smtp import build_mime
    from contos_messaging.adapters.smtp.mime import mime_stream
    from contos_messaging.ports import OutgoingEmail

    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    message = await messenger.compose_email(
        clerk, to="a@example.com", subject="Příloha", text=".začíná tečkou\n.\n",
        attachments=[Attachment.from_bytes("data.bin", data)], links=[C1],
    )  # fmt: skip
    outgoing = OutgoingEmail(message, ((message.attachments[0], data),))
    assert mime_stream(outgoing).size == len(build_mime(outgoing))
    assert (await messenger.send(clerk, message.id)).sent == (message.id,)
    (received,) = server.messages
    (attachment,) = received.message.iter_attachments()
    assert attachment.get_content() == data
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    assert text == ".začíná tečkou\n.\n"
    assert max(len(line) for line in received.data.split(b"\r\n")) <= 998
