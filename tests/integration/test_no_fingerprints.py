"""A copied store holds no fingerprint of attachment content, and new segment files are durable.

An attacker holding a candidate file must not be able to confirm, from a copy of the store and
without the master key, that a client received it: the plain SHA-256 of an attachment (hex or
raw) appears in no SQLite table and no file. New segment files are fsynced with their directory
before the index rows that point into them commit. Stores written before attachment keys were
keyed keep working.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contos_messaging import Actor, AsyncMessenger, Attachment, LinkedEntity
from contos_messaging.adapters.filestore import EncryptedFileStore
from contos_messaging.adapters.memory import InMemoryKeyStore
from contos_messaging.domain.addresses import EmailRecipients, parse_address
from contos_messaging.domain.message import Message
from tests.integration.conftest import MASTER_KEY, all_files

C1 = LinkedEntity.client("C-1")
C2 = LinkedEntity.client("C-2")
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.7 smlouva klienta Novak " * 300
ISDOC = b"<isdoc>faktura 2026/11</isdoc>" * 50
PATH_BYTES = b"%PDF-1.7 vyuctovani proviznich " * 40_000  # over one 1 MiB chunk


def _fingerprints(*contents: bytes) -> list[bytes]:
    """Each content's plain SHA-256 as raw bytes, lower and upper hex."""
    found: list[bytes] = []
    for data in contents:
        digest = hashlib.sha256(data)
        found += [digest.digest(), digest.hexdigest().encode(), digest.hexdigest().upper().encode()]
    return found


def _sqlite_values(path: Path) -> list[bytes]:
    """Every value of every row of every table of a database, as bytes."""
    values: list[bytes] = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        values.append(value)
                    elif value is not None:
                        values.append(str(value).encode("utf-8"))
    return values


async def test_a_copied_store_holds_no_plain_digest_of_any_attachment(
    messenger: AsyncMessenger, store_dir: Path, clerk: Actor, tmp_path: Path
) -> None:
    path = tmp_path / "vyuctovani.pdf"
    path.write_bytes(PATH_BYTES)
    first = await messenger.compose_email(
        clerk, to="jan@example.com", subject="Smlouva", text="t", links=[C1],
        attachments=[Attachment.from_bytes("smlouva.pdf", PDF), Attachment.from_path(path)],
    )  # fmt: skip
    # The same content again (deduplicated), for another client, and moved by an edit.
    await messenger.compose_email(
        clerk, to="jan@example.com", subject="Znovu", text="t", links=[C1],
        attachments=[Attachment.from_bytes("smlouva.pdf", PDF)],
    )  # fmt: skip
    moved = await messenger.compose_email(
        clerk, to="eva@example.com", subject="Faktura", text="t", links=[C2],
        attachments=[Attachment.from_bytes("faktura.isdoc", ISDOC)],
    )  # fmt: skip
    await messenger.edit(clerk, moved.id, links=[C1])
    assert await messenger.ports.blobs.get("C-1", first.attachments[0].sha256) == PDF
    await messenger.aclose()

    fingerprints = _fingerprints(PDF, ISDOC, PATH_BYTES)
    databases = [p for p in all_files(store_dir) if p.name.endswith(".sqlite")]
    assert {p.name for p in databases} >= {"messages.sqlite", "index.sqlite", "keys.sqlite"}
    for database in databases:
        for value in _sqlite_values(database):
            for fingerprint in fingerprints:
                assert fingerprint not in value, f"{database.name} holds a content digest"
    for file in all_files(store_dir):
        data = file.read_bytes()
        for fingerprint in fingerprints:
            assert fingerprint not in data, f"{file.relative_to(store_dir)} holds a content digest"


async def test_attachment_keys_differ_between_clients_and_deduplicate_within_one(
    messenger: AsyncMessenger, clerk: Actor
) -> None:
    attachment = Attachment.from_bytes("smlouva.pdf", PDF)
    one = await messenger.compose_email(
        clerk, to="jan@example.com", subject="a", text="t", links=[C1], attachments=[attachment]
    )
    again = await messenger.compose_email(
        clerk, to="jan@example.com", subject="b", text="t", links=[C1], attachments=[attachment]
    )
    other = await messenger.compose_email(
        clerk, to="eva@example.com", subject="c", text="t", links=[C2], attachments=[attachment]
    )
    key = one.attachments[0].sha256
    assert again.attachments[0].sha256 == key
    assert other.attachments[0].sha256 != key
    assert hashlib.sha256(PDF).hexdigest() not in (key, other.attachments[0].sha256)
    assert sorted(await messenger.ports.blobs.list_objects()) == sorted(
        [("C-1", key), ("C-2", other.attachments[0].sha256)]
    )
    report = await messenger.send(clerk, [one.id, other.id])
    assert set(report.sent) == {one.id, other.id}


async def test_gc_keeps_an_aged_orphan_that_a_compose_takes_up_while_gc_runs(
    messenger: AsyncMessenger, store_dir: Path, clerk: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the real store: an orphan aged past the grace (its age set in the index by hand), a
    compose of the same content between gc's listing and its deletes: the new message's
    attachment stays readable and verify() is clean."""
    from datetime import timedelta

    orphan = await messenger.compose_email(
        clerk, to="jan@example.com", subject="s", text="t", links=[C1],
        attachments=[Attachment.from_bytes("smlouva.pdf", PDF)],
    )  # fmt: skip
    key = orphan.attachments[0].sha256
    await messenger.ports.repository.erase_scope(
        "C-1", tombstone=_tombstone()
    )  # the message is gone, its attachment left behind
    with sqlite3.connect(store_dir / "blobs" / "index.sqlite") as db:
        db.execute("UPDATE objects SET created_at = created_at - 7200000000")
    blobs = messenger.ports.blobs
    listing = blobs.list_objects
    composed: list[str] = []

    async def list_then_compose(**kwargs: object) -> list[tuple[str, str]]:
        found = await listing(**kwargs)  # type: ignore[arg-type]
        again = await messenger.compose_email(
            clerk, to="jan@example.com", subject="znovu", text="t", links=[C1],
            attachments=[Attachment.from_bytes("smlouva.pdf", PDF)],
        )  # fmt: skip
        composed.append(again.id)
        return found

    monkeypatch.setattr(blobs, "list_objects", list_then_compose)
    report = await messenger.gc(grace=timedelta(hours=1))
    assert report.removed_objects == 0
    (again_id,) = composed
    again = await messenger.get(again_id)
    assert again.attachments[0].sha256 == key
    assert await blobs.get("C-1", key) == PDF
    assert (await messenger.send(clerk, [again_id])).sent == (again_id,)
    assert (await messenger.verify()).ok


def _tombstone():
    from contos_messaging.domain.send_log import AuditAction, AuditEvent

    return AuditEvent.record("admin", AuditAction.ERASED, "client:C-1", at=T0)


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch, index: Path) -> list[tuple[str, str, int]]:
    """Patch ``os.fsync`` to record ``(kind, path, committed objects)`` for every call: what
    was synced and how many index rows another connection could see at that moment."""
    calls: list[tuple[str, str, int]] = []
    real: Callable[[int], None] = os.fsync

    def fsync(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        target = os.readlink(f"/proc/self/fd/{fd}")
        with sqlite3.connect(f"file:{index}?mode=ro", uri=True) as db:
            (rows,) = db.execute("SELECT count(*) FROM objects").fetchone()
        calls.append((kind, target, int(rows)))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to name an fd")
async def test_a_new_segment_file_is_synced_with_its_directory_before_its_rows_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await EncryptedFileStore.open(
        tmp_path / "blobs", keys=InMemoryKeyStore(), segment_limit=4096
    )
    try:
        first = os.urandom(5000)
        await store.put("C-1", "first", first)  # segment 1, full now
        calls = _record_fsyncs(monkeypatch, tmp_path / "blobs" / "index.sqlite")
        await store.put("C-1", "rolls-over", b"x")  # opens segment 2
        segments = str((tmp_path / "blobs" / "segments").resolve())
        dir_syncs = [c for c in calls if c[0] == "dir" and c[1] == segments]
        assert dir_syncs, calls
        assert all(rows == 1 for _kind, _target, rows in dir_syncs)  # before the commit
        new_file = [c for c in calls if c[1].endswith("00000002.seg")]
        assert new_file
        assert calls.index(new_file[-1]) < calls.index(dir_syncs[-1])
        assert await store.get("C-1", "first") == first
        assert await store.get("C-1", "rolls-over") == b"x"
    finally:
        await store.aclose()


async def test_the_first_segment_of_a_new_store_is_synced_with_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await EncryptedFileStore.open(tmp_path / "blobs", keys=InMemoryKeyStore())
    try:
        await store.put("C-1", "warm-up", b"")  # creates index rows; segment 1 exists now
        (tmp_path / "blobs" / "segments" / "00000001.seg").unlink()  # as if never written
        await store.delete("C-1", "warm-up")
        calls = _record_fsyncs(monkeypatch, tmp_path / "blobs" / "index.sqlite")
        await store.put("C-1", "k", b"content")
        segments = str((tmp_path / "blobs" / "segments").resolve())
        assert [c for c in calls if c[0] == "dir" and c[1] == segments and c[2] == 0]
    finally:
        await store.aclose()


async def test_a_store_written_before_keyed_attachment_keys_still_reads_and_sends(
    store_dir: Path, clerk: Actor, clock, transport
) -> None:
    """What the earlier version wrote (the plain SHA-256 as the blob key, in the message and in
    both indexes) still reads, sends, moves and survives gc; new attachments are keyed."""
    messenger = await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com",
        email_transport=transport, clock=clock,
    )  # fmt: skip
    legacy = Attachment.from_bytes("stara.pdf", PDF)
    await messenger.ports.blobs.put("C-1", legacy.sha256, PDF)
    old = Message.email(
        sender=parse_address("info@contos.example.com"),
        recipients=EmailRecipients.parse("jan@example.com"), subject="Starý", text="t",
        attachments=[legacy.metadata_only()], links=[C1], created_by="jana",
        created_at=clock.now(),
    )  # fmt: skip
    await messenger.ports.repository.add([old])
    await messenger.aclose()

    from datetime import timedelta

    reopened = await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com",
        email_transport=transport, clock=clock,
    )  # fmt: skip
    try:
        stored = await reopened.get(old.id)
        assert await reopened.ports.blobs.get("C-1", stored.attachments[0].sha256) == PDF
        assert (await reopened.gc(grace=timedelta(0))).removed_objects == 0
        new = await reopened.compose_email(
            clerk, to="jan@example.com", subject="Nový", text="t", links=[C1],
            attachments=[Attachment.from_bytes("nova.pdf", PDF)],
        )  # fmt: skip
        assert new.attachments[0].sha256 != legacy.sha256
        assert (await reopened.send(clerk, [old.id, new.id])).sent == (old.id, new.id)
        assert [a[1] for m in transport.sent for a in m.attachments] == [PDF, PDF]
        assert (await reopened.verify()).ok
    finally:
        await reopened.aclose()
