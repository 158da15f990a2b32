"""A second messenger on the same store in one process (issue 16, item 8): it opens without a
traceback in the log, says once in plain words that another messenger writes the search
index, the store itself is shared (each sees the other's messages), and its changes reach the
index through the one that writes it."""

from __future__ import annotations

import logging

from contos_messaging import Actor, AsyncMessenger, LinkedEntity
from tests.integration.conftest import MASTER_KEY

SENDER = "info@contos.example.com"
C1 = LinkedEntity.client("C-1")


async def test_a_second_messenger_logs_one_plain_warning_and_no_traceback(tmp_path, caplog):
    first = await AsyncMessenger.open(tmp_path, master_key=MASTER_KEY, company_sender=SENDER)
    try:
        one = await first.compose_email(
            Actor.system(), to="a@example.com", subject="První", text="t", links=[C1]
        )
        await first.wait_indexed()
        with caplog.at_level(logging.INFO, logger="contos_messaging"):
            second = await AsyncMessenger.open(
                tmp_path, master_key=MASTER_KEY, company_sender=SENDER
            )
            try:
                two = await second.compose_email(
                    Actor.system(), to="a@example.com", subject="Druhá", text="t", links=[C1]
                )
                await second.compose_email(
                    Actor.system(), to="a@example.com", subject="Třetí", text="t", links=[C1]
                )
                await second.wait_indexed()
                assert {m.id for m in await second.history(C1)} >= {one.id, two.id}
                assert (await second.search("prvni")).total == 1  # (it reads the index)
            finally:
                await second.aclose()
        assert [r for r in caplog.records if r.exc_info] == []
        assert [r.levelno for r in caplog.records if r.levelno >= logging.ERROR] == []
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "written by another messenger" in warnings[0]
        assert "picked up by that one within seconds" in warnings[0]
        await first.wait_indexed()  # the one writing the index picks up the other's changes
        assert (await first.search("druha")).total == 1
        assert (await first.search("treti")).total == 1
    finally:
        await first.aclose()
