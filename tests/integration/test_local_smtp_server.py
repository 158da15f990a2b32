"""The shipped SMTP test server: its logging filter is applied only while it runs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from contos_messaging.ports import OutgoingEmail
from contos_messaging.testing.smtp import LocalSMTPServer
from tests.factories import email

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
AUTH_WARNING = "login_data is deprecated"


async def test_aiosmtpds_auth_warning_is_hidden_while_the_server_runs_and_only_then(caplog):
    mail_log = logging.getLogger("mail.log")
    filters = list(mail_log.filters)
    server = LocalSMTPServer()
    assert mail_log.filters == filters  # constructing it changes nothing
    with caplog.at_level(logging.WARNING, logger="mail.log"):
        with server:
            assert len(mail_log.filters) == len(filters) + 1
            transport = server.transport()
            report = await transport.send(OutgoingEmail(email(T0)))  # logs in with AUTH
            await transport.aclose()
            mail_log.warning("another warning")
        assert mail_log.filters == filters
        mail_log.warning("Session.%s and will be removed", AUTH_WARNING)
    assert [r.accepted for r in report.recipients] == [True]
    assert [r.getMessage() for r in caplog.records if r.name == "mail.log"] == [
        "another warning",
        f"Session.{AUTH_WARNING} and will be removed",
    ]
