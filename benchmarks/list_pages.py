"""The communication list at depth: a page of 50 in each order, by offset (the baseline: the
database reads past every row before the page) and by keyset cursor (ours), on the SQLite
repository with 100,000 messages (a third of them scheduled, a tenth sent).

    python benchmarks/list_pages.py [--quick] [--messages N]

Prints per order the median time of the first page, of the page at 90% depth by offset and by
cursor, and the ratio offset / cursor; the last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contos_messaging.adapters.sqlite import SQLiteKeyStore, SQLiteMessageRepository
from contos_messaging.domain.integrity import Update
from contos_messaging.domain.message import MessageStatus
from contos_messaging.domain.query import MessageQuery
from contos_messaging.testing.contracts._messages import email

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ORDERS = ("newest", "oldest", "scheduled", "-scheduled", "sent", "-sent", "status")
PAGE = 50


async def _fill(repo: SQLiteMessageRepository, count: int) -> None:
    batch = []
    for i in range(count):
        scheduled = T0 + timedelta(seconds=(i * 7919) % count) if i % 3 == 1 else None
        batch.append(email(T0 + timedelta(seconds=i), scheduled_at=scheduled))
        if len(batch) == 2000:
            await repo.add(batch)
            batch = []
    if batch:
        await repo.add(batch)
    drafts = await repo.list_messages(MessageQuery(status="draft", limit=1000))
    for message in drafts.items[: count // 10]:
        sending = message.transition(MessageStatus.SENDING, at=T0)
        await repo.update(Update(sending, message))
        sent_at = T0 + timedelta(seconds=hash(message.id) % count)
        await repo.update(Update(sending.transition(MessageStatus.SENT, at=sent_at), sending))


async def _timed(repo: SQLiteMessageRepository, query: MessageQuery, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await repo.list_messages(query)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _cursor_at(repo: SQLiteMessageRepository, order: str, depth: int) -> str | None:
    """The cursor of the page at ``depth``, walked to with pages of 1,000."""
    query = MessageQuery(order=order, limit=1000)  # type: ignore[arg-type]
    page = await repo.list_messages(query)
    while page.next_after is not None and page.offset + len(page) < depth:
        page = await repo.list_messages(MessageQuery.of(query, after=page.next_after))
    return page.next_after


async def run(count: int, runs: int) -> dict[str, object]:
    directory = Path(tempfile.mkdtemp(prefix="list-pages-"))
    keys = await SQLiteKeyStore.open(directory / "keys.sqlite", bytes(range(32)))
    repo = await SQLiteMessageRepository.open(directory / "messages.sqlite", keys=keys)
    try:
        started = time.perf_counter()
        await _fill(repo, count)
        print(f"{count:,} messages stored in {time.perf_counter() - started:.1f} s")
        depth = count * 9 // 10
        figures: dict[str, dict[str, float]] = {}
        for order in ORDERS:
            first = await _timed(repo, MessageQuery(order=order, limit=PAGE), runs)  # type: ignore[arg-type]
            by_offset = await _timed(
                repo,
                MessageQuery(order=order, limit=PAGE, offset=depth),
                runs,  # type: ignore[arg-type]
            )
            cursor = await _cursor_at(repo, order, depth)
            by_cursor = await _timed(
                repo,
                MessageQuery(order=order, limit=PAGE, after=cursor),
                runs,  # type: ignore[arg-type]
            )
            figures[order] = {
                "first_page_ms": round(first, 2),
                "offset_page_ms": round(by_offset, 2),
                "keyset_page_ms": round(by_cursor, 2),
                "offset_over_keyset": round(by_offset / by_cursor, 1),
            }
            print(
                f"{order:>11}: first {first:6.1f} ms   at {depth:,} by offset {by_offset:6.1f} ms"
                f"   by cursor {by_cursor:6.1f} ms   ({by_offset / by_cursor:.1f}x)"
            )
        return {"benchmark": "list_pages", "messages": count, "depth": depth, "orders": figures}
    finally:
        await repo.aclose()
        await keys.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 messages, fewer runs")
    parser.add_argument("--messages", type=int, default=None)
    args = parser.parse_args()
    count = args.messages or (20_000 if args.quick else 100_000)
    result = asyncio.run(run(count, 5 if args.quick else 15))
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
