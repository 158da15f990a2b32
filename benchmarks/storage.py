"""Storage benchmark: store then read back templated Czech e-mails.

Ours: SQLite repository (WAL, synchronous=FULL, one durable commit per batch of 500) with the
content sealed (zstd with the default dictionary, AES-256-GCM under per-client keys).
Baseline: one plain JSON file per message, no compression, no encryption, no fsync.

Each side runs in its own subprocess so peak RSS is measured separately; each repeats the
store-and-read-back ``--trials`` times in fresh directories and reports the median rates (this
2-core VM's CPU speed varies by +-30 % from second to second). Prints messages/s for write and
read, bytes on disk per message and peak RSS, the ratios, then one JSON line.

    python benchmarks/storage.py [--quick] [--messages N] [--trials N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BATCH = 500
SYNTHETIC_MAIL = Path(__file__).resolve().parents[1] / "scripts" / "synthetic_mail.py"


def _corpus(count: int) -> list[tuple[str, str, str, str]]:
    # The generator is a build-time script, not part of the installed library.
    synthetic_emails = runpy.run_path(str(SYNTHETIC_MAIL))["synthetic_emails"]
    # A different seed from the one the default dictionary was trained on.
    mails = synthetic_emails(count, seed=7)
    return [(f"C-{i % 2000}", f"O-{i}", subject, html) for i, (subject, html) in enumerate(mails)]


def _disk_usage(root: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in root.rglob("*") if p.is_file())


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(count: int, root: Path) -> dict[str, float]:
    from contos_messaging import EmailRecipients, LinkedEntity, Message, parse_address
    from contos_messaging.adapters.sqlite import SQLiteKeyStore, SQLiteMessageRepository

    corpus = _corpus(count)
    sender = parse_address("ContOS s.r.o. <info@contos.example.com>")
    start_time = datetime(2026, 11, 1, tzinfo=UTC)
    messages = [
        Message.email(
            sender=sender,
            recipients=EmailRecipients.parse(f"Klient {i} <klient{i}@example.com>"),
            subject=subject,
            html=html,
            links=[LinkedEntity.client(client), LinkedEntity.order(order)],
            created_by="bench",
            created_at=start_time + timedelta(milliseconds=i),
        )
        for i, (client, order, subject, html) in enumerate(corpus)
    ]

    async def main() -> dict[str, float]:
        keys = await SQLiteKeyStore.open(root / "keys.sqlite", os.urandom(32))
        repo = await SQLiteMessageRepository.open(root / "messages.sqlite", keys=keys)
        for client in {m.key_scope for m in messages}:
            await keys.current(client)  # keys exist before timing, as for known clients
        t0 = time.perf_counter()
        for start in range(0, count, BATCH):
            await repo.add(messages[start : start + BATCH])
        write_s = time.perf_counter() - t0
        await repo.checkpoint()
        ids = [m.id for m in messages]
        t0 = time.perf_counter()
        read = 0
        for start in range(0, count, BATCH):
            read += len(await repo.get_many(ids[start : start + BATCH]))
        read_s = time.perf_counter() - t0
        assert read == count
        sample = await repo.get(ids[count // 2])
        assert sample.html == messages[count // 2].html
        await repo.aclose()
        await keys.aclose()
        return {"write_s": write_s, "read_s": read_s}

    timings = asyncio.run(main())
    return {
        "write_per_s": count / timings["write_s"],
        "read_per_s": count / timings["read_s"],
        "bytes_per_message": _disk_usage(root) / count,
        "peak_rss_mb": _peak_rss_mb(),
    }


def run_baseline(count: int, root: Path) -> dict[str, float]:
    corpus = _corpus(count)
    docs = [
        {
            "id": i,
            "client": c,
            "order": o,
            "subject": s,
            "html": h,
            "to": f"Klient {i} <klient{i}@example.com>",
        }
        for i, (c, o, s, h) in enumerate(corpus)
    ]
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for doc in docs:
        (root / f"{doc['id']}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for doc in docs:
        json.loads((root / f"{doc['id']}.json").read_text("utf-8"))
    read_s = time.perf_counter() - t0
    return {
        "write_per_s": count / write_s,
        "read_per_s": count / read_s,
        "bytes_per_message": _disk_usage(root) / count,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _trials(kind: str, count: int, trials: int, root: Path) -> dict[str, float]:
    runner = run_ours if kind == "ours" else run_baseline
    results = [runner(count, root / f"trial-{i}") for i in range(trials)]
    summary = {
        key: statistics.median(r[key] for r in results)
        for key in ("write_per_s", "read_per_s", "bytes_per_message")
    }
    summary["peak_rss_mb"] = max(r["peak_rss_mb"] for r in results)
    return summary


def _child(kind: str, count: int, trials: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as d:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--messages",
            str(count),
            "--trials",
            str(trials),
            "--dir",
            d,
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 messages instead of 20,000")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--trials", type=int, default=None, help="repetitions (default 3, quick 1)")
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    count = args.messages or (5_000 if args.quick else 20_000)
    trials = args.trials or (1 if args.quick else 3)
    if args.child:
        print(json.dumps(_trials(args.child, count, trials, Path(args.dir))))
        return
    baseline = _child("baseline", count, trials)
    ours = _child("ours", count, trials)
    print(
        f"storage benchmark, {count} templated Czech e-mails, batches of {BATCH},"
        f" median of {trials} trial(s)"
    )
    print(f"{'':28}{'baseline':>14}{'ours':>14}{'ours/base':>11}")
    for key, label in [
        ("write_per_s", "write msg/s"),
        ("read_per_s", "read msg/s"),
        ("bytes_per_message", "bytes on disk / message"),
        ("peak_rss_mb", "peak RSS MB"),
    ]:
        ratio = ours[key] / baseline[key] if baseline[key] else float("nan")
        print(f"{label:28}{baseline[key]:>14,.1f}{ours[key]:>14,.1f}{ratio:>11.2f}")
    targets = {
        "write_per_s": ours["write_per_s"] >= 20_000,
        "read_per_s": ours["read_per_s"] >= 20_000,
        "bytes_per_message": ours["bytes_per_message"] <= 400,
        "peak_rss_mb": ours["peak_rss_mb"] < 300,
    }
    if count >= 20_000:
        print("targets met:", ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in targets.items()))
    else:
        print("targets apply to 20,000 messages (the fixed 64 KiB dictionary and the key store")
        print("weigh more per message in a small run); run without --quick to check them")
    print(
        json.dumps(
            {
                "benchmark": "storage",
                "messages": count,
                "trials": trials,
                "baseline": baseline,
                "ours": ours,
                "targets_met": targets if count >= 20_000 else None,
            }
        )
    )


if __name__ == "__main__":
    main()
