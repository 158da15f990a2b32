"""Pieces of the argument parser shared by the commands: the global options (accepted before
or after the command's name), the list filters, and their translation to a MessageQuery."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from contos_messaging import MessageQuery
from contos_messaging.cli.convert import parse_link, parse_moment

__all__ = [
    "Handler",
    "Parser",
    "add_filters",
    "command",
    "common_options",
    "filtered",
    "query_from",
    "split_values",
]

Handler = Callable[[Any], Awaitable[int]]
"""``async def handler(context) -> exit code``."""

Subparsers = Any  # argparse's _SubParsersAction, private in typeshed's terms

LIST_ORDERS = ("newest", "oldest", "scheduled", "-scheduled", "sent", "-sent", "status", "-status")
SEARCH_ORDERS = ("relevance", "newest", "oldest")


class Parser(argparse.ArgumentParser):
    """argparse with the usage error on one line (exit code 2, as argparse does)."""

    def error(self, message: str) -> Any:
        """Print the usage and the error, exit 2."""
        self.print_usage()
        self.exit(2, f"{self.prog}: error: {message}\n")


def common_options() -> argparse.ArgumentParser:
    """The global options. Their defaults are suppressed so that one given before the command
    name is not reset by the command's own copy (read them with ``getattr(args, name,
    None)``)."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = common.add_argument_group("global options")
    add = group.add_argument
    add("--store", metavar="DIR", help="the store directory (CONTOS_STORE)")
    add("--key-file", metavar="FILE", help="the master key file (CONTOS_KEY_FILE)")
    add("--keys-db", metavar="FILE", help="keys.sqlite kept apart from the store (CONTOS_KEYS_DB)")
    add("--config", metavar="FILE", help="TOML config file (CONTOS_CONFIG)")
    add("--actor", metavar="ID", help="who acts (CONTOS_ACTOR; default: the OS user)")
    add("--sender", metavar="ADDRESS", help="the company sender, the default From (CONTOS_SENDER)")
    add("--records", metavar="FILE", help="JSON file of records: contacts, owners, variables")
    add("--smtp-host", dest="smtp_host", metavar="HOST", help="SMTP server (CONTOS_SMTP_HOST)")
    add("--smtp-port", dest="smtp_port", metavar="PORT", type=int, help="SMTP port")
    add(
        "--smtp-security",
        dest="smtp_security",
        choices=("starttls", "tls", "plain"),
        help="starttls (default, 587), tls (465) or plain (loopback only)",
    )
    add("--smtp-user", dest="smtp_user", metavar="USER", help="SMTP user name")
    add(
        "--smtp-password-file",
        dest="smtp_password_file",
        metavar="FILE",
        help="file holding the SMTP password (or CONTOS_SMTP_PASSWORD)",
    )
    add("--smtp-ca-file", dest="smtp_ca_file", metavar="FILE", help="a private CA to trust")
    add("--smtp-timeout", dest="smtp_timeout", metavar="SECONDS", type=float)
    _sms_options(common.add_argument_group("SMS transport (docs/cli.md)").add_argument)
    add("--json", action="store_true", help="one JSON document on stdout")
    add("--debug", action="store_true", help="show tracebacks")
    return common


def _sms_options(add: Callable[..., Any]) -> None:
    add(
        "--sms-transport",
        dest="sms_transport",
        choices=("smpp", "http", "file"),
        help="how SMS go out: an SMSC over SMPP, an HTTP gateway, or files (development)",
    )
    add("--sms-sender", dest="sms_sender", metavar="ID", help="default sender id of new SMS")
    add(
        "--sms-source",
        dest="sms_source",
        metavar="ID",
        help="the source every SMS goes out with, replacing each message's sender id",
    )
    add("--smpp-host", dest="smpp_host", metavar="HOST", help="the SMSC (CONTOS_SMPP_HOST)")
    add("--smpp-port", dest="smpp_port", metavar="PORT", type=int, help="default 2775")
    add("--smpp-system-id", dest="smpp_system_id", metavar="ID", help="the bind's system_id")
    add(
        "--smpp-password-file",
        dest="smpp_password_file",
        metavar="FILE",
        help="file holding the SMPP password (or CONTOS_SMPP_PASSWORD)",
    )
    add("--smpp-system-type", dest="smpp_system_type", metavar="TYPE")
    add("--smpp-window", dest="smpp_window", metavar="N", type=int, help="submits in flight")
    add("--smpp-tls", dest="smpp_tls", action=argparse.BooleanOptionalAction, help="SMPP over TLS")
    add("--smpp-ca-file", dest="smpp_ca_file", metavar="FILE", help="a private CA (implies TLS)")
    add(
        "--sms-http-preset",
        dest="sms_http_preset",
        choices=("gosms", "twilio", "custom"),
        help="the HTTP gateway: gosms, twilio, or custom (--sms-http-url)",
    )
    add("--sms-http-url", dest="sms_http_url", metavar="URL", help="the gateway's URL")
    add("--sms-http-name", dest="sms_http_name", metavar="NAME", help="name in the send log")
    add(
        "--sms-http-token-file",
        dest="sms_http_token_file",
        metavar="FILE",
        help="file holding the gateway's token (or CONTOS_SMS_HTTP_TOKEN)",
    )
    add("--sms-http-account", dest="sms_http_account", metavar="SID", help="Twilio account SID")
    add("--sms-http-channel", dest="sms_http_channel", metavar="N", type=int, help="GoSMS channel")
    add("--sms-http-id-path", dest="sms_http_id_path", metavar="PATH", help="custom: id in answer")
    add("--sms-http-ca-file", dest="sms_http_ca_file", metavar="FILE", help="a private CA")
    add("--sms-http-timeout", dest="sms_http_timeout", metavar="SECONDS", type=float)
    add("--sms-dir", dest="sms_dir", metavar="DIR", help="file: the directory SMS are written to")


def command(
    commands: Subparsers, name: str, handler: Handler | None, help: str, **options: Any
) -> argparse.ArgumentParser:
    """Add command ``name`` that runs ``handler``, with the global options."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=help, parents=[common_options()], **options
    )
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def split_values(values: list[str] | None) -> list[str] | None:
    """Values given as repeated options and/or comma-separated (``--status draft,queued``)."""
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def add_filters(parser: argparse.ArgumentParser, *, search: bool = False) -> None:
    """The filters of the message list (MessageQuery's fields)."""
    group = parser.add_argument_group("filters")
    add = group.add_argument
    add(
        "--status",
        action="append",
        metavar="STATUS",
        help="draft, queued, sending, sent, partially_sent, deferred, failed, expired,"
        " cancelled (repeat or comma-separate for several)",
    )
    add("--channel", action="append", metavar="CHANNEL", help="email or sms")
    add("--link", action="append", metavar="KIND:ID", help="linked to this record (repeatable)")
    add("--all-links", action="store_true", help="linked to every --link, not any")
    add("--template", dest="template_name", metavar="NAME", help="made from this template")
    add("--created-by", metavar="ACTOR", help="created by this actor")
    add("--since", metavar="DATE", help="created at or after (ISO date or date-time, UTC)")
    add("--until", metavar="DATE", help="created before (a date includes that day)")
    if not search:
        add("--scheduled-since", metavar="DATE", help="planned to be sent at or after")
        add("--scheduled-until", metavar="DATE", help="planned to be sent before")
        add("--sent-since", metavar="DATE", help="accepted by the server at or after")
        add("--sent-until", metavar="DATE", help="accepted by the server before")
    orders = SEARCH_ORDERS if search else LIST_ORDERS
    add(
        "--order",
        choices=orders,
        metavar="ORDER",
        help=f"{', '.join(orders)} (default: {orders[0]}; write --order=-sent for a leading -)",
    )
    add("--limit", type=int, metavar="N", help="page size")
    add("--offset", type=int, default=0, metavar="N", help="skip this many")
    if not search:
        add("--after", metavar="CURSOR", help="the page after this cursor (a page's next_after)")


_MOMENTS = {
    "since": "since",
    "until": "until",
    "scheduled_since": "scheduled_since",
    "scheduled_until": "scheduled_until",
    "sent_since": "sent_since",
    "sent_until": "sent_until",
}


def query_from(args: argparse.Namespace, **overrides: Any) -> MessageQuery:
    """The MessageQuery of the filters in ``args`` (``overrides`` win)."""
    links = [parse_link(v) for v in args.link] if args.link else None
    filters: dict[str, Any] = {
        "status": split_values(args.status),
        "channel": split_values(args.channel),
        "linked": links,
        "linked_all": bool(args.all_links),
        "template": args.template_name,
        "created_by": args.created_by,
        "order": args.order,
        "limit": args.limit,
        "offset": args.offset,
    }
    for name in _MOMENTS:
        value = getattr(args, name, None)
        if value is not None:  # ("until" ends: a bare date includes that day)
            filters[name] = parse_moment(value, end_of_day=name.endswith("until"))
    if getattr(args, "after", None) is not None:
        filters["after"] = args.after
    filters.update(overrides)
    return MessageQuery(**filters)


def filtered(args: argparse.Namespace) -> bool:
    """Whether any filter (not the page) is given."""
    names = ("status", "channel", "link", "template_name", "created_by", *_MOMENTS)
    return any(getattr(args, name, None) for name in names)
