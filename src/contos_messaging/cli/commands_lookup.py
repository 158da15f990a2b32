"""Looking up: ``list``, ``search``, ``show``, ``history``, ``log``, ``deliveries``,
``audit``."""

from __future__ import annotations

from typing import Any

from contos_messaging import Message, Page
from contos_messaging.cli.context import Context
from contos_messaging.cli.convert import (
    MESSAGE_COLUMNS,
    attempt_data,
    audit_data,
    message_data,
    message_row,
    parse_link,
    receipt_data,
)
from contos_messaging.cli.exit_codes import ExitCode
from contos_messaging.cli.parsing import Subparsers, add_filters, command, query_from

__all__ = ["register"]


def register(commands: Subparsers) -> None:
    """Add the look-up commands to the parser."""
    add_filters(command(commands, "list", list_messages, "the message list, newest first"))
    search_cmd = command(commands, "search", search, "full-text search (not attachment contents)")
    search_cmd.add_argument("text", metavar="TEXT")
    add_filters(search_cmd, search=True)
    show_cmd = command(commands, "show", show, "one message with its bodies")
    show_cmd.add_argument("message_id", metavar="ID")
    history_cmd = command(commands, "history", history, "all communication linked to a record")
    history_cmd.add_argument("record", metavar="KIND:ID", help="client:C-1, order:O-7, ...")
    add_filters(history_cmd)
    log_cmd = command(commands, "log", send_log, "the send log of a message")
    log_cmd.add_argument("message_id", metavar="ID")
    deliveries_cmd = command(
        commands, "deliveries", deliveries, "the delivery reports of a message (SMS gateways)"
    )
    deliveries_cmd.add_argument("message_id", metavar="ID")
    audit_cmd = command(commands, "audit", audit, "the audit trail of a message")
    audit_cmd.add_argument("message_id", metavar="ID")


def _page_data(page: Page[Message], messages: list[Message]) -> dict[str, Any]:
    return {
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "erased": page.erased,
        "has_more": page.has_more,
        "next_after": page.next_after,
        "messages": [message_data(m) for m in messages],
    }


def _show_page(ctx: Context, page: Page[Message], extra: str = "") -> None:
    messages = list(page)

    def human() -> None:
        ctx.out.table(MESSAGE_COLUMNS, [message_row(m) for m in messages])
        shown = f"{page.offset + 1}-{page.offset + len(messages)}" if messages else "none"
        ctx.out.say(f"{shown} of {page.total}" + extra)

    ctx.out.result(_page_data(page, messages), human)


async def list_messages(ctx: Context) -> int:
    """The communication list with its filters."""
    messenger = await ctx.messenger()
    page = await messenger.messages(query_from(ctx.args))
    _show_page(ctx, page)
    return ExitCode.OK


async def search(ctx: Context) -> int:
    """Full-text search with the list's filters."""
    messenger = await ctx.messenger()
    found = await messenger.search(ctx.args.text, query_from(ctx.args))
    hits = list(found.hits)
    data = {
        "total": found.total,
        "limit": found.limit,
        "offset": found.offset,
        "erased": found.erased,
        "has_more": found.has_more,
        "hits": [dict(message_data(h.message), snippet=h.snippet) for h in hits],
    }

    def human() -> None:
        ctx.out.table(MESSAGE_COLUMNS, [message_row(h.message) for h in hits])
        ctx.out.say(f"{len(hits)} shown of {found.total} found")

    ctx.out.result(data, human)
    return ExitCode.OK


async def show(ctx: Context) -> int:
    """One message in full."""
    messenger = await ctx.messenger()
    message = await messenger.get(ctx.args.message_id)
    data = message_data(message, bodies=True)

    def human() -> None:
        pairs: list[tuple[str, Any]] = []
        for key, value in data.items():
            if key == "recipients":
                pairs += [(k, ", ".join(v)) for k, v in value.items() if v]
            elif key == "attachments":
                pairs += [
                    ("attachment", f"{a['filename']} ({a['content_type']}, {a['size']:,} B)")
                    for a in value
                ]
            elif isinstance(value, list):
                pairs.append((key, " ".join(value)))
            elif isinstance(value, dict):
                pairs.append((key, f"{value['name']} v{value['version']}"))
            elif value is not None:
                pairs.append((key, value))
        ctx.out.fields(pairs)

    ctx.out.result(data, human)
    return ExitCode.OK


async def history(ctx: Context) -> int:
    """All communication of one record."""
    record = parse_link(ctx.args.record)
    messenger = await ctx.messenger()
    page = await messenger.history(record, query_from(ctx.args))
    _show_page(ctx, page, f" linked to {record}")
    return ExitCode.OK


async def send_log(ctx: Context) -> int:
    """The send log of a message, oldest first."""
    messenger = await ctx.messenger()
    attempts = await messenger.send_log(ctx.args.message_id)
    rows = [
        (
            a.attempt_no,
            f"{a.finished_at:%Y-%m-%d %H:%M:%S}",
            a.kind.value,
            a.actor_id,
            a.transport,
            a.outcome.value,
            ", ".join(a.accepted),
            ", ".join(a.refused),
            a.error or "",
        )
        for a in attempts
    ]
    columns = (
        "#",
        "finished",
        "kind",
        "actor",
        "transport",
        "outcome",
        "accepted",
        "refused",
        "error",
    )
    ctx.out.result(
        {"message_id": ctx.args.message_id, "attempts": [attempt_data(a) for a in attempts]},
        lambda: ctx.out.table(columns, rows),
    )
    return ExitCode.OK


async def deliveries(ctx: Context) -> int:
    """The delivery reports of a message, in the order received."""
    messenger = await ctx.messenger()
    message = await messenger.get(ctx.args.message_id)  # (an unknown id is exit 3)
    receipts = await messenger.deliveries(message.id)
    rows = [
        (
            f"{r.at:%Y-%m-%d %H:%M:%S}",
            r.recipient,
            r.state.value,
            r.transport,
            r.provider_id,
            r.code,
            r.text,
        )
        for r in receipts
    ]
    columns = ("at", "recipient", "state", "transport", "provider id", "code", "text")

    def human() -> None:
        if rows:
            ctx.out.table(columns, rows)
        ctx.out.say(f"{len(rows)} delivery report(s); the message is {message.status.value}")

    data = {
        "message_id": message.id,
        "status": message.status.value,
        "deliveries": [receipt_data(r) for r in receipts],
    }
    ctx.out.result(data, human)
    return ExitCode.OK


async def audit(ctx: Context) -> int:
    """The audit trail, oldest first."""
    messenger = await ctx.messenger()
    events = await messenger.audit(ctx.args.message_id)
    rows = [
        (
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.actor_id,
            e.action.value,
            " ".join(f"{k}={v}" for k, v in e.details.items()),
        )
        for e in events
    ]
    ctx.out.result(
        {"subject": ctx.args.message_id, "events": [audit_data(e) for e in events]},
        lambda: ctx.out.table(("at", "actor", "action", "details"), rows),
    )
    return ExitCode.OK
