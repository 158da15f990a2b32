"""Identifiers: time-ordered UUIDv7 strings and RFC 5322 Message-IDs."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contos_messaging.errors import InvalidInput

__all__ = ["MAX_IDEMPOTENCY_KEY_CHARS", "check_idempotency_keys", "new_message_id_header", "uuid7"]

MAX_IDEMPOTENCY_KEY_CHARS = 200

_lock = threading.Lock()
_last_ms = -1
_counter = 0
_MAX_STEP_BACK_MS = 10_000


def uuid7(at: datetime) -> str:
    """Return a UUIDv7 (RFC 9562) string whose timestamp is ``at``.

    Ids made in the same millisecond stay ordered: the 12 ``rand_a`` bits hold a counter that
    starts at a random value below 2048 each millisecond; a clock stepping back by up to 10 s
    does not break the order either.
    """
    global _last_ms, _counter
    ms = int(at.timestamp() * 1000)
    with _lock:
        # Within a small step back (the same millisecond, a clock adjusted by a few seconds) ids
        # keep increasing; a clock set far back (a test clock, a restored VM) starts afresh.
        if _last_ms - _MAX_STEP_BACK_MS <= ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                ms += 1
                _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        _last_ms = ms
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return str(uuid.UUID(int=value))


def new_message_id_header(message_id: str, domain: str) -> str:
    """Return the RFC 5322 ``Message-ID`` for a message: ``<id@domain>``.

    ``domain`` must be ASCII (an IDN domain is passed in its punycode form).
    """
    return f"<{message_id}@{domain}>"


def check_idempotency_keys(items: Sequence[Any], keys: Sequence[str | None]) -> list[str | None]:
    """One idempotency key (or None) per item: empty means none at all. A key is text of
    1-200 characters (UTF-8 encodable); anything else raises :class:`InvalidInput`."""
    if not keys:
        return [None] * len(items)
    if isinstance(keys, str) or len(keys) != len(items):
        raise InvalidInput(f"give one idempotency key per message ({len(items)})")
    for key in keys:
        if key is None:
            continue
        if not isinstance(key, str) or not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
            raise InvalidInput(
                f"an idempotency key must be text of 1-{MAX_IDEMPOTENCY_KEY_CHARS} characters,"
                f" got {key!r:.60}"
            )
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput("an idempotency key must not hold lone surrogates") from None
    return list(keys)
