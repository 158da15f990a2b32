"""Adapters under contract test. Each port's suite runs against every factory listed here;
a new adapter joins its port's suite by adding a factory, without changing the suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from contos_messaging.adapters.memory import (
    InMemoryBlobStore,
    InMemoryKeyStore,
    InMemoryMessageRepository,
    InMemorySearchIndex,
)

Factory = Callable[[Path], Awaitable[Any]]


async def _memory_repository(_path: Path) -> Any:
    return InMemoryMessageRepository()


async def _memory_blobs(_path: Path) -> Any:
    return InMemoryBlobStore()


async def _memory_search(_path: Path) -> Any:
    return InMemorySearchIndex()


async def _memory_keys(_path: Path) -> Any:
    return InMemoryKeyStore()


REPOSITORIES: dict[str, Factory] = {"memory": _memory_repository}
BLOB_STORES: dict[str, Factory] = {"memory": _memory_blobs}
SEARCH_INDEXES: dict[str, Factory] = {"memory": _memory_search}
KEY_STORES: dict[str, Factory] = {"memory": _memory_keys}


async def _adapter(factories: dict[str, Factory], name: str, path: Path) -> AsyncIterator[Any]:
    adapter = await factories[name](path)
    try:
        yield adapter
    finally:
        await adapter.aclose()


@pytest.fixture(params=sorted(REPOSITORIES))
async def repository(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    async for adapter in _adapter(REPOSITORIES, request.param, tmp_path):
        yield adapter


@pytest.fixture(params=sorted(BLOB_STORES))
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    async for adapter in _adapter(BLOB_STORES, request.param, tmp_path):
        yield adapter


@pytest.fixture(params=sorted(SEARCH_INDEXES))
async def search(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    async for adapter in _adapter(SEARCH_INDEXES, request.param, tmp_path):
        yield adapter


@pytest.fixture(params=sorted(KEY_STORES))
async def keys(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    async for adapter in _adapter(KEY_STORES, request.param, tmp_path):
        yield adapter
