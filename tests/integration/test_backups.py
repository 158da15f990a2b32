"""Backups of keys and data kept apart: a data backup taken before an erasure, restored with a key
backup taken after it, opens every other client and none of the erased one; with a key backup
taken before the erasure the erased client opens again (the reason key backups must not
outlive an erasure, docs/operations.md)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from contos_messaging import Actor, AsyncMessenger, KeyUnavailable, LinkedEntity
from contos_messaging.testing import RecordingEmailTransport
from tests.integration.conftest import MASTER_KEY

C1, C2 = LinkedEntity.client("C-1"), LinkedEntity.client("C-2")
SENDER = "ContOS <info@contos.example.com>"


def _backup_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup, as docs/operations.md says to take one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def _backup_data(store: Path, target: Path) -> None:
    """Everything but the key file: messages.sqlite, blobs/ (index, then segments), search/."""
    _backup_sqlite(store / "messages.sqlite", target / "messages.sqlite")
    _backup_sqlite(store / "blobs" / "index.sqlite", target / "blobs" / "index.sqlite")
    shutil.copytree(store / "blobs" / "segments", target / "blobs" / "segments")
    shutil.copytree(store / "search", target / "search")


async def _open(store: Path, keys: Path) -> AsyncMessenger:
    return await AsyncMessenger.open(
        store, master_key=MASTER_KEY, keys_path=keys, company_sender=SENDER,
        email_transport=RecordingEmailTransport(),
    )  # fmt: skip


async def test_a_data_backup_from_before_an_erasure_with_keys_from_after_opens_only_the_others(
    tmp_path: Path,
) -> None:
    store, keys = tmp_path / "store", tmp_path / "keys" / "keys.sqlite"
    messenger = await _open(store, keys)
    try:
        one = await messenger.compose_email(
            Actor.system(), to="jan@example.com", subject="Diagnóza", text="tajné", links=[C1]
        )
        two = await messenger.compose_email(
            Actor.system(), to="eva@example.com", subject="Smlouva", text="běžné", links=[C2]
        )
        await messenger.wait_indexed()
        _backup_data(store, tmp_path / "data-before")
        _backup_sqlite(keys, tmp_path / "keys-before" / "keys.sqlite")
        assert not (store / "keys.sqlite").exists()  # the key file lives apart

        assert await messenger.erase_client(Actor.system(), "C-1") == (one.id,)
        _backup_sqlite(keys, tmp_path / "keys-after" / "keys.sqlite")
    finally:
        await messenger.aclose()

    # Restored: the data as it was before the erasure, the keys as they are after it.
    restored = await _open(tmp_path / "data-before", tmp_path / "keys-after" / "keys.sqlite")
    try:
        assert (await restored.get(two.id)).subject == "Smlouva"
        with pytest.raises(KeyUnavailable, match="erased"):
            await restored.get(one.id)
        page = await restored.history(C1)
        assert (page.items, page.erased) == ((), 1)
        assert [m.id for m in await restored.history(C2)] == [two.id]
    finally:
        await restored.aclose()

    # A key backup from before the erasure would undo it: it must not be kept.
    undone = await _open(tmp_path / "data-before", tmp_path / "keys-before" / "keys.sqlite")
    try:
        assert (await undone.get(one.id)).subject == "Diagnóza"
    finally:
        await undone.aclose()
