"""What every contract suite shares: a fresh directory, one cleanup stack per test, the adapter
closed after the test, and a clear error when a subclass forgot its factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import ClassVar, Protocol, TypeVar

import pytest

__all__ = ["Contract", "not_defined", "under_test"]


class _Closable(Protocol):
    async def aclose(self) -> None: ...


A = TypeVar("A", bound=_Closable)


class Contract:
    """Base of the port contract suites.

    A subclass's factory runs once per test, with a fresh empty ``directory``; the adapter it
    returns is closed (``aclose()``) after the test, then whatever the factory pushed on
    :attr:`cleanup` (an :class:`contextlib.AsyncExitStack`) is undone, last first.
    """

    # Marked, so the suites also run under pytest-asyncio's strict mode.
    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.asyncio]

    cleanup: AsyncExitStack
    """Undone after the adapter is closed: push what else the factory opened
    (``self.cleanup.push_async_callback(keys.aclose)``, ``self.cleanup.callback(server.stop)``)."""


@asynccontextmanager
async def under_test(
    contract: Contract, factory: Callable[[Path], Awaitable[A]], directory: Path
) -> AsyncIterator[A]:
    """Run ``factory`` in a fresh directory under ``directory``; close what it made after."""
    where = directory / "adapter-under-test"
    where.mkdir()
    async with AsyncExitStack() as stack:
        contract.cleanup = stack
        adapter = await factory(where)
        stack.push_async_callback(adapter.aclose)
        yield adapter


def not_defined(contract: Contract, factory: str) -> NotImplementedError:
    """The error a suite raises when its factory was not overridden: every test of the
    subclass then fails with it (an abstract class would be skipped by pytest in silence)."""
    return NotImplementedError(
        f"{type(contract).__name__} must define `async def {factory}(self, directory)` "
        "returning the adapter under test"
    )
