"""A real SMS gateway on loopback for examples and tests: an HTTP server (the standard
library's) answering as GoSMS.cz's API does, so that :class:`HttpSmsTransport` with the
``gosms`` preset sends to it over real HTTP; it keeps every SMS it accepted and gives the
delivery reports its status callback would post::

    from contos_messaging.testing.sms_gateway import LocalSmsGateway

    with LocalSmsGateway() as gateway:
        transport = gateway.transport()      # HttpSmsTransport(HttpGateway.gosms(...))
        ...
        gateway.messages                      # [(number, text, provider id), ...]
        for receipt in gateway.receipts():    # what the provider reports back
            messenger.record_delivery(receipt)
        gateway.undeliverable.add("+420601000000")

It is a stand-in for a provider, not a provider: nothing leaves the machine.
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from contos_messaging.adapters.sms_http import HttpGateway, HttpSmsTransport
from contos_messaging.domain.delivery import DeliveryReceipt, DeliveryState

__all__ = ["LocalSmsGateway"]


class LocalSmsGateway:
    """GoSMS-like ``POST /api/v1/messages`` on ``127.0.0.1``: a bearer token is required
    (401 otherwise), ``{"message", "recipients": [number], "channel"}`` answered with 201 and
    ``{"link": "/api/v1/messages/<n>"}``; the numbers in :attr:`undeliverable` are accepted
    and reported undelivered."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(16)
        self.messages: list[tuple[str, str, str]] = []
        self.undeliverable: set[str] = set()
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # (quiet)
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Authorization") != f"Bearer {gateway.token}":
                    self._answer(401, {"status": 401, "detail": "invalid token"})
                    return
                try:
                    body = json.loads(raw)
                    (number,) = body["recipients"]
                    text = str(body["message"])
                except (ValueError, KeyError, TypeError):
                    self._answer(400, {"status": 400, "detail": "bad request"})
                    return
                with gateway._lock:
                    link = f"/api/v1/messages/{len(gateway.messages) + 1}"
                    gateway.messages.append((str(number), text, link))
                self._answer(201, {"link": link})

            def _answer(self, status: int, answer: dict[str, Any]) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/v1/messages"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def transport(self) -> HttpSmsTransport:
        """An :class:`HttpSmsTransport` with the ``gosms`` preset, pointed at this gateway."""
        return HttpSmsTransport(HttpGateway.gosms(self.token, channel=1, url=self.url))

    def receipts(self) -> list[DeliveryReceipt]:
        """A delivery report per accepted SMS, as the provider's status callback would post
        them (delivered, or undelivered for the numbers in :attr:`undeliverable`)."""
        now = datetime.now(UTC)
        with self._lock:
            accepted = list(self.messages)
        reports = []
        for number, _text, link in accepted:
            undelivered = number in self.undeliverable
            state = DeliveryState.UNDELIVERED if undelivered else DeliveryState.DELIVERED
            reports.append(DeliveryReceipt("gosms", link, state, now, number))
        return reports

    def start(self) -> Self:
        """Start serving (on a daemon thread)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()
