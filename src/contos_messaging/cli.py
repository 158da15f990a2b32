"""The ``contos-messaging`` command (also ``python -m contos_messaging``).

So far it answers ``--version`` and ``--help``; the operator's commands (init, worker, list,
search, export, erase-client, ...) come with the command-line issue.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from contos_messaging import __version__

    parser = argparse.ArgumentParser(
        prog="contos-messaging",
        description="Administer a contos_messaging store (client e-mail and SMS).",
    )
    parser.add_argument("--version", action="version", version=f"contos-messaging {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: the process's arguments); returns the exit
    code."""
    _parser().parse_args(argv)
    _parser().print_help()
    return 0
