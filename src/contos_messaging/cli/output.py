"""What the command prints: one JSON document on stdout with ``--json``; otherwise ``rich``
tables and key/value panels, progress bars on a terminal and plain, flushed log lines when
stdout is not one (a pipe, a log file, a service manager)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

__all__ = ["Output", "ProgressFn", "jsonable"]

ProgressFn = Callable[[int, int], None]
"""``update(done, total)``; a total of 0 means unknown."""


def jsonable(value: Any) -> Any:
    """A value json cannot write as one it can (times in ISO 8601)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


class Output:
    """Where results, log lines and errors go. ``json_mode``: results are one JSON document
    on stdout and log lines go to stderr; otherwise results are tables on stdout, and so are
    log lines (flushed at once, so a supervisor reading the pipe sees them as they happen)."""

    def __init__(
        self, *, json_mode: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.json_mode = json_mode
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self.terminal = self._stdout.isatty()
        self.interactive = self.terminal and not json_mode
        width = None if self.terminal else 200
        self.console = Console(file=self._stdout, width=width, highlight=False)

    # -- results -------------------------------------------------------------------------

    def result(self, data: Any, human: Callable[[], None] | str | None = None) -> None:
        """Print ``data`` as JSON with ``--json``; otherwise call ``human`` (or print it)."""
        if self.json_mode:
            text = json.dumps(data, ensure_ascii=False, indent=2, default=jsonable)
            self._stdout.write(text + "\n")
            self._stdout.flush()
        elif callable(human):
            human()
        elif human is not None:
            self.say(human)

    def say(self, text: str) -> None:
        """One line of human output (no markup is interpreted in ``text``)."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
        """A table; every cell is shown as plain text."""
        table = Table(title=title or None, show_lines=False, header_style="bold")
        for n, column in enumerate(columns):  # (ids whole: they are copied from here)
            table.add_column(column, overflow="fold", no_wrap=n == 0 and column == "id")
        for row in rows:
            table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
        self.console.print(table)

    def fields(self, pairs: Sequence[tuple[str, Any]], title: str = "") -> None:
        """A two-column table of names and values."""
        table = Table(title=title or None, show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for name, value in pairs:
            table.add_row(Text(name), Text("" if value is None else str(value)))
        self.console.print(table)

    # -- progress and logging ------------------------------------------------------------

    def log(self, text: str) -> None:
        """A plain log line with a UTC timestamp: stdout, or stderr with ``--json`` (on a
        terminal, printed above a running progress bar)."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.interactive:
            self.console.print(f"{stamp} {text}", markup=False, highlight=False, soft_wrap=True)
            return
        stream = self._stderr if self.json_mode else self._stdout
        stream.write(f"{stamp} {text}\n")
        stream.flush()

    def error(self, text: str) -> None:
        """The one line an error gets on stderr."""
        self._stderr.write(f"contos-messaging: error: {text}\n")
        self._stderr.flush()

    @contextlib.contextmanager
    def progress(self, what: str, total: int = 0) -> Iterator[ProgressFn]:
        """A progress bar on a terminal; a log line per update otherwise (none with
        ``--json`` unless the update says something new)."""
        if not self.interactive:
            last: list[tuple[int, int]] = []

            def line(done: int, of: int) -> None:
                if not last or last[-1] != (done, of):
                    last.append((done, of))
                    self.log(f"{what}: {done}/{of}" if of else f"{what}: {done}")

            yield line
            return
        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
        with Progress(
            *columns,
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        ) as bar:
            task = bar.add_task(what, total=total or None)

            def update(done: int, of: int) -> None:
                bar.update(task, completed=done, total=of or None)

            yield update
