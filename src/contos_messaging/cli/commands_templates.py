"""``template add | list | show | preview``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from contos_messaging import Channel
from contos_messaging.cli.context import Context
from contos_messaging.cli.convert import parse_link, template_data
from contos_messaging.cli.exit_codes import CliError, ExitCode
from contos_messaging.cli.parsing import Parser, Subparsers, command

__all__ = ["read_text", "read_variables", "register"]

_FILE_KEYS = {"name", "channel", "subject", "html", "text", "language"}


def register(commands: Subparsers) -> None:
    """Add ``template`` and its subcommands to the parser."""
    group = command(commands, "template", None, "manage the stored templates")
    sub = group.add_subparsers(
        dest="template_command", metavar="ACTION", required=True, parser_class=Parser
    )
    add = command(sub, "add", add_template, "save a template (a new version each time)")
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--file",
        metavar="FILE",
        help="TOML or JSON file with channel, subject, html, text, language",
    )
    add.add_argument("--channel", choices=("email", "sms"))
    add.add_argument("--subject")
    add.add_argument("--text")
    add.add_argument("--text-file", metavar="FILE")
    add.add_argument("--html")
    add.add_argument("--html-file", metavar="FILE")
    add.add_argument("--language")
    command(sub, "list", list_templates, "the latest version of every template")
    show = command(sub, "show", show_template, "one template with its sources")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--version", dest="template_version", type=int, metavar="N")
    show.add_argument("--language")
    preview = command(sub, "preview", preview_template, "render a template, storing nothing")
    preview.add_argument("name", metavar="NAME")
    add_variables(preview)
    preview.add_argument("--version", dest="template_version", type=int, metavar="N")
    preview.add_argument("--language")


def add_variables(parser: Any) -> None:
    """``--vars JSON``, ``--vars-file FILE`` and ``--link KIND:ID`` (whose records fill the
    variables)."""
    parser.add_argument("--vars", metavar="JSON", help='variables as a JSON object: {"a": 1}')
    parser.add_argument("--vars-file", metavar="FILE", help="variables from a JSON file")
    parser.add_argument(
        "--link",
        action="append",
        metavar="KIND:ID",
        help="a linked record, e.g. order:O-7 (repeatable)",
    )


def read_text(path: str, what: str) -> str:
    """The UTF-8 text of a file the operator named."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CliError(f"cannot read {what} {path}: {reason}", ExitCode.USAGE) from None


def read_variables(args: Any) -> dict[str, Any] | None:
    """The variables of ``--vars`` / ``--vars-file`` (None when neither is given)."""
    if args.vars is None and args.vars_file is None:
        return None
    source = args.vars if args.vars is not None else read_text(args.vars_file, "the variables")
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        raise CliError(f"variables are not valid JSON: {exc}", ExitCode.USAGE) from None
    if not isinstance(value, dict):
        raise CliError("variables must be a JSON object", ExitCode.USAGE)
    return value


def _from_file(path: str) -> dict[str, Any]:
    text = read_text(path, "the template file")
    try:
        data = json.loads(text) if path.endswith(".json") else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CliError(
            f"{path}: not valid {'JSON' if path.endswith('.json') else 'TOML'}: {exc}",
            ExitCode.USAGE,
        ) from None
    unknown = sorted(set(data) - _FILE_KEYS) if isinstance(data, dict) else ["(not a table)"]
    if unknown:
        raise CliError(
            f"{path}: unknown key {unknown[0]!r} (known: {sorted(_FILE_KEYS)})", ExitCode.USAGE
        )
    return data


async def add_template(ctx: Context) -> int:
    """Save a template from a file and/or options (options win)."""
    args = ctx.args
    fields = _from_file(args.file) if args.file else {}
    for name in ("channel", "subject", "text", "html", "language"):
        if getattr(args, name) is not None:
            fields[name] = getattr(args, name)
    if args.text_file:
        fields["text"] = read_text(args.text_file, "the text file")
    if args.html_file:
        fields["html"] = read_text(args.html_file, "the HTML file")
    fields.pop("name", None)
    channel = fields.pop("channel", "email")
    if channel not in ("email", "sms"):
        raise CliError(f"channel must be email or sms, got {channel!r}", ExitCode.USAGE)
    messenger = await ctx.messenger()
    template = await messenger.templates.save(
        ctx.actor, args.name, channel=Channel(channel), **fields
    )
    ctx.out.result(
        template_data(template), f"saved template {template.name} version {template.version}"
    )
    return ExitCode.OK


async def list_templates(ctx: Context) -> int:
    """The templates, latest versions."""
    messenger = await ctx.messenger()
    templates = await messenger.templates.list()
    data = [template_data(t) for t in templates]
    rows = [
        (t.name, t.channel.value, t.language, t.version, ", ".join(sorted(t.variables)))
        for t in templates
    ]
    columns = ("name", "channel", "language", "version", "variables")
    ctx.out.result({"templates": data}, lambda: ctx.out.table(columns, rows))
    return ExitCode.OK


async def show_template(ctx: Context) -> int:
    """One template with its sources."""
    messenger = await ctx.messenger()
    template = await messenger.templates.get(
        ctx.args.name, version=ctx.args.template_version, language=ctx.args.language
    )
    data = template_data(template, sources=True)
    pairs = [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in data.items()]
    ctx.out.result(data, lambda: ctx.out.fields(pairs))
    return ExitCode.OK


async def preview_template(ctx: Context) -> int:
    """Render with variables and/or linked records, storing nothing."""
    args = ctx.args
    links = [parse_link(v) for v in args.link or ()]
    variables = read_variables(args)
    messenger = await ctx.messenger()
    rendered = await messenger.templates.preview(
        args.name, variables, links=links, language=args.language, version=args.template_version
    )
    data: dict[str, Any] = {
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.plain_text,
    }
    if rendered.sms is not None:
        data["sms"] = {
            "encoding": rendered.sms.encoding,
            "segments": rendered.sms.segments,
            "left": rendered.sms.left,
        }
    pairs = [(k, v) for k, v in data.items() if k != "sms"] + list((data.get("sms") or {}).items())
    ctx.out.result(data, lambda: ctx.out.fields(pairs))
    return ExitCode.OK
