"""The store's compression dictionary on real files: a new store copies the shipped one, and a
store keeps opening with the dictionary it was written with, whatever the package ships now."""

from __future__ import annotations

import runpy
import sqlite3
from pathlib import Path

from contos_messaging import AsyncMessenger, LinkedEntity
from contos_messaging.adapters._shared.sealing import FLAG_DICT, parse_header
from contos_messaging.adapters.sqlite.schema import DEFAULT_DICTIONARY_ID, default_dictionary
from contos_messaging.domain.html import safe_html
from tests.integration.conftest import MASTER_KEY

SYNTHETIC_MAIL = Path(__file__).resolve().parents[2] / "scripts" / "synthetic_mail.py"
C1 = LinkedEntity.client("C-1")


def _rows(store_dir: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(store_dir / "messages.sqlite")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


async def _open(store_dir: Path) -> AsyncMessenger:
    return await AsyncMessenger.open(
        store_dir, master_key=MASTER_KEY, company_sender="info@contos.example.com"
    )


async def test_a_new_store_copies_the_shipped_dictionary_and_seals_with_it(
    messenger, store_dir, clerk
):
    subject, html = runpy.run_path(str(SYNTHETIC_MAIL))["synthetic_emails"](1, seed=3)[0]
    await messenger.compose_email(clerk, to="a@example.com", subject=subject, html=html, links=[C1])
    await messenger.aclose()
    assert _rows(store_dir, "SELECT id, data FROM dictionaries") == [
        (DEFAULT_DICTIONARY_ID, default_dictionary())
    ]
    [(content,)] = _rows(store_dir, "SELECT content FROM messages")
    header = parse_header("message", content)
    assert (header.flags & FLAG_DICT, header.dict_id) == (FLAG_DICT, DEFAULT_DICTIONARY_ID)


async def test_a_store_keeps_opening_with_the_dictionary_it_was_written_with(
    messenger, store_dir, clerk
):
    """A store whose dictionary 1 differs from the shipped file (an older or retrained one)."""
    synthetic = runpy.run_path(str(SYNTHETIC_MAIL))
    mails = synthetic["synthetic_emails"](600, seed=99)
    own = synthetic["train"]([html.encode() for _, html in mails], 16 * 1024)
    assert own != default_dictionary()
    await messenger.aclose()
    db = sqlite3.connect(store_dir / "messages.sqlite")
    with db:
        db.execute("UPDATE dictionaries SET data = ? WHERE id = ?", (own, DEFAULT_DICTIONARY_ID))
    db.close()

    written = await _open(store_dir)
    try:
        subject, html = mails[0]
        email = await written.compose_email(
            clerk, to="a@example.com", subject=subject, html=html, links=[C1]
        )
    finally:
        await written.aclose()
    reopened = await _open(store_dir)
    try:
        assert (await reopened.get(email.id)).html == safe_html(html)  # (as stored)
    finally:
        await reopened.aclose()
    assert _rows(store_dir, "SELECT id, data FROM dictionaries") == [(DEFAULT_DICTIONARY_ID, own)]
    [(content,)] = _rows(store_dir, "SELECT content FROM messages")
    assert parse_header("message", content).flags & FLAG_DICT
