"""The sandbox's budgets: the time and size limits of the render in progress, ``range()`` for
templates, and the guard every filter runs under (deadline, no huge numeric arguments, size
checked before ``replace`` / ``format`` and after every filter)."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "MAX_EXPONENT",
    "MAX_FILTER_ARGUMENT",
    "MAX_RANGE",
    "OVERTIME",
    "WIDE_FORMAT",
    "Budget",
    "BudgetExceeded",
    "BudgetRange",
    "guard_filter",
]

MAX_RANGE = 100_000
MAX_FILTER_ARGUMENT = 100_000
MAX_EXPONENT = 10_000
WIDE_FORMAT = re.compile(r"%[-+ #0]*(\d{4,}|\*)|\.\d{4,}")
"""A %-format width or precision over 999 (or ``*``)."""
OVERTIME = "the render took longer than its time limit"
_MONOTONIC = time.monotonic


class BudgetExceeded(Exception):
    """A render went over its time or size budget."""


class Budget:
    """Time and size limits of the render in progress (one render at a time per thread)."""

    def __init__(self) -> None:
        self.deadline = float("inf")
        self.max_chars = 1_000_000

    def start(self, seconds: float, max_chars: int) -> None:
        self.deadline = time.monotonic() + seconds
        self.max_chars = max_chars

    def tick(self) -> None:
        if _MONOTONIC() > self.deadline:
            raise BudgetExceeded(OVERTIME)

    def size(self, chars: int, what: str) -> None:
        if chars > self.max_chars:
            raise BudgetExceeded(f"{what} would produce {chars:,} characters, over the limit")


class BudgetRange:
    """``range()`` for templates: at most MAX_RANGE items, checking the deadline as it goes."""

    def __init__(self, budget: Budget, *args: int) -> None:
        self._range = range(*args)
        if len(self._range) > MAX_RANGE:
            raise BudgetExceeded(f"range() of {len(self._range):,} items is over {MAX_RANGE:,}")
        self._budget = budget

    def __len__(self) -> int:
        return len(self._range)

    def __iter__(self) -> Iterator[int]:
        for i, value in enumerate(self._range):
            if i % 256 == 0:
                self._budget.tick()
            yield value


def guard_filter(budget: Budget, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter: deadline, no huge numeric arguments, size checked before
    ``replace`` / ``format`` and after every filter."""
    skip = 2 if getattr(func, "jinja_pass_arg", None) is not None else 1
    what = f"filter {name!r}"

    def check_options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        options = [*args[skip:], *kwargs.values()]
        for arg in options:
            if isinstance(arg, int) and not isinstance(arg, bool) and arg > MAX_FILTER_ARGUMENT:
                raise BudgetExceeded(
                    f"filter {name!r} got an argument over {MAX_FILTER_ARGUMENT:,}"
                )
        return options

    if name not in ("replace", "format"):

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if _MONOTONIC() > budget.deadline:  # (Budget.tick, inline)
                raise BudgetExceeded(OVERTIME)
            if kwargs or len(args) > skip:
                check_options(args, kwargs)
            result = func(*args, **kwargs)
            if isinstance(result, str) and len(result) > budget.max_chars:
                budget.size(len(result), what)
            return result

        return guarded

    @functools.wraps(func)
    def guarded_text(*args: Any, **kwargs: Any) -> Any:
        budget.tick()
        options = check_options(args, kwargs)
        value = args[skip - 1] if len(args) >= skip else None
        if name == "replace" and isinstance(value, str) and len(options) >= 2:
            old, new = str(options[0]), str(options[1])
            count = value.count(old) if old else len(value) + 1
            budget.size(len(value) + count * max(0, len(new) - len(old)), "replace")
        if name == "format" and isinstance(value, str) and WIDE_FORMAT.search(value):
            raise BudgetExceeded("a %-format width or precision over 999")
        result = func(*args, **kwargs)
        if isinstance(result, str):
            budget.size(len(result), what)
        return result

    return guarded_text
