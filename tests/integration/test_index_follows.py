"""Changes made by a messenger that does not write the search index reach it (the gap a second
messenger showed, issue 16): a second process composes while this one writes the index; the
changes are recorded in the store, and this process indexes them (every few seconds, and in
``wait_indexed``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from contos_messaging import Actor, AsyncMessenger, LinkedEntity
from tests.integration.conftest import MASTER_KEY, worker_env

WORKER = Path(__file__).with_name("_store_worker.py")
ROOT = Path(__file__).resolve().parents[2]


async def test_what_another_process_composed_is_searchable_here(tmp_path):
    store = tmp_path / "store"
    messenger = await AsyncMessenger.open(
        store, master_key=MASTER_KEY, company_sender="info@contos.example.com"
    )
    try:
        await messenger.compose_email(
            Actor.system(), to="a@example.com", subject="zdejsi", text="t",
            links=[LinkedEntity.client("C-1")],
        )  # fmt: skip
        await messenger.wait_indexed()  # (this process now writes the index)
        done = subprocess.run(
            [sys.executable, str(WORKER), "compose", str(store), "3", "vzdalena"],
            capture_output=True, text=True, env=worker_env(), cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("committed") == 3
        assert "Traceback" not in done.stderr
        assert len(await messenger.ports.repository.unindexed()) == 3  # recorded for us
        await messenger.wait_indexed()
        found = await messenger.search("vzdalena")
        assert found.total == 3
        assert sorted(hit.message.subject for hit in found) == [
            "vzdalena 0", "vzdalena 1", "vzdalena 2",
        ]  # fmt: skip
        assert await messenger.ports.repository.unindexed() == []
    finally:
        await messenger.aclose()
