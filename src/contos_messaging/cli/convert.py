"""Library values as plain data (for ``--json`` and for ``export``'s index.json), and the
parsing of command-line values into library values (``order:O-7``, dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from contos_messaging import (
    AuditEvent,
    DeliveryReceipt,
    EmailRecipients,
    LinkedEntity,
    Message,
    SendAttempt,
    SendReport,
    Template,
)
from contos_messaging.cli.exit_codes import CliError, ExitCode

__all__ = [
    "attempt_data",
    "audit_data",
    "message_data",
    "message_row",
    "parse_link",
    "parse_moment",
    "receipt_data",
    "report_data",
    "template_data",
]


def parse_link(text: str) -> LinkedEntity:
    """``kind:id`` (``client:C-1``, ``order:O-7``) as a :class:`LinkedEntity`."""
    kind, sep, ident = text.partition(":")
    if not sep or not kind or not ident:
        raise CliError(f"a record is kind:id (client:C-1, order:O-7), got {text!r}", ExitCode.USAGE)
    return LinkedEntity(kind.strip(), ident.strip())


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time; without a time zone it is UTC. A bare date is its start (or,
    with ``end_of_day``, the start of the next day: ``--until 2026-11-30`` includes that day)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"expected a date (2026-11-30) or a date and time (2026-11-30T08:00+01:00),"
            f" got {text!r}",
            ExitCode.USAGE,
        ) from None
    return value if value.utcoffset() is not None else value.replace(tzinfo=UTC)


def _recipients(message: Message) -> dict[str, list[str]]:
    recipients = message.recipients
    if isinstance(recipients, EmailRecipients):
        return {
            "to": [str(a) for a in recipients.to],
            "cc": [str(a) for a in recipients.cc],
            "bcc": [str(a) for a in recipients.bcc],
        }
    return {"to": list(recipients.envelope)}


def message_data(message: Message, *, bodies: bool = False) -> dict[str, Any]:
    """A message as plain data; ``bodies`` adds the HTML and text."""
    data: dict[str, Any] = {
        "id": message.id,
        "channel": message.channel.value,
        "status": message.status.value,
        "sender": str(message.sender),
        "recipients": _recipients(message),
        "subject": message.subject,
        "links": [str(link) for link in message.links],
        "template": (
            None
            if message.template is None
            else {"name": message.template.name, "version": message.template.version}
        ),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
        "created_by": message.created_by,
        "created_at": message.created_at,
        "updated_at": message.updated_at,
        "scheduled_at": message.scheduled_at,
        "sent_at": message.sent_at,
        "expires_at": message.expires_at,
        "next_attempt_at": message.next_attempt_at,
        "attempts": message.attempts,
        "version": message.version,
        "message_id_header": message.message_id_header,
    }
    if bodies:
        data["html"] = message.html
        data["text"] = message.text
    return data


def message_row(message: Message) -> list[str]:
    """The columns of a message in a list: id, created, channel, status, to, subject, links."""
    to = ", ".join(message.recipients.envelope)
    about = message.subject or (message.text or "")
    return [
        message.id,
        f"{message.created_at:%Y-%m-%d %H:%M}",
        message.channel.value,
        message.status.value,
        to if len(to) <= 40 else to[:39] + "…",
        about if len(about) <= 50 else about[:49] + "…",
        " ".join(str(link) for link in message.links),
    ]


MESSAGE_COLUMNS = ("id", "created", "channel", "status", "to", "subject / text", "links")


def attempt_data(attempt: SendAttempt) -> dict[str, Any]:
    """A send-log entry as plain data."""
    return {
        "id": attempt.id,
        "message_id": attempt.message_id,
        "message_version": attempt.message_version,
        "attempt_no": attempt.attempt_no,
        "kind": attempt.kind.value,
        "actor": attempt.actor_id,
        "transport": attempt.transport,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "outcome": attempt.outcome.value,
        "error": attempt.error,
        "recipients": [
            {
                "recipient": r.recipient,
                "accepted": r.accepted,
                "code": r.code,
                "reply": r.reply,
                "temporary": r.temporary,
            }
            for r in attempt.recipients
        ],
    }


def receipt_data(receipt: DeliveryReceipt) -> dict[str, Any]:
    """A delivery report as plain data."""
    return {
        "transport": receipt.transport,
        "provider_id": receipt.provider_id,
        "state": receipt.state.value,
        "final": receipt.state.is_final,
        "at": receipt.at,
        "recipient": receipt.recipient,
        "code": receipt.code,
        "text": receipt.text,
    }


def audit_data(event: AuditEvent) -> dict[str, Any]:
    """An audit event as plain data."""
    return {
        "id": event.id,
        "at": event.at,
        "actor": event.actor_id,
        "action": event.action.value,
        "subject": event.subject,
        "details": dict(event.details),
    }


def template_data(template: Template, *, sources: bool = False) -> dict[str, Any]:
    """A template as plain data; ``sources`` adds its subject, HTML and text."""
    data: dict[str, Any] = {
        "name": template.name,
        "channel": template.channel.value,
        "language": template.language,
        "version": template.version,
        "variables": sorted(template.variables),
        "created_by": template.created_by,
        "created_at": template.created_at,
    }
    if sources:
        data.update(subject=template.subject, html=template.html, text=template.text)
    return data


def report_data(report: SendReport) -> dict[str, Any]:
    """A send report: one outcome per message, the sums, and the transport error if any."""
    return {
        "outcomes": [
            {
                "id": o.message_id,
                "status": None if o.status is None else o.status.value,
                "skipped": None if o.skipped is None else o.skipped.value,
                "detail": o.detail,
                "error": None if o.attempt is None else o.attempt.error,
            }
            for o in report
        ],
        "sent": list(report.sent),
        "partially_sent": list(report.partially_sent),
        "deferred": list(report.deferred),
        "failed": list(report.failed),
        "skipped": {k: v.value for k, v in report.skipped.items()},
        "error": None if report.error is None else str(report.error),
    }
