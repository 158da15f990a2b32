"""The shipped default zstd dictionary: what the training script produces, and it still compresses.

The dictionary is trained once by ``scripts/train_dictionary.py`` and shipped as package data
(``adapters/sqlite/default.zdict``); nothing is trained when a store opens.
"""

from __future__ import annotations

import runpy
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import zstandard

from contos_messaging import EmailRecipients, LinkedEntity, Message, parse_address
from contos_messaging.adapters._shared.sealing import FLAG_DICT, Sealer, parse_header
from contos_messaging.adapters.sqlite.codec import encode_content
from contos_messaging.adapters.sqlite.schema import DEFAULT_DICTIONARY_ID, default_dictionary

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
# The zstd id inside the dictionary trained from the script's samples (frames do not carry it;
# the seal header carries the store's id, DEFAULT_DICTIONARY_ID).
ZSTD_DICT_ID = 1713085405
# docs/performance.md, storage: "sealed content ~225" bytes per templated Czech e-mail.
DOCUMENTED_SEALED_BYTES = 225


def test_the_shipped_dictionary_is_what_the_training_script_produces():
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "train_dictionary.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date (65536 bytes)" in result.stdout


def test_the_shipped_file_is_a_full_zstd_dictionary_under_the_store_id():
    data = default_dictionary()
    loaded = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
    assert (len(data), loaded.dict_id()) == (64 * 1024, ZSTD_DICT_ID)
    assert DEFAULT_DICTIONARY_ID == 1  # written into the header of every sealed object


def test_generated_czech_mail_seals_as_small_as_docs_performance_says():
    """Mail from another seed than the training samples (as benchmarks/storage.py uses)."""
    mails = runpy.run_path(str(SCRIPTS / "synthetic_mail.py"))["synthetic_emails"](300, seed=7)
    sealer = Sealer({DEFAULT_DICTIONARY_ID: default_dictionary()}, default_dict_id=1)
    sender = parse_address("ContOS s.r.o. <info@contos.example.com>")
    raw, sealed = [], []
    for i, (subject, html) in enumerate(mails):
        message = Message.email(
            sender=sender,
            recipients=EmailRecipients.parse(f"Klient {i} <klient{i}@example.com>"),
            subject=subject,
            html=html,
            links=[LinkedEntity.client(f"C-{i % 2000}"), LinkedEntity.order(f"O-{i}")],
            created_by="bench",
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
        content = encode_content(message)
        blob = sealer.seal(content, object_id=f"m{i}", scope="C-1", key_id="k1", key=bytes(32))
        assert parse_header(f"m{i}", blob).flags & FLAG_DICT
        raw.append(len(content))
        sealed.append(len(blob))
    assert statistics.mean(sealed) <= DOCUMENTED_SEALED_BYTES
    assert statistics.mean(raw) / statistics.mean(sealed) > 15
