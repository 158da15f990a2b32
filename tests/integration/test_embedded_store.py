"""The embedded store on real files: round trips, keys, no clear text, integrity, erasure."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    AuditAction,
    ConfigurationError,
    IntegrityError,
    KeyUnavailable,
    LinkedEntity,
    MessageNotFound,
    MessageStatus,
    Permission,
    PermissionDenied,
)
from contos_messaging.adapters._shared.sealing import parse_header
from contos_messaging.adapters.sqlite import load_master_key
from contos_messaging.bootstrap import rotate_master_key
from tests.integration.conftest import MASTER_KEY, OTHER_KEY, all_files

C1 = LinkedEntity.client("C-1")
C2 = LinkedEntity.client("C-2")
ADMIN = Actor.system()


async def compose_pair(messenger: AsyncMessenger, clerk: Actor):
    email = await messenger.compose_email(
        clerk,
        to='"Novák, Jan" <jan.novak@example.com>',
        subject="Vyúčtování provizí 2026",
        html="<p>Dobrý den, posíláme <b>vyúčtování</b> za listopad. Žluťoučký kůň.</p>",
        links=[C1, LinkedEntity.order("O-7")],
        attachments=[Attachment.from_bytes("Smlouva Novák.pdf", b"%PDF-1.7 smlouva klienta")],
    )
    sms = await messenger.compose_sms(
        clerk, to="601 123 456", text="Zpráva pro klienta", links=[C2]
    )
    return email, sms


async def test_open_without_a_master_key_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("CONTOS_MESSAGING_MASTER_KEY", raising=False)
    monkeypatch.delenv("CONTOS_MESSAGING_MASTER_KEY_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="no master key"):
        await AsyncMessenger.open(tmp_path / "s", company_sender="info@contos.example.com")
    assert not (tmp_path / "s").exists()


async def test_a_wrong_master_key_is_refused_before_anything_is_written(
    messenger, store_dir, clerk
):
    await compose_pair(messenger, clerk)
    await messenger.aclose()
    before = {p: p.read_bytes() for p in all_files(store_dir) if not p.name.endswith("-shm")}
    with pytest.raises(ConfigurationError, match="does not open the key store"):
        await AsyncMessenger.open(
            store_dir, master_key=OTHER_KEY, company_sender="info@contos.example.com"
        )
    after = {p: p.read_bytes() for p in all_files(store_dir) if not p.name.endswith("-shm")}
    assert after == before


def test_master_key_from_environment_and_file(tmp_path):
    raw = bytes(range(32))
    assert load_master_key(environ={"CONTOS_MESSAGING_MASTER_KEY": MASTER_KEY}) == raw
    key_file = tmp_path / "master.key"
    key_file.write_text(MASTER_KEY + "\n")
    assert load_master_key(environ={"CONTOS_MESSAGING_MASTER_KEY_FILE": str(key_file)}) == raw
    with pytest.raises(ConfigurationError, match="32 bytes"):
        load_master_key("c2hvcnQ=")


async def test_everything_survives_a_reopen(messenger, store_dir, clerk, transport, clock):
    email, sms = await compose_pair(messenger, clerk)
    await messenger.send(clerk, [email.id])
    await messenger.aclose()
    reopened = await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com", clock=clock
    )
    try:
        stored = await reopened.get(email.id)
        assert stored.status is MessageStatus.SENT
        assert stored.subject == email.subject
        assert stored.recipients == email.recipients
        assert stored.attachments == email.attachments
        assert stored.message_id_header == email.message_id_header
        assert await reopened.get(sms.id) == sms
        (attempt,) = await reopened.send_log(email.id)
        assert attempt.accepted == ("jan.novak@example.com",)
        assert [m.id for m in (await reopened.history(LinkedEntity.order("O-7"))).items] == [
            email.id
        ]
        data = await reopened.ports.blobs.get("C-1", email.attachments[0].sha256)
        assert data == b"%PDF-1.7 smlouva klienta"
        assert transport.sent[0].attachments[0][1] == data
    finally:
        await reopened.aclose()


async def test_no_personal_data_is_written_in_clear(messenger, store_dir, clerk, tmp_path):
    path = tmp_path / "Příloha Dvořák.pdf"
    path.write_bytes(b"%PDF-1.7 " + b"x" * 5000)
    await compose_pair(messenger, clerk)
    await messenger.compose_email(
        clerk,
        to="eva.dvorakova@example.com",
        cc="petr.svoboda@example.com",
        subject="Dodatek komisní smlouvy Vondrušková",
        text="Nezapomeňte podepsat dodatek.",
        links=[C1],
        attachments=[Attachment.from_path(path)],
    )
    message = await messenger.compose_email(clerk, to="x@example.com", subject="s", text="t")
    await messenger.send(clerk, [message.id])
    await messenger.aclose()
    needles = [
        "Vyúčtování provizí 2026",
        "jan.novak@example.com",
        "Novák, Jan",
        "Žluťoučký",
        "Smlouva Novák.pdf",
        "+420601123456",
        "601123456",
        "Zpráva pro klienta",
        "eva.dvorakova@example.com",
        "petr.svoboda",
        "Vondrušková",
        "Nezapomeňte",
        "Příloha Dvořák",
        "smlouva klienta",
        "x@example.com",
    ]  # chosen outside the synthetic vocabulary the stored compression dictionary holds
    files = all_files(store_dir)
    assert any(p.name == "messages.sqlite" for p in files)
    hits = []
    for file in files:
        data = file.read_bytes()
        for needle in needles:
            for encoded in (needle.encode("utf-8"), needle.encode("utf-16-le")):
                if encoded in data:
                    hits.append((file.name, needle))
    assert hits == []


async def test_rotating_a_client_key_keeps_old_content_readable(messenger, store_dir, clerk):
    old = await messenger.compose_email(
        clerk, to="a@example.com", subject="old", text="t", links=[C1]
    )
    with pytest.raises(PermissionDenied):
        await messenger.rotate_client_key(clerk, "C-1")
    new_key_id = await messenger.rotate_client_key(ADMIN, "C-1")
    new = await messenger.compose_email(
        clerk, to="a@example.com", subject="new", text="t", links=[C1]
    )
    assert (await messenger.get(old.id)).subject == "old"
    assert (await messenger.get(new.id)).subject == "new"
    with sqlite3.connect(store_dir / "messages.sqlite") as db:
        contents = dict(db.execute("SELECT hex(id), content FROM messages").fetchall())
    key_ids = {k.lower(): parse_header("x", blob).key_id for k, blob in contents.items()}
    assert key_ids[old.id.replace("-", "")] == "k1"
    assert key_ids[new.id.replace("-", "")] == new_key_id == "k2"


async def test_master_key_rotation_rewraps_keys_without_rewriting_messages(
    messenger, store_dir, clerk
):
    email, sms = await compose_pair(messenger, clerk)
    await messenger.aclose()
    db_before = (store_dir / "messages.sqlite").read_bytes()
    assert await rotate_master_key(store_dir, old_key=MASTER_KEY, new_key=OTHER_KEY) >= 2
    assert (store_dir / "messages.sqlite").read_bytes() == db_before
    with pytest.raises(ConfigurationError):
        await AsyncMessenger.open(
            store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com"
        )
    reopened = await AsyncMessenger.open(
        store_dir, master_key=OTHER_KEY, company_sender="info@contos.example.com"
    )
    try:
        assert (await reopened.get(email.id)).subject == email.subject
        assert (await reopened.get(sms.id)).text == sms.text
    finally:
        await reopened.aclose()


def _tamper(store_dir: Path, sql: str, *args) -> None:
    with sqlite3.connect(store_dir / "messages.sqlite") as db:
        db.execute(sql, args)


async def _reopen(store_dir: Path) -> AsyncMessenger:
    return await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com"
    )


@pytest.mark.parametrize(
    "damage",
    ["flip", "truncate", "swap", "move-scope"],
)
async def test_damaged_objects_fail_alone_with_integrity_error_naming_them(
    messenger, store_dir, clerk, damage
):
    a = await messenger.compose_email(clerk, to="a@example.com", subject="A", text="a", links=[C1])
    b = await messenger.compose_email(clerk, to="b@example.com", subject="B", text="b", links=[C1])
    c = await messenger.compose_email(clerk, to="c@example.com", subject="C", text="c", links=[C2])
    await messenger.aclose()
    raw_a, raw_b = bytes.fromhex(a.id.replace("-", "")), bytes.fromhex(b.id.replace("-", ""))
    if damage == "flip":
        with sqlite3.connect(store_dir / "messages.sqlite") as db:
            blob = db.execute("SELECT content FROM messages WHERE id = ?", (raw_a,)).fetchone()[0]
        original = bytearray(blob)
        original[45] ^= 0x01
        _tamper(store_dir, "UPDATE messages SET content = ? WHERE id = ?", bytes(original), raw_a)
        bad = {a.id}
    elif damage == "truncate":
        _tamper(
            store_dir, "UPDATE messages SET content = substr(content, 1, 30) WHERE id = ?", raw_a
        )
        bad = {a.id}
    elif damage == "swap":
        with sqlite3.connect(store_dir / "messages.sqlite") as db:
            ca = db.execute("SELECT content FROM messages WHERE id = ?", (raw_a,)).fetchone()[0]
            cb = db.execute("SELECT content FROM messages WHERE id = ?", (raw_b,)).fetchone()[0]
            db.execute("UPDATE messages SET content = ? WHERE id = ?", (cb, raw_a))
            db.execute("UPDATE messages SET content = ? WHERE id = ?", (ca, raw_b))
        bad = {a.id, b.id}
    else:  # sealed under C-1, claimed to belong to C-2: wrong key and wrong scope
        _tamper(store_dir, "UPDATE messages SET key_scope = 'C-2' WHERE id = ?", raw_a)
        bad = {a.id}
    reopened = await _reopen(store_dir)
    try:
        for message_id in bad:
            with pytest.raises(IntegrityError) as info:
                await reopened.get(message_id)
            assert info.value.object_id == f"message:{message_id}"
        assert (await reopened.get(c.id)).subject == "C"
        if b.id not in bad:
            assert (await reopened.get(b.id)).subject == "B"
        report = await reopened.verify()
        assert {p.object_id for p in report.problems} == {f"message:{i}" for i in bad}
        assert report.checked >= 3
    finally:
        await reopened.aclose()


async def test_a_damaged_attachment_chunk_fails_alone(messenger, store_dir, clerk):
    good = Attachment.from_bytes("good.pdf", b"good " * 1000)
    hurt = Attachment.from_bytes("hurt.pdf", b"hurt " * 1000)
    stored = await messenger.compose_email(
        clerk, to="a@example.com", subject="s", text="t", links=[C1], attachments=[good, hurt]
    )
    good, hurt = stored.attachments  # as stored: keyed digests
    await messenger.aclose()
    with sqlite3.connect(store_dir / "blobs" / "index.sqlite") as db:
        segment, offset, length = db.execute(
            "SELECT segment, offset, length FROM chunks WHERE key = ?", (hurt.sha256,)
        ).fetchone()
    path = store_dir / "blobs" / "segments" / f"{segment:08d}.seg"
    data = bytearray(path.read_bytes())
    data[offset + length - 5] ^= 0xFF
    path.write_bytes(bytes(data))
    reopened = await _reopen(store_dir)
    try:
        with pytest.raises(IntegrityError) as info:
            await reopened.ports.blobs.get("C-1", hurt.sha256)
        assert hurt.sha256 in info.value.object_id
        assert await reopened.ports.blobs.get("C-1", good.sha256) == b"good " * 1000
        report = await reopened.verify()
        assert [p.object_id for p in report.problems] == [info.value.object_id]
    finally:
        await reopened.aclose()


async def test_erasing_a_client_shreds_its_keys_and_leaves_a_tombstone(
    messenger, store_dir, clerk, tmp_path
):
    email, sms = await compose_pair(messenger, clerk)
    other = await messenger.compose_email(
        clerk, to="jan.novak@example.com", subject="jiný", text="t", links=[C2]
    )
    copy = tmp_path / "before-erase.sqlite"
    with sqlite3.connect(store_dir / "messages.sqlite") as db, sqlite3.connect(copy) as backup:
        db.backup(backup)
    with sqlite3.connect(store_dir / "keys.sqlite") as db:
        (wrapped,) = db.execute("SELECT wrapped FROM client_keys WHERE scope = 'C-1'").fetchone()

    with pytest.raises(PermissionDenied):
        await messenger.erase_client(clerk, "C-1")
    eraser = Actor("dpo", permissions={Permission.ERASE})
    assert await messenger.erase_client(eraser, "C-1") == (email.id,)

    with pytest.raises(MessageNotFound):
        await messenger.get(email.id)
    assert (await messenger.history(C1)).total == 0
    assert (await messenger.history(LinkedEntity.order("O-7"))).total == 0
    assert await messenger.ports.repository.find_by_address("jan.novak@example.com") == [other.id]
    assert not await messenger.ports.blobs.exists("C-1", email.attachments[0].sha256)
    with pytest.raises(KeyUnavailable):
        await messenger.ports.keys.current("C-1")
    (tombstone,) = await messenger.ports.repository.audit("client:C-1")
    assert tombstone.action is AuditAction.ERASED
    assert tombstone.actor_id == "dpo"
    assert (await messenger.get(sms.id)).text == sms.text
    assert (await messenger.get(other.id)).subject == "jiný"
    await messenger.aclose()

    assert wrapped not in (store_dir / "keys.sqlite").read_bytes()
    # A backup taken before the erasure cannot be opened any more: the key is gone.
    restored = tmp_path / "restored"
    restored.mkdir()
    for name in ("keys.sqlite",):
        (restored / name).write_bytes((store_dir / name).read_bytes())
    (restored / "messages.sqlite").write_bytes(copy.read_bytes())
    from_backup = await _reopen(restored)
    try:
        with pytest.raises(KeyUnavailable):
            await from_backup.get(email.id)
        with pytest.raises(KeyUnavailable):  # a page holding it fails as a whole
            await from_backup.ports.repository.get_many([other.id, email.id])
        assert (await from_backup.get(other.id)).subject == "jiný"
    finally:
        await from_backup.aclose()


async def test_a_50_mb_attachment_is_streamed_not_held_in_memory(clerk, tmp_path, clock):
    import tracemalloc

    from contos_messaging import Limits, MessengerSettings
    from contos_messaging.testing import RecordingEmailTransport

    # Over the default limits (25 MiB of attachments as base64; 25 MiB per e-mail): raised.
    settings = MessengerSettings(
        company_sender="ContOS <info@contos.example.com>",
        limits=Limits(attachments_bytes=80 * 1024 * 1024),
    )
    messenger = await AsyncMessenger.open(
        tmp_path / "store", master_key=MASTER_KEY, settings=settings, clock=clock,
        email_transport=RecordingEmailTransport(max_message_size=None),
    )  # fmt: skip

    path = tmp_path / "archiv.zip"
    block = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB, incompressible enough
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        for i in range(50):
            chunk = bytes([i]) + block[1:]
            fh.write(chunk)
            digest.update(chunk)
    attachment = Attachment.from_path(path)
    tracemalloc.start()
    try:
        await messenger.compose_email(
            clerk,
            to="a@example.com",
            subject="archiv",
            text="t",
            links=[C1],
            attachments=[attachment],
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 1024 * 1024
    (stored,) = (await messenger.history(C1)).items[0].attachments
    read = hashlib.sha256()
    async for chunk in messenger.ports.blobs.read_chunks("C-1", stored.sha256):
        read.update(chunk)
    assert read.hexdigest() == digest.hexdigest() == attachment.sha256
    await messenger.aclose()


async def test_gc_removes_orphaned_attachments_only(messenger, clerk):
    from datetime import timedelta

    composed = await messenger.compose_email(
        clerk, to="a@example.com", subject="s", text="t", links=[C1],
        attachments=[Attachment.from_bytes("kept.pdf", b"kept")],
    )  # fmt: skip
    (kept,) = composed.attachments
    await messenger.ports.blobs.put("C-1", "0" * 64, b"orphan left by an interrupted compose")
    assert (await messenger.gc()).removed_objects == 0  # too young: may belong to a compose
    report = await messenger.gc(grace=timedelta(0))
    assert report.removed_objects == 1
    assert not await messenger.ports.blobs.exists("C-1", "0" * 64)
    assert await messenger.ports.blobs.get("C-1", kept.sha256) == b"kept"


async def test_a_store_from_a_newer_version_is_refused(messenger, store_dir):
    from contos_messaging import StorageError

    await messenger.aclose()
    with sqlite3.connect(store_dir / "messages.sqlite") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageError, match="newer than this library"):
        await _reopen(store_dir)


async def test_compaction_reclaims_deleted_objects_and_keeps_the_rest(tmp_path):
    import os

    from contos_messaging.adapters.filestore import EncryptedFileStore
    from contos_messaging.adapters.sqlite import SQLiteKeyStore

    keys = await SQLiteKeyStore.open(tmp_path / "keys.sqlite", bytes(range(32)))
    store = await EncryptedFileStore.open(tmp_path / "blobs", keys=keys, segment_limit=8192)
    try:
        payloads = {f"k{i}": os.urandom(3000) for i in range(20)}
        for key, data in payloads.items():
            await store.put("C-1", key, data)
        segments = list((tmp_path / "blobs" / "segments").glob("*.seg"))
        assert len(segments) > 3  # many objects share each segment; no file per object
        size_before = sum(p.stat().st_size for p in segments)
        for i in range(15):
            await store.delete("C-1", f"k{i}")
        freed = await store.compact()
        size_after = sum(p.stat().st_size for p in (tmp_path / "blobs" / "segments").glob("*.seg"))
        assert freed > 30_000
        assert size_before - size_after == freed
        for i in range(15, 20):
            assert await store.get("C-1", f"k{i}") == payloads[f"k{i}"]
        assert (await store.verify()).ok
    finally:
        await store.aclose()
        await keys.aclose()


async def test_page_reads_see_each_commit_and_never_wait_for_a_write_in_progress(messenger, clerk):
    import asyncio
    import threading

    repository = messenger.ports.repository
    first = await messenger.compose_email(clerk, to="eva@example.com", subject="Před", text="T",
                                          links=[C2])  # fmt: skip
    assert (await messenger.get(first.id)).subject == "Před"
    edited = await messenger.edit(clerk, first.id, subject="Po")
    assert (await repository.get_many([first.id]))[0].subject == "Po"  # the edit's commit

    # A write transaction held open on the database thread: page reads go on meanwhile.
    holding, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE messages SET attempts = attempts WHERE 0")
        holding.set()
        release.wait(10)

    writer = asyncio.ensure_future(repository._db.transact(hold))
    await asyncio.get_running_loop().run_in_executor(None, holding.wait, 10)
    try:
        (read,) = await asyncio.wait_for(repository.get_many([first.id]), 2)
        assert read.version == edited.version
    finally:
        release.set()
        await writer
