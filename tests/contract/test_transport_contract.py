"""The transport contracts (shipped in ``contos_messaging.testing.contracts``) on the recording
fakes and on :class:`SMTPTransport` talking to aiosmtpd over STARTTLS and over implicit TLS."""

from __future__ import annotations

from contos_messaging import TransportPermanentError, TransportTemporaryError
from contos_messaging.adapters.memory import RecordingEmailTransport, RecordingSmsTransport, Refusal
from contos_messaging.testing.contracts import EmailTransportContract, SmsTransportContract
from contos_messaging.testing.smtp import LocalSMTPServer

LIMIT = 64 * 1024  # small, so the size tests build small e-mails


def _failure(code: int, reply: str, transport: str) -> Exception:
    kind = TransportTemporaryError if 400 <= code < 500 else TransportPermanentError
    return kind(f"{code} {reply}", transport=transport, code=code, reply=reply)


class TestRecordingEmailTransport(EmailTransportContract):
    async def make_transport(self, directory):
        self.fake = RecordingEmailTransport(max_message_size=LIMIT)
        return self.fake

    def refuse_recipient(self, recipient, code, reply):
        self.fake.refuse[recipient] = Refusal(code, reply)

    def refuse_next_message(self, code, reply):
        self.fake.fail_next(_failure(code, reply, self.fake.name))

    def delivered(self):
        sent = (e.recipients or e.message.recipients.envelope for e in self.fake.sent)
        return [tuple(r for r in rcpts if r not in self.fake.refuse) for rcpts in sent]


class TestSMTPTransport(EmailTransportContract):
    security = "starttls"

    async def make_transport(self, directory):
        self.server = LocalSMTPServer(security=self.security).start()
        self.cleanup.callback(self.server.stop)
        return self.server.transport(max_message_size=LIMIT)

    def refuse_recipient(self, recipient, code, reply):
        self.server.refuse[recipient] = f"{code} {reply}"

    def refuse_next_message(self, code, reply):
        self.server.next_data_replies.append(f"{code} {reply}")

    def delivered(self):
        return [tuple(m.recipients) for m in self.server.messages]


class TestSMTPTransportOverImplicitTLS(TestSMTPTransport):
    security = "tls"


class TestRecordingSmsTransport(SmsTransportContract):
    async def make_transport(self, directory):
        self.fake = RecordingSmsTransport()
        return self.fake

    def refuse_recipient(self, recipient, code, reply):
        self.fake.refuse[recipient] = Refusal(code, reply)

    def refuse_next_message(self, code, reply):
        self.fake.fail_next(_failure(code, reply, self.fake.name))

    def delivered(self):
        return [
            tuple(n for n in numbers if n not in self.fake.refuse) for _, numbers in self.fake.sent
        ]
