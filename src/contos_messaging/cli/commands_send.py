"""Sending: ``send`` (ids or a list query), ``worker`` (the outbox, once or ``--watch``),
``resend``, ``cancel``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

from contos_messaging import MessageStatus, SendReport
from contos_messaging.cli.context import Context
from contos_messaging.cli.convert import attempt_data, message_data, report_data
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.parsing import Subparsers, add_filters, command, filtered, query_from

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


async def _selected(ctx: Context) -> list[str]:
    if ctx.args.ids:
        if filtered(ctx.args):
            raise CliError("give message ids or filters, not both", ExitCode.USAGE)
        return list(ctx.args.ids)
    if not filtered(ctx.args):
        raise CliError(
            "give message ids, or filters (--status queued, --link client:C-1, ...)", ExitCode.USAGE
        )
    messenger = await ctx.messenger(smtp=True)
    wanted = ctx.args.limit
    query = query_from(ctx.args, limit=_PAGE if wanted is None else min(wanted, _PAGE))
    ids: list[str] = []
    while wanted is None or len(ids) < wanted:
        page = await messenger.messages(query)
        ids += [m.id for m in page]
        if page.next_after is None:
            break
        query = query_from(ctx.args, limit=query.limit, after=page.next_after, offset=0)
    return ids if wanted is None else ids[:wanted]


def _summary(report: SendReport) -> str:
    parts = [f"{len(report.sent)} sent"]
    for name in ("partially_sent", "deferred", "failed", "expired"):
        count = len(getattr(report, name))
        if count:
            parts.append(f"{count} {name.replace('_', ' ')}")
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped")
    return ", ".join(parts)


def _show_report(ctx: Context, report: SendReport) -> None:
    rows = [
        (
            o.message_id,
            o.status.value if o.status else "-",
            o.skipped.value if o.skipped else "",
            o.detail or (o.attempt.error if o.attempt else "") or "",
        )
        for o in report
    ]

    def human() -> None:
        if rows:
            ctx.out.table(("id", "status", "skipped", "detail"), rows)
        ctx.out.say(_summary(report))

    ctx.out.result(report_data(report), human)
    if report.error is not None:
        ctx.out.error(f"the transport stopped: {report.error}")


def _code(report: SendReport) -> ExitCode:
    if report.error is not None:
        return ExitCode.CONFIG
    sent = all(o.status is MessageStatus.SENT and o.attempt is not None for o in report)
    return ExitCode.OK if sent else ExitCode.FAILED


async def send(ctx: Context) -> int:
    """Send the selected messages, with progress; exit 1 unless every one was sent."""
    ids = await _selected(ctx)
    messenger = await ctx.messenger(smtp=True)
    report = SendReport()
    with ctx.out.progress("send", len(ids)) as update:
        for start in range(0, len(ids), _CHUNK):
            report += await messenger.send(ctx.actor, ids[start : start + _CHUNK])
            update(min(start + _CHUNK, len(ids)), len(ids))
            if report.error is not None:
                break
    _show_report(ctx, report)
    return _code(report)


async def worker(ctx: Context) -> int:
    """The outbox: once, or with --watch until SIGTERM / SIGINT."""
    args = ctx.args
    if args.poll <= 0 or args.batch < 1 or (args.max is not None and args.max < 1):
        raise CliError("--poll must be positive, --batch and --max at least 1", ExitCode.USAGE)
    messenger = await ctx.messenger(smtp=True)
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
    remaining = args.max
    host = ctx.settings.get("smtp_host")
    out.log(f"worker: started on {ctx.settings.store} (smtp {host}); watching: {args.watch}")
    try:
        with out.progress("worker") as update:
            while not stop.is_set():
                # One batch per call: its outcomes are logged as soon as it is done.
                size = args.batch if remaining is None else min(args.batch, remaining)
                report = await messenger.send_due(
                    size, batch=args.batch, lease=timedelta(minutes=args.lease_minutes),
                    actor=ctx.actor,
                )  # fmt: skip
                total += report
                update(len(total.sent), 0)
                for outcome in report:
                    status = outcome.status.value if outcome.status else "-"
                    error = outcome.attempt.error if outcome.attempt else outcome.detail
                    out.log(
                        f"worker: message {outcome.message_id}: {status}"
                        + (f" ({error})" if error else "")
                    )
                if report.error is not None:
                    out.log(f"worker: the transport stopped: {report.error}")
                if remaining is not None:
                    remaining -= len(report)
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
    out.log(f"worker: stopped: {_summary(total)}")
    if out.json_mode:
        out.result(report_data(total))
    if args.watch:
        return ExitCode.CONFIG if total.error is not None and not stop.is_set() else ExitCode.OK
    return _code(total) if total.outcomes or total.error else ExitCode.OK


async def resend(ctx: Context) -> int:
    """Send a message again to all its recipients; exit 1 unless it was sent."""
    messenger = await ctx.messenger(smtp=True)
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
