"""Sending: ``send`` (ids or a list query), ``worker`` (the outbox, once or ``--watch``),
``resend``, ``cancel``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from contos_messaging import (
    Channel,
    Message,
    MessageStatus,
    SendOutcome,
    SendReport,
    SkipReason,
)
from contos_messaging.cli.context import Context
from contos_messaging.cli.convert import attempt_data, message_data, report_data
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.parsing import Subparsers, add_filters, command, filtered, query_from
from contos_messaging.cli.unsendable import (
    Unsendable,
    no_transport,
    quiet_missing,
    without_transport,
)

__all__ = ["register"]

_CHUNK = 20  # messages per send() call: the progress bar moves this often
_PAGE = 500


def register(commands: Subparsers) -> None:
    """Add the sending commands to the parser."""
    send_cmd = command(commands, "send", send, "send messages now: ids, or those the filters find")
    send_cmd.add_argument("ids", nargs="*", metavar="ID")
    add_filters(send_cmd)
    worker_cmd = command(commands, "worker", worker, "run the outbox: send every due message")
    worker_cmd.add_argument(
        "--watch", action="store_true", help="keep running until SIGTERM / SIGINT (graceful stop)"
    )
    worker_cmd.add_argument(
        "--poll",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="with --watch: look for due messages this often (default 5)",
    )
    worker_cmd.add_argument("--max", type=int, metavar="N", help="send at most N messages")
    worker_cmd.add_argument(
        "--batch", type=int, default=20, metavar="N", help="messages claimed at once (default 20)"
    )
    worker_cmd.add_argument("--lease-minutes", type=float, default=5.0, metavar="M")
    resend_cmd = command(commands, "resend", resend, "send a sent or failed message again")
    resend_cmd.add_argument("message_id", metavar="ID")
    cancel_cmd = command(commands, "cancel", cancel, "withdraw a message that is not sent yet")
    cancel_cmd.add_argument("message_id", metavar="ID")


async def _selected(ctx: Context) -> dict[str, Message | None]:
    """The ids to send, in order, each with its message when the selection read it."""
    if ctx.args.ids:
        if filtered(ctx.args):
            raise CliError("give message ids or filters, not both", ExitCode.USAGE)
        return dict.fromkeys(ctx.args.ids)
    if not filtered(ctx.args):
        raise CliError(
            "give message ids, or filters (--status queued, --link client:C-1, ...)", ExitCode.USAGE
        )
    messenger = await ctx.messenger(send=True)
    wanted = ctx.args.limit
    query = query_from(ctx.args, limit=_PAGE if wanted is None else min(wanted, _PAGE))
    found: dict[str, Message | None] = {}
    while wanted is None or len(found) < wanted:
        page = await messenger.messages(query)
        found.update((m.id, m) for m in page)
        if page.next_after is None:
            break
        query = query_from(ctx.args, limit=query.limit, after=page.next_after, offset=0)
    return found if wanted is None else dict(list(found.items())[:wanted])


def _summary(report: SendReport, missing: Mapping[str, object] | None = None) -> str:
    parts = [f"{len(report.sent)} sent"]
    for name in ("partially_sent", "deferred", "failed", "expired"):
        count = len(getattr(report, name))
        if count:
            parts.append(f"{count} {name.replace('_', ' ')}")
    skipped = [o for o in report.skipped if o not in (missing or {})]
    if skipped:
        parts.append(f"{len(skipped)} skipped")
    if missing:
        parts.append(f"{len(missing)} without a transport")
    return ", ".join(parts)


def _data(report: SendReport, missing: Mapping[str, Message]) -> dict[str, Any]:
    """The report as plain data; a message without a transport is skipped as
    ``no_transport``, listed with its channel under ``no_transport``."""
    data = report_data(report)
    for outcome in data["outcomes"]:
        if outcome["id"] in missing:
            outcome["skipped"] = "no_transport"
    for message_id in missing:
        data["skipped"][message_id] = "no_transport"
    data["no_transport"] = {i: m.channel.value for i, m in missing.items()}
    return data


def _show_report(ctx: Context, report: SendReport, missing: Mapping[str, Message]) -> None:
    rows = [
        (
            o.message_id,
            o.status.value if o.status else "-",
            "no_transport" if o.message_id in missing else o.skipped.value if o.skipped else "",
            o.detail or (o.attempt.error if o.attempt else "") or "",
        )
        for o in report
    ]

    def human() -> None:
        if rows:
            ctx.out.table(("id", "status", "skipped", "detail"), rows)
        ctx.out.say(_summary(report, missing))

    ctx.out.result(_data(report, missing), human)
    if report.error is not None:
        ctx.out.error(f"the transport stopped: {report.error}")
    for channel in sorted({m.channel for m in missing.values()}):
        count = sum(m.channel is channel for m in missing.values())
        ctx.out.error(f"{count} message(s) not sent (left as they were): {no_transport(channel)}")


def _code(report: SendReport, missing: Mapping[str, object]) -> ExitCode:
    if report.error is not None or missing:
        return ExitCode.CONFIG
    sent = all(o.status is MessageStatus.SENT and o.attempt is not None for o in report)
    return ExitCode.OK if sent else ExitCode.FAILED


async def send(ctx: Context) -> int:
    """Send the selected messages, with progress; exit 1 unless every one was sent, 5 when a
    transport stopped or a message's channel has none."""
    chosen = await _selected(ctx)
    messenger = await ctx.messenger(send=True)
    missing = await without_transport(messenger, ctx.channels(), chosen)
    ids = [i for i in chosen if i not in missing]
    report = SendReport()
    with quiet_missing(), ctx.out.progress("send", len(ids)) as update:
        for start in range(0, len(ids), _CHUNK):
            report += await messenger.send(ctx.actor, ids[start : start + _CHUNK])
            update(min(start + _CHUNK, len(ids)), len(ids))
            if report.error is not None:
                break
    done = {o.message_id: o for o in report}
    for message_id, message in missing.items():
        done[message_id] = SendOutcome(
            message_id, message.status, None, SkipReason.TRANSPORT_STOPPED,
            no_transport(message.channel),
        )  # fmt: skip
    report = SendReport(tuple(done[i] for i in chosen if i in done), report.error)
    _show_report(ctx, report, missing)
    return _code(report, missing)


def _transports(ctx: Context) -> str:
    get = ctx.settings.get
    names = []
    if Channel.EMAIL in ctx.channels():
        names.append(f"smtp {get('smtp_host')}")
    if Channel.SMS in ctx.channels():
        names.append(f"sms {get('sms_transport')}")
    return ", ".join(names)


async def worker(ctx: Context) -> int:
    """The outbox: once, or with --watch until SIGTERM / SIGINT."""
    args = ctx.args
    if args.poll <= 0 or args.batch < 1 or (args.max is not None and args.max < 1):
        raise CliError("--poll must be positive, --batch and --max at least 1", ExitCode.USAGE)
    messenger = await ctx.messenger(send=True)
    channels = ctx.channels()
    out = ctx.out
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(name: str) -> None:
        if not stop.is_set():
            out.log(f"worker: {name} received, stopping after the messages in flight")
        stop.set()
        messenger.stop_outbox()

    handled: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, on_signal, sig.name)
            handled.append(sig)
        except (ValueError, RuntimeError, NotImplementedError):  # (not the main thread)
            break
    total = SendReport()
    stopped = Unsendable()
    remaining = args.max
    out.log(f"worker: started on {ctx.settings.store} ({_transports(ctx)}); watching: {args.watch}")
    try:
        with quiet_missing(), out.progress("worker") as update:
            while not stop.is_set():
                # One batch per call: its outcomes are logged as soon as it is done.
                size = args.batch if remaining is None else min(args.batch, remaining)
                claimed = await messenger.send_due(
                    size, batch=args.batch, lease=timedelta(minutes=args.lease_minutes),
                    actor=ctx.actor,
                )  # fmt: skip
                report, new = await stopped.sort(messenger, channels, claimed)
                new += await stopped.waiting(messenger, channels, messenger.ports.clock.now())
                total += report
                update(len(total.sent), 0)
                for outcome in report:
                    status = outcome.status.value if outcome.status else "-"
                    error = outcome.attempt.error if outcome.attempt else outcome.detail
                    out.log(
                        f"worker: message {outcome.message_id}: {status}"
                        + (f" ({error})" if error else "")
                    )
                for message_id in new:
                    channel = stopped.missing[message_id].channel
                    out.log(
                        f"worker: message {message_id}: not sent, left queued"
                        f" ({no_transport(channel)})"
                    )
                if report.error is not None:
                    out.log(f"worker: the transport stopped: {report.error}")
                if remaining is not None:
                    remaining -= len(claimed)
                    if remaining <= 0:
                        break
                if report.outcomes and report.error is None:
                    continue  # (more may be due at once)
                if not args.watch:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), args.poll)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    out.log(f"worker: stopped: {_summary(total, stopped.missing)}")
    if out.json_mode:
        out.result(_data(total, stopped.missing))
    if args.watch:
        return ExitCode.CONFIG if total.error is not None and not stop.is_set() else ExitCode.OK
    return (
        _code(total, stopped.missing)
        if total.outcomes or total.error or stopped.missing
        else ExitCode.OK
    )


async def resend(ctx: Context) -> int:
    """Send a message again to all its recipients; exit 1 unless it was sent."""
    messenger = await ctx.messenger(send=True)
    channels = ctx.channels()
    missing = await without_transport(messenger, channels, {ctx.args.message_id: None})
    if missing:
        (message,) = missing.values()
        raise CliError(
            f"{message.id} is not resent: {no_transport(message.channel)}", ExitCode.CONFIG
        )
    attempt = await messenger.resend(ctx.actor, ctx.args.message_id)
    data = attempt_data(attempt)
    ctx.out.result(
        data,
        f"{attempt.message_id}: {attempt.outcome.value}"
        + (f" ({attempt.error})" if attempt.error else ""),
    )
    return ExitCode.OK if attempt.outcome is MessageStatus.SENT else ExitCode.FAILED


async def cancel(ctx: Context) -> int:
    """Withdraw a message."""
    messenger = await ctx.messenger()
    message = await messenger.cancel(ctx.actor, ctx.args.message_id)
    ctx.out.result(message_data(message), f"{message.id}: {message.status.value}")
    return ExitCode.OK
