"""Side by side with django-post_office: the same e-mail job, the same machine, the same sink.

The job: (a) create 5,000 templated Czech e-mails without attachments (one template, the
variables of each client and statement), (b) 1,000 more with one 100 KB PDF each (one fake
PDF made once), (c) send everything queued, (d) find all e-mails of one client, (e) find the
e-mails whose body holds a word. (d) and (e) are 20 queries each (other clients, other words:
each word matches 1 in 8 messages), timed one by one; their median is compared.

Peer: django-post_office on SQLite with its documented API and defaults
(``benchmarks/_peer_post_office.py``: ``mail.send_many`` with an ``EmailTemplate``,
``mail.send(..., attachments=...)``, ``send_queued_mail_until_done``, the ORM; post_office has
no search, so (e) is ``message__icontains`` OR ``html_message__icontains``, and (d) filters on
the ``X-Client-Id`` header each e-mail was given, post_office having no link to a client).
Ours: the embedded store (``benchmarks/_peer_ours.py``: ``generate_bulk``, ``send_due``,
``history``, ``search``); (a) to (c) are timed until the search index holds everything.

Each side runs in a process of its own (its peak RSS its own: the process and its children,
sampled, and the process's ``VmHWM``), post_office first. The SMTP sink is one aiosmtpd server
from ``contos_messaging.testing.smtp`` over STARTTLS + AUTH with its own CA, in a third process
(``_smtp_sink.py``) so that it competes with neither side's GIL; it counts what each side
delivered. Prints the versions, for each step both times, the ratio (post_office / ours: above
1, ours is faster) and both peak RSS, then one JSON line holding every figure.

Not equal, and left so (each side as shipped): ours seals content per client, derives a text
part, sanitises the HTML and indexes everything, post_office stores plain rows and files;
post_office's SQLite runs in rollback-journal mode and commits each ``mail.send`` on its own,
ours is WAL with a commit per batch; Django's ``smtplib`` does not set ``TCP_NODELAY``
(asyncio, under ours, does); post_office sends over 5 threads, ours over 4 connections; (d) and
(e) are table scans for post_office (no index on a header or on the text; ``LIKE`` folds ASCII
case only and matches inside words, ours folds case and diacritics and matches word starts:
the words are chosen so that both find the same e-mails, and the hits are printed); ours'
RSS includes its two render worker processes (a sum of RSS: shared pages count twice).

    python benchmarks/peers.py [--quick | --smoke] [--messages N] [--attachments N]

``--quick``: 500 and 100 (well under a minute); ``--smoke``: 20 and 4, 4 queries (seconds,
for the test suite).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SINK = HERE / "_smtp_sink.py"
CHILDREN = {"post_office": HERE / "_peer_post_office.py", "ours": HERE / "_peer_ours.py"}
STEPS = [
    ("a_create_templated", "(a) create {messages:,} templated", "s"),
    ("b_create_with_pdf", "(b) create {attachments:,} with a 100 KB PDF", "s"),
    ("c_send_all", "(c) send all {total:,} queued", "s"),
    ("d_client_emails", "(d) one client's e-mails, median", "ms"),
    ("e_search_word", "(e) a word in the body, median", "ms"),
]
SCALES = {"full": (5_000, 1_000, 20), "quick": (500, 100, 20), "smoke": (20, 4, 4)}


class _Sink:
    """The SMTP server in a process of its own (``_smtp_sink.py``): its port and CA file, and
    how many messages it has accepted."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(SINK)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        port, ca_file = self._process.stdout.readline().split()
        self.port, self.ca_file = int(port), ca_file
        self.pid = self._process.pid

    def received(self) -> int:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write("count\n")
        self._process.stdin.flush()
        return int(self._process.stdout.readline())

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(30)


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "django": importlib.metadata.version("django"),
        "django_post_office": importlib.metadata.version("django-post_office"),
        "contos_messaging": importlib.metadata.version("contos_messaging"),
        "sqlite": __import__("sqlite3").sqlite_version,
    }


def _side(kind: str, sink: _Sink, messages: int, attachments: int, queries: int) -> dict[str, Any]:
    """Run one side in its own process; its JSON line, with what the sink counted from it."""
    before = sink.received()
    with tempfile.TemporaryDirectory(prefix=f"peers-{kind}-") as directory:
        command = [sys.executable, str(CHILDREN[kind]), "--dir", directory,
                   "--messages", str(messages), "--attachments", str(attachments),
                   "--queries", str(queries), "--port", str(sink.port),
                   "--ca-file", sink.ca_file, "--sink-pid", str(sink.pid)]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{CHILDREN[kind].name} failed with status {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["sink_received"] = sink.received() - before
    result["wall_s"] = wall
    return result


def _ratio(peer: float, ours: float) -> float:
    return peer / ours if ours > 0 else float("inf")


def _report(peer: dict[str, Any], ours: dict[str, Any], sizes: dict[str, int]) -> dict[str, Any]:
    """Print the table; the ratios (post_office / ours) by step."""
    print(f"{'step':44}{'post_office':>13}{'ours':>10}{'po/ours':>9}"
          f"{'RSS po MB':>11}{'RSS ours MB':>12}")  # fmt: skip
    ratios: dict[str, float] = {}
    for key, label, unit in STEPS:
        p, o = peer["steps"][key], ours["steps"][key]
        figure = "median_ms" if unit == "ms" else "seconds"
        ratios[key] = _ratio(p[figure], o[figure])
        print(f"{label.format(**sizes):44}{p[figure]:>11.2f}{unit:>2}{o[figure]:>8.2f}{unit:>2}"
              f"{ratios[key]:>9.2f}{p['peak_rss_mb']:>11.0f}{o['peak_rss_mb']:>12.0f}")  # fmt: skip
    extra = peer["steps"]["d_by_recipient"]
    print(f"{'    post_office (d) by recipient (to__contains)':44}"
          f"{extra['median_ms']:>11.2f}ms")  # fmt: skip
    returned = {k: ours["steps"][k]["returned_s"] for k, *_ in STEPS[:3]}
    print("ours (a)-(c) until the call returned (index still catching up): "
          + ", ".join(f"{k[0]} {v:.2f} s (po/ours {_ratio(peer['steps'][k]['seconds'], v):.2f})"
                      for k, v in returned.items()))  # fmt: skip
    for key in ("d_client_emails", "e_search_word"):
        p, o = peer["steps"][key], ours["steps"][key]
        print(f"{key}: hits per query post_office {p['mean_hits']:.1f}, ours {o['mean_hits']:.1f}"
              f" (rows read: {p['mean_shown']:.1f} / {o['mean_shown']:.1f})")  # fmt: skip
    sends = {"post_office": peer["steps"]["c_send_all"], "ours": ours["steps"]["c_send_all"]}
    print("(c) CPU used per second of sending (1.00: one core busy all along), the side's "
          "process / the sink's: " + ", ".join(f"{n} {c['cpu_s'] / c['seconds']:.2f} / "
          f"{c['sink_cpu_s'] / c['seconds']:.2f}" for n, c in sends.items()))  # fmt: skip
    for name, side in (("post_office", peer), ("ours", ours)):
        c = side["steps"]["c_send_all"]
        print(f"{name}: created {side['created']:,}, sent {c['sent']:,} (failed {c['failed']}),"
              f" the sink received {side['sink_received']:,}; own VmHWM "
              f"{side['vm_hwm_mb']:.0f} MB, set-up {side['setup_s']:.1f} s (untimed), "
              f"process wall {side['wall_s']:.1f} s")  # fmt: skip
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true", help="500 + 100 e-mails")
    scale.add_argument("--smoke", action="store_true", help="20 + 4 e-mails, 4 queries")
    parser.add_argument("--messages", type=int, default=None, help="templated e-mails")
    parser.add_argument("--attachments", type=int, default=None, help="e-mails with a PDF")
    args = parser.parse_args()
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    messages, attachments, queries = SCALES[name]
    messages = args.messages or messages
    attachments = args.attachments if args.attachments is not None else attachments
    versions = _versions()
    load = [os.getloadavg()[0]]
    sink = _Sink()
    try:
        peer = _side("post_office", sink, messages, attachments, queries)
        ours = _side("ours", sink, messages, attachments, queries)
    finally:
        sink.close()
    load.append(os.getloadavg()[0])
    sizes = {"messages": messages, "attachments": attachments, "total": messages + attachments}
    print(f"peers ({name}): django-post_office {versions['django_post_office']} on Django "
          f"{versions['django']} against contos_messaging {versions['contos_messaging']}, Python "
          f"{versions['python']}, SQLite {versions['sqlite']}")  # fmt: skip
    print(f"{messages:,} templated Czech e-mails + {attachments:,} with a 100 KB PDF, "
          f"{ours['clients']:,} clients; one SMTP sink over STARTTLS + AUTH (its own process); "
          f"{queries} queries each for (d) and (e)")  # fmt: skip
    ratios = _report(peer, ours, sizes)
    print(
        "ratio: post_office time / our time (above 1: ours is faster); RSS: peak of the "
        "side's process and its children during the step (sampled every 50 ms)"
    )
    print("load average (1 min) at the start and the end:", " / ".join(f"{x:.2f}" for x in load))
    print(json.dumps({"benchmark": "peers", "scale": name, **sizes, "queries": queries,
                      "versions": versions, "post_office": peer, "ours": ours,
                      "ratios": ratios, "load_average_1min": load}))  # fmt: skip


if __name__ == "__main__":
    main()
