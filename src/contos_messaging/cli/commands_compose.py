"""``compose email | sms`` (by hand or from a template) and ``queue``."""

from __future__ import annotations

import argparse
from typing import Any

from contos_messaging import Attachment, Message
from contos_messaging.cli.commands_templates import add_variables, read_text, read_variables
from contos_messaging.cli.context import Context
from contos_messaging.cli.convert import message_data, parse_link, parse_moment
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.parsing import Parser, Subparsers, command

__all__ = ["register"]


def register(commands: Subparsers) -> None:
    """Add ``compose`` and ``queue`` to the parser."""
    group = command(commands, "compose", None, "compose a message (queued unless --draft)")
    sub = group.add_subparsers(
        dest="channel_command", metavar="CHANNEL", required=True, parser_class=Parser
    )
    email = command(sub, "email", compose, "compose an e-mail")
    email.set_defaults(channel="email")
    email.add_argument("--cc", help="addresses separated by , or ;")
    email.add_argument("--bcc", help="addresses separated by , or ;")
    email.add_argument("--subject")
    email.add_argument("--html")
    email.add_argument("--html-file", metavar="FILE")
    email.add_argument(
        "--attach", action="append", metavar="FILE", help="attach a file (repeatable)"
    )
    email.add_argument(
        "--from", dest="from_", metavar="ADDRESS", help="the From (default: --sender)"
    )
    sms = command(sub, "sms", compose, "compose an SMS")
    sms.set_defaults(
        channel="sms", cc=None, bcc=None, subject=None, html=None, html_file=None, attach=None
    )
    sms.add_argument("--from", dest="from_", metavar="SENDER_ID", help="the SMS sender id")
    for parser in (email, sms):
        parser.add_argument("--to", help="recipients (default: from the linked client)")
        parser.add_argument("--text")
        parser.add_argument("--text-file", metavar="FILE")
        parser.add_argument("--template", metavar="NAME", help="render this stored template")
        add_variables(parser)
        parser.add_argument("--draft", action="store_true", help="keep it a draft")
        parser.add_argument("--schedule", metavar="DATE", help="queue it for this time")
        parser.add_argument("--expires", metavar="DATE", help="do not send it after this time")
        parser.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help="a retried command with the same key stores nothing new",
        )
    queue_cmd = command(commands, "queue", queue, "queue drafts for sending")
    queue_cmd.add_argument("ids", nargs="+", metavar="ID")
    queue_cmd.add_argument("--schedule", metavar="DATE", help="send them at this time")


def _attachments(args: argparse.Namespace) -> list[Attachment]:
    return [Attachment.from_path(path) for path in args.attach or ()]


async def _compose(ctx: Context) -> Message:
    args = ctx.args
    links = [parse_link(v) for v in args.link or ()]
    scheduled = None if args.schedule is None else parse_moment(args.schedule)
    expires = None if args.expires is None else parse_moment(args.expires)
    common: dict[str, Any] = {
        "links": links,
        "scheduled_at": scheduled,
        "expires_at": expires,
        "idempotency_key": args.idempotency_key,
    }
    text = read_text(args.text_file, "the text file") if args.text_file else args.text
    html = read_text(args.html_file, "the HTML file") if args.html_file else args.html
    if args.template is not None or (args.channel == "email" and not args.from_):
        ctx.sender()  # (the default From of an e-mail must be a real address)
    if args.draft and scheduled is not None:
        raise CliError(
            "--schedule queues the message: drop --draft (or queue the draft later with"
            " queue --schedule)",
            ExitCode.USAGE,
        )
    messenger = await ctx.messenger()
    if args.template is not None:
        if text or html or args.subject:
            raise CliError(
                "--template renders the content: give no --text, --html or --subject",
                ExitCode.USAGE,
            )
        channel = (await messenger.templates.get(args.template)).channel.value
        if channel != args.channel:
            raise CliError(
                f"{args.template} is an {channel} template: use compose {channel}", ExitCode.USAGE
            )
        return await messenger.compose_from_template(
            ctx.actor,
            args.template,
            to=args.to,
            variables=read_variables(args),
            attachments=_attachments(args),
            **common,
        )
    if args.vars is not None or args.vars_file is not None:
        raise CliError("--vars needs --template", ExitCode.USAGE)
    if args.channel == "sms":
        if not text:
            raise CliError("an SMS needs --text or --text-file (or --template)", ExitCode.USAGE)
        return await messenger.compose_sms(
            ctx.actor, to=args.to, text=text, sender=args.from_, **common
        )
    if args.subject is None:
        raise CliError("an e-mail needs --subject (or --template)", ExitCode.USAGE)
    return await messenger.compose_email(
        ctx.actor,
        to=args.to,
        subject=args.subject,
        text=text,
        html=html,
        cc=args.cc or (),
        bcc=args.bcc or (),
        sender=args.from_,
        attachments=_attachments(args),
        **common,
    )


async def compose(ctx: Context) -> int:
    """Compose, then queue unless ``--draft`` (or scheduled, which queues it already)."""
    message = await _compose(ctx)
    queued = False
    if not ctx.args.draft and message.status.value == "draft":
        messenger = await ctx.messenger()
        report = await messenger.queue(ctx.actor, [message.id])
        queued = bool(report.queued)
        message = await messenger.get(message.id)
    data = message_data(message, bodies=True)
    data["queued"] = queued

    def human() -> None:
        ctx.out.say(
            f"{message.id} {message.channel.value} {message.status.value}"
            f" to {', '.join(message.recipients.envelope)}"
        )

    ctx.out.result(data, human)
    return ExitCode.OK


async def queue(ctx: Context) -> int:
    """Queue the given drafts; exit 1 when any was left alone."""
    scheduled = None if ctx.args.schedule is None else parse_moment(ctx.args.schedule)
    messenger = await ctx.messenger()
    report = await messenger.queue(ctx.actor, ctx.args.ids, scheduled_at=scheduled)
    skipped = {message_id: reason.value for message_id, reason in report.skipped}
    data = {"queued": list(report.queued), "skipped": skipped}

    def human() -> None:
        ctx.out.say(f"queued {len(report.queued)} message(s)")
        for message_id, reason in skipped.items():
            ctx.out.say(f"  {message_id}: not queued ({reason})")

    ctx.out.result(data, human)
    return ExitCode.OK if not skipped else ExitCode.FAILED
