"""Key material of the SQLite key store: the master key from the caller or the environment,
wrapping keys with AES-GCM under associated data that names what each one is, and the check
of a master key against a key file before anything opens it for writing."""

from __future__ import annotations

import base64
import binascii
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contos_messaging.errors import ConfigurationError

__all__ = [
    "CHECK_PLAINTEXT",
    "ENV_MASTER_KEY",
    "ENV_MASTER_KEY_FILE",
    "aad",
    "bridge_aad",
    "check_before_opening",
    "check_legacy_master",
    "load_master_key",
    "store_aad",
    "unwrap",
    "wrap",
]

ENV_MASTER_KEY = "CONTOS_MESSAGING_MASTER_KEY"
ENV_MASTER_KEY_FILE = "CONTOS_MESSAGING_MASTER_KEY_FILE"
CHECK_PLAINTEXT = b"contos-messaging master key check v1"  # (stores before store keys)


def _decode_key(value: bytes | str, source: str) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decoder(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    raise ConfigurationError(f"the master key from {source} must be 32 bytes or their base64 text")


def load_master_key(
    master_key: bytes | str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    what: str = "the master_key argument",
) -> bytes:
    """Return the 32-byte master key: the argument, else the environment variable
    ``CONTOS_MESSAGING_MASTER_KEY``, else the file named by ``CONTOS_MESSAGING_MASTER_KEY_FILE``
    (``what`` names the argument in the error for a key that is not 32 bytes).
    """
    env = os.environ if environ is None else environ
    if master_key is not None:
        return _decode_key(master_key, what)
    if env.get(ENV_MASTER_KEY):
        return _decode_key(env[ENV_MASTER_KEY], ENV_MASTER_KEY)
    if env.get(ENV_MASTER_KEY_FILE):
        path = Path(env[ENV_MASTER_KEY_FILE])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the master key file {path}: {exc}") from exc
        return _decode_key(data if len(data) == 32 else data.strip(), str(path))
    raise ConfigurationError(
        "no master key: pass master_key=, or set "
        f"{ENV_MASTER_KEY} (base64 of 32 random bytes) or {ENV_MASTER_KEY_FILE}; make one with "
        'python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"'
    )


def wrap(wrapping: AESGCM, key: bytes, associated: bytes) -> bytes:
    """``key`` sealed under ``wrapping`` (a random nonce, then the ciphertext and tag)."""
    nonce = os.urandom(12)
    return nonce + wrapping.encrypt(nonce, key, associated)


def unwrap(wrapping: AESGCM, wrapped: bytes, associated: bytes) -> bytes:
    """The key sealed by :func:`wrap`; ``InvalidTag`` when it does not open."""
    return wrapping.decrypt(wrapped[:12], wrapped[12:], associated)


def aad(scope: str, key_id: str) -> bytes:
    """The associated data of a client key: its scope and id (no key opens as another)."""
    return b"client-key\x00" + scope.encode("utf-8") + b"\x00" + key_id.encode("ascii")


def store_aad(generation: int) -> bytes:
    """The associated data of a store key under the master key."""
    return b"store-key\x00" + str(generation).encode("ascii")


def bridge_aad(generation: int) -> bytes:
    """The associated data of a store key under the one before it (a rotation's bridge)."""
    return b"store-key-bridge\x00" + str(generation).encode("ascii")


def check_legacy_master(conn: sqlite3.Connection, master: AESGCM, path: Path) -> None:
    """A key file from before store keys: ConfigurationError unless ``master`` opens its check
    value (none: a new file, nothing to check)."""
    row = conn.execute("SELECT value FROM meta WHERE name = 'check'").fetchone()
    if row is None:
        return
    try:
        ok = unwrap(master, row[0], b"check") == CHECK_PLAINTEXT
    except (InvalidTag, ValueError):
        ok = False
    if not ok:
        raise ConfigurationError(
            f"the master key does not open the key store {path}; nothing was changed"
        )


def check_before_opening(path: Path, master: AESGCM) -> None:
    """Refuse a wrong master key before the file is opened for writing (which may migrate
    its schema): read-only, what the file holds now."""
    if not path.exists():
        return
    # Without a write-ahead log everything is in the file: read it as it is, creating no
    # -wal or -shm file beside it.
    wal = path.with_name(path.name + "-wal").exists()
    mode = "?mode=ro" if wal else "?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + mode, uri=True)
    except sqlite3.Error:
        return  # (the full open reports what is wrong with the file)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        row = None
        if "store_keys" in tables:
            row = conn.execute(
                "SELECT generation, under_master FROM store_keys ORDER BY generation DESC LIMIT 1"
            ).fetchone()
        if row is not None:
            generation, wrapped = row
            try:
                unwrap(master, wrapped or b"", store_aad(generation))
            except (InvalidTag, ValueError):
                raise ConfigurationError(
                    f"the master key does not open the key store {path} (after a"
                    " master key rotation, only the new key opens it); nothing was changed"
                ) from None
        elif "meta" in tables:
            check_legacy_master(conn, master, path)
    except sqlite3.Error:
        return
    finally:
        conn.close()
