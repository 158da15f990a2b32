"""Contract of the :class:`~contos_messaging.ports.BlobStore` port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from contos_messaging.errors import BlobNotFound, InvalidInput
from contos_messaging.ports import BlobStore
from contos_messaging.testing.contracts._base import Contract, not_defined, under_test

__all__ = ["BlobStoreContract"]


class BlobStoreContract(Contract):
    """The behaviour every :class:`~contos_messaging.ports.BlobStore` keeps. Subclass it as
    ``Test...`` and define :meth:`make_blob_store`.

    .. versionadded:: 0.3
    """

    async def make_blob_store(self, directory: Path) -> BlobStore:
        """A new, empty blob store (files, if any, under the empty ``directory``)."""
        raise not_defined(self, "make_blob_store")

    @pytest_asyncio.fixture
    async def blobs(self, tmp_path: Path) -> AsyncIterator[BlobStore]:
        """The store under test, closed after the test."""
        async with under_test(self, self.make_blob_store, tmp_path) as store:
            yield store

    @pytest.mark.parametrize("key", ["\ud800", "a\udfffb"])
    async def test_a_key_with_a_lone_surrogate_is_refused_with_invalid_input(
        self, blobs: BlobStore, key: str
    ) -> None:
        with pytest.raises(InvalidInput):
            await blobs.put("C-1", key, b"x")
        with pytest.raises(InvalidInput):
            await blobs.get("C-1", key)
        with pytest.raises(InvalidInput):
            await blobs.exists(key, "k")
        with pytest.raises(InvalidInput):
            await blobs.delete("C-1", key)
        assert await blobs.list_objects() == []

    @pytest.mark.parametrize("key", ["C-1\x00x", "\u202eabc", "ž" * 300, "a b/../c"])
    async def test_odd_keys_that_are_text_round_trip(self, blobs: BlobStore, key: str) -> None:
        await blobs.put(key, key, b"data")
        assert await blobs.get(key, key) == b"data"
        assert await blobs.exists(key, key)
        assert await blobs.list_objects() == [(key, key)]

    async def test_put_then_get_returns_the_same_bytes(self, blobs: BlobStore) -> None:
        await blobs.put("C-1", "k1", b"P\xc5\x99\xc3\xadloha \x00 binary")
        assert await blobs.get("C-1", "k1") == b"P\xc5\x99\xc3\xadloha \x00 binary"
        assert await blobs.exists("C-1", "k1")

    async def test_missing_object_raises_blob_not_found_with_its_address(
        self, blobs: BlobStore
    ) -> None:
        with pytest.raises(BlobNotFound) as info:
            await blobs.get("C-1", "absent")
        assert (info.value.scope, info.value.key) == ("C-1", "absent")
        assert not await blobs.exists("C-1", "absent")

    async def test_scopes_are_separate(self, blobs: BlobStore) -> None:
        await blobs.put("C-1", "same", b"one")
        await blobs.put("C-2", "same", b"two")
        assert await blobs.get("C-1", "same") == b"one"
        assert await blobs.get("C-2", "same") == b"two"

    async def test_putting_an_existing_key_again_keeps_one_copy(self, blobs: BlobStore) -> None:
        await blobs.put("C-1", "k", b"content")
        await blobs.put("C-1", "k", b"content")
        assert await blobs.get("C-1", "k") == b"content"
        assert await blobs.list_objects() == [("C-1", "k")]

    async def test_put_many_stores_each_once_as_put_does(self, blobs: BlobStore) -> None:
        """Several objects at once: two scopes, a key twice in the batch, one stored before,
        one empty and one of several chunks.

        .. versionadded:: 0.5
        """
        await blobs.put("C-1", "before", b"stored earlier")
        large = bytes(range(256)) * 9000  # (over 2 MiB: several chunks)
        await blobs.put_many(
            [
                ("C-1", "a", b"first"),
                ("C-2", "a", b"other scope"),
                ("C-1", "a", b"first"),
                ("C-1", "before", b"stored earlier"),
                ("C-2", "empty", b""),
                ("C-2", "large", large),
            ]
        )
        await blobs.put_many([])
        assert await blobs.get("C-1", "a") == b"first"
        assert await blobs.get("C-2", "a") == b"other scope"
        assert await blobs.get("C-1", "before") == b"stored earlier"
        assert await blobs.get("C-2", "empty") == b""
        assert await blobs.get("C-2", "large") == large
        assert sorted(await blobs.list_objects()) == [
            ("C-1", "a"), ("C-1", "before"), ("C-2", "a"), ("C-2", "empty"), ("C-2", "large"),
        ]  # fmt: skip

    async def test_empty_content_round_trips(self, blobs: BlobStore) -> None:
        await blobs.put("", "empty", b"")
        assert await blobs.get("", "empty") == b""

    async def test_delete_scope_removes_only_that_scope(self, blobs: BlobStore) -> None:
        await blobs.put("C-1", "a", b"1")
        await blobs.put("C-1", "b", b"2")
        await blobs.put("C-2", "a", b"3")
        assert await blobs.delete_scope("C-1") == 2
        assert not await blobs.exists("C-1", "a")
        assert await blobs.get("C-2", "a") == b"3"

    async def test_delete_removes_one_object_and_ignores_absent_ones(
        self, blobs: BlobStore
    ) -> None:
        await blobs.put("C-1", "a", b"1")
        await blobs.delete("C-1", "a")
        await blobs.delete("C-1", "never-there")
        assert not await blobs.exists("C-1", "a")

    async def test_put_file_streams_a_large_file_and_reads_back_in_chunks(
        self, blobs: BlobStore, tmp_path: Path
    ) -> None:
        path = tmp_path / "big.bin"
        block = bytes(range(256)) * 4096  # 1 MiB
        with path.open("wb") as fh:
            for i in range(3):
                fh.write(block[i:] + block[:i])
        await blobs.put_file("C-1", "big", path)
        chunks = [c async for c in blobs.read_chunks("C-1", "big")]
        assert len(chunks) >= 3
        assert b"".join(chunks) == path.read_bytes()

    async def test_put_file_of_an_empty_file_reads_back_empty(
        self, blobs: BlobStore, tmp_path: Path
    ) -> None:
        path = tmp_path / "empty.bin"
        path.write_bytes(b"")
        await blobs.put_file("C-1", "empty", path)
        assert await blobs.get("C-1", "empty") == b""

    async def test_list_objects_and_age_filter(self, blobs: BlobStore) -> None:
        await blobs.put("C-1", "a", b"1")
        await blobs.put("C-2", "b", b"2")
        assert sorted(await blobs.list_objects()) == [("C-1", "a"), ("C-2", "b")]
        past = datetime.now(UTC) - timedelta(hours=1)
        assert await blobs.list_objects(created_before=past) == []

    async def test_storing_a_key_again_refreshes_its_age(
        self, blobs: BlobStore, tmp_path: Path
    ) -> None:
        """What gc goes by: content stored again (deduplicated, not written twice) counts as
        new, so an orphan that a new message takes up again is not collected under it."""
        await blobs.put("C-1", "a", b"1")
        path = tmp_path / "b.bin"
        path.write_bytes(b"2")
        await blobs.put_file("C-1", "b", path)
        between = datetime.now(UTC)
        assert sorted(await blobs.list_objects(created_before=between + timedelta(seconds=1))) == [
            ("C-1", "a"),
            ("C-1", "b"),
        ]
        await blobs.put("C-1", "a", b"1")
        await blobs.put_file("C-1", "b", path)
        assert await blobs.list_objects(created_before=between) == []
        assert await blobs.get("C-1", "a") == b"1"

    async def test_verify_and_compact_on_a_healthy_store(self, blobs: BlobStore) -> None:
        await blobs.put("C-1", "a", b"x" * 1000)
        await blobs.put("C-1", "b", b"y" * 1000)
        await blobs.delete("C-1", "a")
        assert await blobs.compact() >= 0
        report = await blobs.verify()
        assert report.ok
        assert report.checked >= 1
        assert await blobs.get("C-1", "b") == b"y" * 1000
