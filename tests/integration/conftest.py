"""Fixtures for tests on the real embedded store (SQLite files, sealed content, key store)."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contos_messaging import AsyncMessenger
from contos_messaging.adapters.clock import ManualClock
from contos_messaging.testing import (
    InMemoryAddressBook,
    RecordingEmailTransport,
    make_async_test_messenger,
)

MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
# The key of a search index opened on its own (not in a store).
INDEX_KEY = bytes(range(100, 132))


async def store_search_key(store_dir: Path) -> bytes:
    """The search key of the embedded store in ``store_dir`` (opened with MASTER_KEY), to open
    its index on its own as another process would."""
    from contos_messaging.adapters.sqlite import SQLiteKeyStore, load_master_key
    from contos_messaging.adapters.tantivy import search_key

    keys = await SQLiteKeyStore.open(store_dir / "keys.sqlite", load_master_key(MASTER_KEY))
    try:
        return search_key(await keys.blind_index_key())
    finally:
        await keys.aclose()


OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def transport() -> RecordingEmailTransport:
    return RecordingEmailTransport()


@pytest.fixture
def book() -> InMemoryAddressBook:
    return InMemoryAddressBook()


@pytest.fixture
async def messenger(
    store_dir: Path,
    transport: RecordingEmailTransport,
    book: InMemoryAddressBook,
    clock: ManualClock,
) -> AsyncIterator[AsyncMessenger]:
    opened = await AsyncMessenger.open(
        store_dir,
        master_key=MASTER_KEY,
        company_sender="ContOS <info@contos.example.com>",
        email_transport=transport,
        address_book=book,
        clock=clock,
    )
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture(params=["fakes", "embedded"])
async def fakes_or_embedded(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[AsyncMessenger]:
    """The same test on the in-memory fakes and on the embedded store (a recording transport)."""
    if request.param == "fakes":
        opened = make_async_test_messenger(clock=clock)
    else:
        opened = await AsyncMessenger.open(
            tmp_path / "store", master_key=MASTER_KEY, clock=clock,
            company_sender="ContOS <info@contos.example.com>",
            email_transport=RecordingEmailTransport(),
        )  # fmt: skip
    async with opened as m:
        yield m


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CONTOS_MESSAGING_MASTER_KEY"] = MASTER_KEY
    return env


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
