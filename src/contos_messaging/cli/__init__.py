"""The ``contos-messaging`` command (also ``python -m contos_messaging``): the operator's tool
for an embedded store. See docs/cli.md.

Commands: ``init``, ``config``, ``template add|list|show|preview``, ``compose email|sms``,
``queue``, ``send``, ``worker``, ``list``, ``search``, ``show``, ``history``, ``log``,
``deliveries``, ``audit``, ``resend``, ``cancel``, ``reindex``, ``verify``, ``gc``,
``rotate-key``, ``erase-client``, ``export``. ``send``, ``worker`` and ``resend`` open the
transports that are configured: SMTP when an SMTP server is set, SMS (SMPP, an HTTP gateway or
files) when ``sms_transport`` is. Every command takes ``--json`` (one JSON document on stdout)
and ``--debug`` (tracebacks), before or after its name.

Settings, each resolved on its own: flag, then environment variable (``CONTOS_STORE``,
``CONTOS_KEY_FILE``, ``CONTOS_SMTP_HOST``, ...), then the config file (``--config``, else
``./contos-messaging.toml``, else ``$XDG_CONFIG_HOME/contos-messaging/config.toml``), then
the default.

Exit codes (:mod:`contos_messaging.cli.exit_codes`):

====  ===========================================================================
0     ok
1     an operation failed (a message not sent, verify found problems, declined)
2     usage error (bad arguments, ``InvalidInput``)
3     not found (``NotFound``)
4     permission or key problem (``PermissionDenied``, ``KeyUnavailable``, master key)
5     configuration error (``ConfigurationError``, SMTP/SMPP auth or TLS, config file, no
      store, a message to send whose channel has no transport configured)
6     storage error (``StorageError``, ``IntegrityError``, ``IndexLocked``)
7     conflict (``AlreadyExists``, ``IllegalTransition``, ``ConcurrentModification``)
70    unexpected error (a bug; traceback with ``--debug``)
130   interrupted
====  ===========================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence

from contos_messaging.cli import (
    commands_compose,
    commands_export,
    commands_lookup,
    commands_send,
    commands_store,
    commands_templates,
)
from contos_messaging.cli.context import Context
from contos_messaging.cli.exit_codes import ExitCode, exit_code_for
from contos_messaging.cli.output import Output
from contos_messaging.cli.parsing import Parser, common_options
from contos_messaging.cli.settings import resolve

__all__ = ["build_parser", "main"]

_MODULES = (
    commands_store,
    commands_templates,
    commands_compose,
    commands_send,
    commands_lookup,
    commands_export,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    from contos_messaging import __version__

    parser = Parser(
        prog="contos-messaging",
        description="Administer a contos_messaging store (client e-mail and SMS).",
        epilog="Settings: flag, then environment, then config file, then default. See docs/cli.md.",
        parents=[common_options()],
    )
    parser.add_argument("--version", action="version", version=f"contos-messaging {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in _MODULES:
        module.register(commands)
    return parser


def _report_error(out: Output, error: BaseException, code: ExitCode, debug: bool) -> None:
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    text = str(error) or type(error).__name__
    if code is ExitCode.INTERNAL:
        text = f"unexpected {type(error).__name__}: {text} (run with --debug for the traceback)"
    out.error(" ".join(text.split()))
    if out.json_mode:
        document = {
            "ok": False,
            "error": {"type": type(error).__name__, "message": str(error), "exit_code": int(code)},
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")


class _LogLines(logging.Handler):
    """The library's log records as the command's plain log lines (tracebacks with --debug)."""

    def __init__(self, out: Output, debug: bool) -> None:
        super().__init__(logging.DEBUG if debug else logging.WARNING)
        self._out = out
        self._debug = debug

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` as one log line."""
        text = self.format(record) if self._debug else record.getMessage()
        self._out.log(f"{record.levelname.lower()}: {text}")


@contextlib.contextmanager
def _logging_to(out: Output, debug: bool) -> Iterator[None]:
    """While the command runs, the library's log records are its log lines (and only those:
    the logger is put back as it was afterwards, for a host that calls :func:`main`)."""
    logger = logging.getLogger("contos_messaging")
    handler = _LogLines(out, debug)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


async def _run(context: Context) -> int:
    try:
        return int(await context.args.handler(context))
    finally:
        await context.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: the process's arguments); returns the exit
    code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    out = Output(json_mode=bool(getattr(args, "json", False)))
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return ExitCode.OK if args.command is None else ExitCode.USAGE
    try:
        with _logging_to(out, debug):
            return asyncio.run(_run(Context(resolve(args), out, args)))
    except BrokenPipeError:  # (``contos-messaging list | head``: the reader left)
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.FAILED
    except KeyboardInterrupt as error:
        _report_error(out, error, ExitCode.INTERRUPTED, debug)
        return ExitCode.INTERRUPTED
    except Exception as error:
        code = exit_code_for(error)
        _report_error(out, error, code, debug)
        return code
