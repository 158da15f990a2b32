"""SMS through an HTTP gateway (issue 17, item 5) against a local HTTP server the test starts
(Python's own ``http.server``, answering as a provider would): the shipped transport contract,
the presets' request shapes and authentication, Retry-After honoured by the outbox, a timeout
after the request went out (at-least-once, the same client reference on the retry), and the
file transport for development."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    ConfigurationError,
    DeliveryReceipt,
    DeliveryState,
    LinkedEntity,
    MessageStatus,
    TLSFailure,
    TransportTemporaryError,
)
from contos_messaging.adapters.clock import ManualClock
from contos_messaging.adapters.sms_http import FileSmsTransport, HttpGateway, HttpSmsTransport
from contos_messaging.testing.contracts import SmsTransportContract
from contos_messaging.testing.contracts._messages import sms
from tests.integration.conftest import MASTER_KEY

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


class Provider:
    """A local HTTP server answering like an SMS provider: 201 with an id, or what the test
    scripted (per number, for the next request, or a delay gated by an event)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.refuse: dict[str, tuple[int, int, str]] = {}  # number -> (http, code, text)
        self.next: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.hold: threading.Event | None = None
        self.accepted: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # (quiet)
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                kind = self.headers.get("Content-Type", "")
                body = (
                    json.loads(raw)
                    if kind.startswith("application/json")
                    else dict(urllib.parse.parse_qsl(raw.decode()))
                )
                provider.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                number = body.get("to") or body.get("To") or (body.get("recipients") or [""])[0]
                if provider.hold is not None:
                    provider.hold.wait(10)
                if provider.next:
                    status, answer, headers = provider.next.pop(0)
                elif number in provider.refuse:
                    status, code, text = provider.refuse[number]
                    answer, headers = {"error": {"code": code, "message": text}}, {}
                else:
                    provider.accepted.append(number)
                    status, answer, headers = 201, {"id": f"p-{len(provider.accepted)}"}, {}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def gateway(self, **changes: Any) -> HttpGateway:
        options: dict[str, Any] = {
            "url": self.url, "name": "local-gateway", "id_path": "id",
            "error_code_path": "error.code", "error_text_path": "error.message",
        }  # fmt: skip
        options.update(changes)
        return HttpGateway(**options)


@pytest.fixture
def provider() -> Iterator[Provider]:
    running = Provider()
    yield running
    running.stop()


class TestHttpSmsTransport(SmsTransportContract):
    """The shipped contract, on the HTTP transport and the local provider."""

    @pytest.fixture(autouse=True)
    def _provider(self, provider: Provider) -> None:
        self.provider = provider

    async def make_transport(self, directory: Path) -> HttpSmsTransport:
        return HttpSmsTransport(self.provider.gateway())

    def refuse_recipient(self, recipient: str, code: int, reply: str) -> None:
        # A temporary refusal of one number is HTTP 425, a permanent one 400; the provider's
        # own code is in the body.
        self.provider.refuse[recipient] = (425 if code < 500 else 400, code, reply)

    def refuse_next_message(self, code: int, reply: str) -> None:
        self.provider.next.append((503, {"error": {"code": code, "message": reply}}, {}))

    def delivered(self) -> list[tuple[str, ...]]:
        return [(number,) for number in self.provider.accepted]


async def test_the_presets_shape_their_requests_and_authenticate(provider):
    twilio = HttpSmsTransport(HttpGateway.twilio("AC123", "tajne", sender="+420700000000",
                                                 url=provider.url))  # fmt: skip
    gosms = HttpSmsTransport(HttpGateway.gosms("token-1", channel=7, url=provider.url))
    try:
        await twilio.send(sms(T0, to="+420601123456"))
        await gosms.send(sms(T0, to="+420601123456"))
    finally:
        await twilio.aclose()
        await gosms.aclose()
    form, json_ = provider.requests
    assert form["body"] == {
        "To": "+420601123456",
        "Body": "Objednávka je připravena.",
        "From": "+420700000000",
    }
    assert form["headers"]["Authorization"].startswith("Basic ")
    assert json_["body"] == {
        "recipients": ["+420601123456"],
        "message": "Objednávka je připravena.",
        "channel": 7,
    }
    assert json_["headers"]["Authorization"] == "Bearer token-1"


async def test_retry_after_defers_the_message_at_least_that_long(provider, tmp_path):
    clock = ManualClock(T0)
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        sms_transport=HttpSmsTransport(provider.gateway()), clock=clock,
    )  # fmt: skip
    try:
        message = await messenger.compose_sms(
            Actor.system(),
            to="+420601123456",
            text="Připomínka",
            links=[LinkedEntity.client("C-1")],
        )
        provider.next.append((429, {"error": {"code": 429, "message": "slow down"}},
                              {"Retry-After": "3600"}))  # fmt: skip
        (outcome,) = await messenger.send(Actor.system(), message.id)
        assert outcome.status is MessageStatus.DEFERRED
        deferred = await messenger.get(message.id)
        assert deferred.next_attempt_at is not None
        assert deferred.next_attempt_at >= T0 + timedelta(seconds=3600)
        clock.advance(timedelta(seconds=3601))
        (sent,) = await messenger.send_due()
        assert sent.status is MessageStatus.SENT
        references = [r["body"]["reference"] for r in provider.requests]
        assert references == [f"{message.id}:+420601123456"] * 2  # (the same on the retry)
    finally:
        await messenger.aclose()


async def test_a_timeout_after_the_request_went_out_is_temporary(provider):
    provider.hold = threading.Event()
    transport = HttpSmsTransport(provider.gateway(timeout=0.2))
    try:
        with pytest.raises(TransportTemporaryError, match="at-least-once"):
            await transport.send(sms(T0, to="+420601123456"))
    finally:
        provider.hold.set()
        await transport.aclose()
    assert len(provider.requests) == 1  # it reached the provider


async def test_a_busy_gateway_after_some_numbers_retries_only_the_rest(provider):
    transport = HttpSmsTransport(provider.gateway())
    provider.next += [(201, {"id": "p-1"}, {}), (503, {"error": {"code": 503, "message": "x"}}, {})]
    try:
        report = await transport.send(sms(T0, to="+420601123456, +420602765432"))
    finally:
        await transport.aclose()
    assert [(r.recipient, r.accepted, r.temporary) for r in report.recipients] == [
        ("+420601123456", True, False),
        ("+420602765432", False, True),
    ]


def test_a_gateway_is_checked_when_it_is_configured():
    with pytest.raises(ConfigurationError, match="plain http is allowed on loopback only"):
        HttpGateway(url="http://sms.example.com/send")
    with pytest.raises(ConfigurationError, match="unknown gateway fields"):
        HttpGateway(url="https://sms.example.com", fields={"to": "n", "text": "t", "x": "y"})
    with pytest.raises(ConfigurationError, match="'to' and 'text'"):
        HttpGateway(url="https://sms.example.com", fields={"to": "n"})


async def test_the_file_transport_writes_each_sms_to_a_directory(tmp_path):
    transport = FileSmsTransport(tmp_path / "outbox")
    message = sms(T0, to="+420601123456, +420602765432")
    report = await transport.send(message)
    assert [r.accepted for r in report.recipients] == [True, True]
    files = sorted((tmp_path / "outbox").iterdir())
    assert [json.loads(f.read_text())["to"] for f in files] == ["+420601123456", "+420602765432"]
    assert json.loads(files[0].read_text())["text"] == message.text


async def test_https_with_a_private_ca_is_verified(provider, tmp_path):
    """The gateway over TLS with the test's own CA: accepted with ``ca_file``, refused without
    it (certificates are always verified), and a CA file that is not one is a clear error."""
    import ssl

    from contos_messaging.testing.smtp import _certificate

    cert, key = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    provider.server.socket = context.wrap_socket(provider.server.socket, server_side=True)
    url = provider.url.replace("http://", "https://")
    trusting = HttpSmsTransport(provider.gateway(url=url), ca_file=cert)
    doubting = HttpSmsTransport(provider.gateway(url=url))
    try:
        report = await trusting.send(sms(T0, to="+420601123456"))
        assert [r.accepted for r in report.recipients] == [True]
        with pytest.raises(TLSFailure, match="certificate is not trusted"):
            await doubting.send(sms(T0, to="+420601123456"))
    finally:
        await trusting.aclose()
        await doubting.aclose()
    (tmp_path / "not-a-ca.pem").write_text("nothing here")
    with pytest.raises(ConfigurationError, match="cannot load the CA file"):
        HttpSmsTransport(provider.gateway(url=url), ca_file=tmp_path / "not-a-ca.pem")


async def test_the_providers_id_leads_its_status_callback_to_the_message(provider, tmp_path):
    """The provider's id of each number is kept in the send log; the host's handler of the
    provider's status callback gives the report to record_delivery, which finds the message
    by it and marks it delivered."""
    clock = ManualClock(T0)
    transport = HttpSmsTransport(provider.gateway())
    async with await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, company_sender="info@contos.example.com",
        sms_transport=transport, clock=clock,
    ) as messenger:  # fmt: skip
        message = await messenger.compose_sms(
            Actor.system(),
            to="+420601123456",
            text="Připomínka",
            links=[LinkedEntity.client("C-1")],
        )
        (outcome,) = await messenger.send(Actor.system(), message.id)
        (recipient,) = outcome.attempt.recipients
        assert recipient.provider_id == "p-1"
        callback = DeliveryReceipt(transport.name, "p-1", DeliveryState.DELIVERED, T0)
        assert await messenger.record_delivery(callback) == message.id
        assert (await messenger.get(message.id)).status is MessageStatus.DELIVERED
