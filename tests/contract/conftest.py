"""Adapters under contract test. Each port's suite runs against every factory listed here;
a new adapter joins its port's suite by adding a factory, without changing the suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from contos_messaging.adapters.filestore import EncryptedFileStore
from contos_messaging.adapters.memory import (
    InMemoryBlobStore,
    InMemoryKeyStore,
    InMemoryMessageRepository,
    InMemorySearchIndex,
)
from contos_messaging.adapters.sqlite import SQLiteKeyStore, SQLiteMessageRepository

Factory = Callable[[Path], Awaitable[tuple[Any, list[Any]]]]
MASTER = bytes(range(32))


async def _memory_repository(_path: Path) -> tuple[Any, list[Any]]:
    return InMemoryMessageRepository(), []


async def _memory_blobs(_path: Path) -> tuple[Any, list[Any]]:
    return InMemoryBlobStore(), []


async def _memory_search(_path: Path) -> tuple[Any, list[Any]]:
    return InMemorySearchIndex(), []


async def _memory_keys(_path: Path) -> tuple[Any, list[Any]]:
    return InMemoryKeyStore(), []


async def _sqlite_keys(path: Path) -> tuple[Any, list[Any]]:
    return await SQLiteKeyStore.open(path / "keys.sqlite", MASTER), []


async def _sqlite_repository(path: Path) -> tuple[Any, list[Any]]:
    keys = await SQLiteKeyStore.open(path / "keys.sqlite", MASTER)
    return await SQLiteMessageRepository.open(path / "messages.sqlite", keys=keys), [keys]


async def _file_blobs(path: Path) -> tuple[Any, list[Any]]:
    keys = await SQLiteKeyStore.open(path / "keys.sqlite", MASTER)
    return await EncryptedFileStore.open(path / "blobs", keys=keys), [keys]


REPOSITORIES: dict[str, Factory] = {"memory": _memory_repository, "sqlite": _sqlite_repository}
BLOB_STORES: dict[str, Factory] = {"memory": _memory_blobs, "filestore": _file_blobs}


async def _tantivy_search(path: Path) -> tuple[Any, list[Any]]:
    from contos_messaging.adapters.tantivy import TantivySearchIndex

    return await TantivySearchIndex.open(path / "search"), []


SEARCH_INDEXES: dict[str, Factory] = {"memory": _memory_search, "tantivy": _tantivy_search}
KEY_STORES: dict[str, Factory] = {"memory": _memory_keys, "sqlite": _sqlite_keys}


async def _adapter(factories: dict[str, Factory], name: str, path: Path) -> AsyncIterator[Any]:
    adapter, helpers = await factories[name](path)
    try:
        yield adapter
    finally:
        await adapter.aclose()
        for helper in helpers:
            await helper.aclose()


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


async def _memory_templates(_path: Path) -> tuple[Any, list[Any]]:
    from contos_messaging.adapters.memory import InMemoryTemplateRepository

    return InMemoryTemplateRepository(), []


TEMPLATE_REPOSITORIES: dict[str, Factory] = {
    "memory": _memory_templates,
    "sqlite": _sqlite_repository,
}


@pytest.fixture(params=sorted(TEMPLATE_REPOSITORIES))
async def templates(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    async for adapter in _adapter(TEMPLATE_REPOSITORIES, request.param, tmp_path):
        yield adapter
