"""Master key rotation with the store open (issue 15, item 4).

Tried as an operator would, and as an attacker who kept the old master key:

* this process goes on reading and writing through the rotation; afterwards the old master key
  opens nothing, the new one opens everything;
* a second handle on the key file (another process: its own connection and caches) opened with
  the old key keeps reading keys it never cached, and writes keys the new master key opens,
  until the rotation is finished; after that it is refused in plain words;
* the old master key, with a copy of the key file from before the rotation and one from after
  it was finished, unwraps nothing in the later copy;
* a key that does not unwrap stops the rotation before anything changed;
* a key file from before store keys existed (client keys wrapped under the master key itself)
  is moved under a store key on open, each key unchanged.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contos_messaging import (
    Actor,
    AsyncMessenger,
    ConfigurationError,
    InvalidArgument,
    KeyUnavailable,
    LinkedEntity,
    PermissionDenied,
    StorageError,
    UsageError,
)
from contos_messaging.adapters.sqlite import SQLiteKeyStore, load_master_key
from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.adapters.sqlite.wrapping import CHECK_PLAINTEXT
from contos_messaging.domain.actor import Permission
from contos_messaging.testing import RecordingEmailTransport
from tests.integration.conftest import MASTER_KEY, OTHER_KEY

OLD, NEW = load_master_key(MASTER_KEY), load_master_key(OTHER_KEY)
KEEPER = Actor("keeper", permissions={Permission.MANAGE_KEYS})
SENDER = "info@contos.example.com"


async def _open(store: Path, key: str) -> AsyncMessenger:
    return await AsyncMessenger.open(
        store, master_key=key, company_sender=SENDER, email_transport=RecordingEmailTransport()
    )


def _blobs(keys_file: Path) -> list[bytes]:
    """Every BLOB value of every table of the key file (a copy read with sqlite3)."""
    found: list[bytes] = []
    with sqlite3.connect(keys_file) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                found += [value for value in row if isinstance(value, bytes)]
    db.close()
    return found


def _aads(keys_file: Path) -> list[bytes]:
    """Every associated-data string the key file's wraps may use."""
    with sqlite3.connect(keys_file) as db:
        pairs = db.execute("SELECT scope, key_id FROM client_keys").fetchall()
        generations = [row[0] for row in db.execute("SELECT generation FROM store_keys")]
    db.close()
    aads = [b"check"]
    aads += [b"client-key\x00" + s.encode() + b"\x00" + k.encode() for s, k in pairs]
    for generation in range(max(generations, default=0) + 2):
        aads += [b"store-key\x00%d" % generation, b"store-key-bridge\x00%d" % generation]
    return aads


def _opens(key: bytes, blob: bytes, aads: list[bytes]) -> bytes | None:
    for aad in aads:
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
        except (InvalidTag, ValueError):
            continue
    return None


def _unwrappable(keys: list[bytes], keys_file: Path) -> list[bytes]:
    """What the given keys unwrap in the key file, following what they unwrap in turn."""
    aads, blobs, known, found = _aads(keys_file), _blobs(keys_file), list(keys), []
    progress = True
    while progress:
        progress = False
        for blob in blobs:
            for key in known:
                opened = _opens(key, blob, aads)
                if opened is not None and opened not in found:
                    found.append(opened)
                    if len(opened) == 32:
                        known.append(opened)
                    progress = True
    return found


async def _key_file_of_0_4(path: Path, client_keys: dict[tuple[str, str], bytes]) -> None:
    """A key file as 0.4 wrote it, under OLD: its first two migrations, a check value sealed
    with the master key, and each client key wrapped under the master key itself."""
    from contos_messaging.adapters.sqlite import keys as module

    old_schema = SQLiteWorker(path, migrations=module._MIGRATIONS[:2], name="keys")
    await old_schema.start()
    await old_schema.close()
    master = AESGCM(OLD)

    def wrap(key: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + master.encrypt(nonce, key, aad)

    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO meta VALUES ('check', ?)", (wrap(CHECK_PLAINTEXT, b"check"),))
        for (scope, key_id), key in client_keys.items():
            aad = b"client-key\x00" + scope.encode() + b"\x00" + key_id.encode()
            db.execute(
                "INSERT INTO client_keys VALUES (?, ?, ?, 0)", (scope, key_id, wrap(key, aad))
            )
            db.execute("INSERT INTO current_keys VALUES (?, ?)", (scope, key_id))
    db.close()


async def test_rotation_with_the_store_open_keeps_working_and_locks_the_old_key_out(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    messenger = await _open(store, MASTER_KEY)
    try:
        before = [
            await messenger.compose_email(
                Actor.system(),
                to=f"c{n}@example.com",
                subject=f"Před {n}",
                text="obsah",
                links=[LinkedEntity.client(f"C-{n}")],
            )
            for n in (1, 2)
        ]
        with pytest.raises(PermissionDenied):
            await messenger.rotate_master_key(Actor("clerk"), OTHER_KEY)
        with pytest.raises(ConfigurationError, match="32 bytes"):
            await messenger.rotate_master_key(KEEPER, "not a key")
        with pytest.raises(ConfigurationError, match="the one"):
            await messenger.rotate_master_key(KEEPER, MASTER_KEY)
        assert await messenger.rotate_master_key(KEEPER, OTHER_KEY) == 3  # two + blind index
        after = await messenger.compose_email(
            Actor.system(), to="c3@example.com", subject="Po rotaci", text="nový klient",
            links=[LinkedEntity.client("C-3")],
        )  # fmt: skip
        assert [(await messenger.get(m.id)).subject for m in before] == ["Před 1", "Před 2"]
        await messenger.wait_indexed()
        assert [hit.message.id for hit in await messenger.search("rotaci")] == [after.id]
        with pytest.raises(ConfigurationError, match="rotation"):
            await SQLiteKeyStore.open(store / "keys.sqlite", OLD)
        assert await messenger.finish_master_key_rotation(KEEPER) == 1
    finally:
        await messenger.aclose()

    with pytest.raises(ConfigurationError):
        await _open(store, MASTER_KEY)
    reopened = await _open(store, OTHER_KEY)
    try:
        subjects = [(await reopened.get(m.id)).subject for m in (*before, after)]
        assert subjects == ["Před 1", "Před 2", "Po rotaci"]
        assert len(await reopened.search("obsah")) == 2  # the index's key came through too
    finally:
        await reopened.aclose()


async def test_a_process_on_the_old_key_follows_the_rotation_until_it_is_finished(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.sqlite"
    stale = await SQLiteKeyStore.open(path, OLD)  # a process nobody restarted yet
    asleep = await SQLiteKeyStore.open(path, OLD)  # another, idle until the rotation is over
    rotator = await SQLiteKeyStore.open(path, OLD)
    try:
        cached_id, cached = await stale.current("C-1")
        asleep_id, asleep_key = await asleep.current("C-1")
        unseen_id, unseen = await rotator.current("C-2")
        assert await rotator.rotate_master(NEW) == 3

        assert await stale.get("C-2", unseen_id) == unseen  # over the bridge
        written_id, written = await stale.current("C-4")  # a new client, by the old process
        fresh = await SQLiteKeyStore.open(path, NEW)
        try:
            assert await fresh.get("C-4", written_id) == written
            assert await fresh.get("C-1", cached_id) == cached
        finally:
            await fresh.aclose()

        assert await rotator.finish_master_rotation() == 1
        later_id, later = await rotator.current("C-5")
        assert await rotator.get("C-5", later_id) == later
        # Finishing replaced the store key the bridge exposed: both processes on the old master
        # key, the one that crossed the bridge too, use what they hold in memory and no more.
        assert await stale.get("C-1", cached_id) == cached
        assert await asleep.get("C-1", asleep_id) == asleep_key == cached
        for keys in (stale, asleep):
            for attempt in (keys.get("C-5", later_id), keys.current("C-6")):
                with pytest.raises(KeyUnavailable, match="new one") as caught:
                    await attempt
                assert "rotated" in caught.value.reason
    finally:
        for keys in (stale, asleep, rotator):
            await keys.aclose()


async def test_the_old_master_key_unwraps_nothing_in_a_copy_taken_after_the_rotation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.sqlite"
    keys = await SQLiteKeyStore.open(path, OLD)
    try:
        client_keys = [(await keys.current(f"C-{n}"))[1] for n in range(3)]
        await keys.aclose()
        shutil.copy(path, tmp_path / "before.sqlite")  # the attacker's old copy
        keys = await SQLiteKeyStore.open(path, OLD)
        assert _unwrappable([OLD], tmp_path / "before.sqlite")  # (the check is not blind)

        await keys.rotate_master(NEW)
        await keys.aclose()
        shutil.copy(path, tmp_path / "bridged.sqlite")
        keys = await SQLiteKeyStore.open(path, NEW)
        await keys.finish_master_rotation()
        later = (await keys.current("C-9"))[1]
    finally:
        await keys.aclose()

    old_store_keys = [k for k in _unwrappable([OLD], tmp_path / "before.sqlite") if len(k) == 32]
    assert set(client_keys) <= set(old_store_keys)  # the old copy was open to the old key
    assert _unwrappable([OLD], path) == []
    assert _unwrappable([OLD], tmp_path / "bridged.sqlite") == []
    # With what the old copy gave, the copy taken before the rotation was finished opens (the
    # bridge, docs/operations.md); the file after it was finished gives nothing.
    assert set(client_keys) <= set(_unwrappable(old_store_keys, tmp_path / "bridged.sqlite"))
    assert _unwrappable(old_store_keys, path) == []
    assert later in _unwrappable([NEW], path)
    assert not any(key in blob for blob in _blobs(path) for key in (*client_keys, later))
    # Nor is any wrap of the old copy left anywhere in the file's bytes (free pages included).
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("keys.sqlite*"))
    assert [blob for blob in _blobs(tmp_path / "before.sqlite") if blob in raw] == []


async def test_a_key_that_does_not_unwrap_stops_the_rotation_before_anything_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.sqlite"
    keys = await SQLiteKeyStore.open(path, OLD)
    good_id, good = await keys.current("C-1")
    bad_id, _ = await keys.current("C-2")
    await keys.aclose()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE client_keys SET wrapped = ? WHERE scope = 'C-2'", (os.urandom(60),))
    db.close()
    snapshot = sorted(_blobs(path))

    keys = await SQLiteKeyStore.open(path, OLD)
    try:
        with pytest.raises(KeyUnavailable, match="corrupted"):
            await keys.rotate_master(NEW)
        assert await keys.get("C-1", good_id) == good
    finally:
        await keys.aclose()
    assert sorted(_blobs(path)) == snapshot
    with pytest.raises(ConfigurationError):
        await SQLiteKeyStore.open(path, NEW)
    assert bad_id == "k1"


async def test_a_key_file_from_before_store_keys_moves_under_one_on_open(tmp_path: Path) -> None:
    """The layout of 0.4: the master key wrapped every client key itself, and a check value
    told a wrong master key apart."""
    path, client_key = tmp_path / "keys.sqlite", os.urandom(32)
    await _key_file_of_0_4(path, {("C-1", "k1"): client_key})

    with pytest.raises(ConfigurationError):
        await SQLiteKeyStore.open(path, NEW)
    keys = await SQLiteKeyStore.open(path, OLD)
    try:
        assert await keys.current("C-1") == ("k1", client_key)
    finally:
        await keys.aclose()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT DISTINCT generation FROM client_keys").fetchall() == [(1,)]
        assert db.execute("SELECT count(*) FROM meta WHERE name = 'check'").fetchone() == (0,)
    db.close()
    reopened = await SQLiteKeyStore.open(path, OLD)
    try:
        assert await reopened.get("C-1", "k1") == client_key
    finally:
        await reopened.aclose()


# -- what an adversarial review found (each failed before the fix) ---------------------------


def _backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _raw(directory: Path, name: str = "keys.sqlite") -> bytes:
    """The bytes of the key file and of its write-ahead log and shared memory."""
    return b"".join(p.read_bytes() for p in sorted(directory.glob(name + "*")))


async def test_a_reader_holding_the_log_open_gets_a_clear_error_and_nothing_is_left_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup tool reading keys.sqlite kept the WAL from being emptied: the old wraps stayed
    in it, and the old master key alone opened every key, while rotate and finish reported
    success."""
    monkeypatch.setattr(SQLiteKeyStore, "CHECKPOINT_WAIT_MS", 0)
    path = tmp_path / "keys.sqlite"
    keys = await SQLiteKeyStore.open(path, OLD)
    try:
        for n in range(3):
            await keys.current(f"C-{n}")
        _backup(path, tmp_path / "before.sqlite")
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM client_keys").fetchall()
        with pytest.raises(StorageError, match="finish_master_key_rotation"):
            await keys.rotate_master(NEW)
        with pytest.raises(StorageError, match="finish_master_key_rotation"):
            await keys.finish_master_rotation()
        later = (await keys.current("C-9"))[1]
        assert any(blob in _raw(tmp_path) for blob in _blobs(tmp_path / "before.sqlite"))
        reader.rollback()
        reader.close()
        assert await keys.finish_master_rotation() == 0  # (finished; now the log is emptied)
        assert (tmp_path / "keys.sqlite-wal").stat().st_size == 0
    finally:
        await keys.aclose()
    assert [blob for blob in _blobs(tmp_path / "before.sqlite") if blob in _raw(tmp_path)] == []
    assert _unwrappable([OLD], path) == []
    assert later in _unwrappable([NEW], path)


async def test_an_erasure_under_a_reader_is_flushed_out_as_soon_as_the_reader_lets_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SQLiteKeyStore, "CHECKPOINT_WAIT_MS", 0)
    path = tmp_path / "keys.sqlite"
    keys = await SQLiteKeyStore.open(path, OLD)
    try:
        await keys.current("C-1")
        await keys.current("C-2")
        with sqlite3.connect(path) as db:
            (wrapped,) = db.execute(
                "SELECT wrapped FROM client_keys WHERE scope = 'C-1'"
            ).fetchone()
        db.close()
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM client_keys").fetchall()
        await keys.destroy("C-1")  # (done, and says in the log why the WAL is not empty yet)
        with pytest.raises(KeyUnavailable, match="erased"):
            await keys.current("C-1")
        reader.rollback()
        reader.close()
        await keys.current("C-2")  # the next use empties the log
        assert wrapped not in _raw(tmp_path)
        assert (tmp_path / "keys.sqlite-wal").stat().st_size == 0
    finally:
        await keys.aclose()


async def test_finishing_replaces_the_store_key_a_copy_taken_meanwhile_exposed(
    tmp_path: Path,
) -> None:
    """A key backup taken between rotate and finish, with an older one and the old master key,
    opened every key made after the rotation was finished."""
    path = tmp_path / "keys.sqlite"
    keys = await SQLiteKeyStore.open(path, OLD)
    try:
        for n in range(3):
            await keys.current(f"C-{n}")
        _backup(path, tmp_path / "before.sqlite")
        await keys.rotate_master(NEW)
        _backup(path, tmp_path / "window.sqlite")
        assert await keys.finish_master_rotation() == 1
        made_after = [(await keys.current(f"C-1{n}"))[1] for n in range(3)]
    finally:
        await keys.aclose()
    held = _unwrappable([OLD], tmp_path / "before.sqlite")
    held += _unwrappable([k for k in held if len(k) == 32], tmp_path / "window.sqlite")
    assert len(held) > 3  # (the window copy did give the attacker the bridged store key)
    opened = _unwrappable([k for k in held if len(k) == 32], path)
    assert [key for key in made_after if key in opened] == []
    assert set(made_after) <= set(_unwrappable([NEW], path))


async def test_of_two_rotations_at_once_one_wins_and_the_other_changes_nothing(
    tmp_path: Path,
) -> None:
    """Both reported success, and the first one's key silently stopped opening the store."""
    path = tmp_path / "keys.sqlite"
    first, second = os.urandom(32), os.urandom(32)
    keys = await SQLiteKeyStore.open(path, OLD)
    other = await SQLiteKeyStore.open(path, OLD)  # (another process)
    try:
        key_id, key = await keys.current("C-1")
        outcomes = await asyncio.gather(
            keys.rotate_master(first), keys.rotate_master(second), return_exceptions=True
        )
        assert outcomes[0] == 2
        assert isinstance(outcomes[1], ConfigurationError)
        assert "another master key rotation" in str(outcomes[1])
        with pytest.raises(ConfigurationError, match="another master key rotation"):
            await other.rotate_master(second)
        assert await keys.rotate_master(second) == 2  # (the winner's handle knows its key)
        assert await keys.get("C-1", key_id) == key
        assert await keys.rotate_master(first) == 2
    finally:
        await keys.aclose()
        await other.aclose()
    with pytest.raises(ConfigurationError):
        await SQLiteKeyStore.open(path, second)
    reopened = await SQLiteKeyStore.open(path, first)
    try:
        assert await reopened.get("C-1", key_id) == key
    finally:
        await reopened.aclose()


async def test_the_facade_asks_for_permission_before_it_looks_at_the_key_and_never_shows_it(
    tmp_path: Path,
) -> None:
    messenger = await _open(tmp_path / "store", MASTER_KEY)
    secret = bytearray(b"SECRET-KEY-BYTES-0123456789abcde")
    try:
        for bad in ("not a key", OTHER_KEY):
            with pytest.raises(PermissionDenied):
                await messenger.rotate_master_key(Actor("clerk"), bad)
        with pytest.raises(ConfigurationError, match="the new_key argument"):
            await messenger.rotate_master_key(KEEPER, "not a key")
        with pytest.raises(InvalidArgument) as caught:
            await messenger.rotate_master_key(KEEPER, secret)  # type: ignore[arg-type]
        assert "SECRET" not in str(caught.value)
        assert "not shown" in str(caught.value)
    finally:
        await messenger.aclose()


async def test_a_wrong_key_leaves_an_older_key_file_as_it_was(tmp_path: Path) -> None:
    """The schema was migrated before the key was checked, so the older version could no
    longer open its own file after someone tried a wrong key."""
    path = tmp_path / "keys.sqlite"
    await _key_file_of_0_4(path, {})
    with pytest.raises(ConfigurationError, match="nothing was changed"):
        await SQLiteKeyStore.open(path, NEW)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
    db.close()


async def test_a_closed_key_store_hands_out_nothing_and_opens_no_connection(tmp_path: Path) -> None:
    """A closed store gave a key from its cache and reopened its read-only connection."""
    keys = await SQLiteKeyStore.open(tmp_path / "keys.sqlite", OLD)
    key_id, _key = await keys.current("C-1")
    await keys.aclose()
    await keys.aclose()  # (twice: harmless)
    for attempt in (
        keys.current("C-1"), keys.get("C-1", key_id), keys.get_many([("C-1", key_id)]),
        keys.erased_since(0), keys.blind_index_key(), keys.rotate_master(NEW),
    ):  # fmt: skip
        with pytest.raises(UsageError, match="closed"):
            await attempt
    assert keys._reader is None
