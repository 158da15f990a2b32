"""SMS benchmark: composing and segmenting Czech SMS, storing them, and SMPP submit throughput.

(a) Compose and segment: 100,000 reminders from one Czech template, rendered in the library's
sandbox (jinja2's SandboxedEnvironment with the render budgets, the lone-surrogate refusal and
the Czech filters) and costed by ``analyse_sms`` under the ``transliterate`` policy (GSM-7 /
UCS-2, segments, extension characters). Two renderers, both measured:

- ``InProcessRenderer`` (the headline figure): the sandbox in this process, as the test
  messengers (``contos_messaging.testing``) and hosts that choose it render;
- ``ProcessRenderer``: what a messenger opened with the defaults renders with (``wire`` in
  bootstrap), so what a user's compose from a template costs: the same sandbox in bounded
  worker processes (a hard memory limit, a kill on timeout), the variables pickled to them and
  the texts back; the workers render in parallel only as far as the machine's cores are free.

Baseline in the same run: ``str.format`` of the same text and ``len(text) // 160 + 1`` segments
(it counts wrong whenever a text is UCS-2 or holds an extension character). Also stored and
indexed: ``generate_bulk`` of the SMS into an embedded store until the search index holds them
(the whole use case: context from linked records, rendering in the workers, sealing, storing,
indexing).

(b) SMPP: single-number SMS sent concurrently through ``SmppTransport`` to the local node SMSC
(``tests/peers/smpp``) with a window of 10, against the same transport with a window of 1 (one
submit at a time, each waiting for its answer). The SMSC adds a fixed 2 ms to every answer to
``submit_sm``, as a real SMSC's round trip would, and sends a receipt for each message.

    python benchmarks/sms.py [--quick]

The last line of output is one line of JSON holding every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # (the SMSC's runner lives in tests/integration/smpp_peer.py)

TEMPLATE = (
    "{{ client.last_name|salutation }}, Vaše objednávka č. {{ order.number }} za "
    "{{ order.total|money }} je připravena k vyzvednutí na pobočce {{ order.branch }} do "
    "{{ order.due|date_cz }}. {% if order.deposit %}Záloha {{ order.deposit|money }} byla "
    "uhrazena. {% endif %}Děkujeme, ContOS"
)
NAIVE = (
    "Vážený pane {last_name}, Vaše objednávka č. {number} za {total} Kč je připravena "
    "k vyzvednutí na pobočce {branch} do {due}. {deposit}Děkujeme, ContOS"
)
NAMES = ["Novák", "Svoboda", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák"]
BRANCHES = ["Praha 4 – Budějovická", "Brno, Cejl", "Ostrava {centrum}", "Plzeň", "Liberec"]
LATENCY_MS = 2
SENDERS = 20  # (concurrent sends, on both sides: only the window differs)


def _orders(count: int) -> list[dict[str, Any]]:
    return [
        {
            "client": {"last_name": NAMES[i % len(NAMES)]},
            "order": {
                "number": f"OBJ-2026-{i:06d}",
                "total": 1250 + i % 977 * 13.5,
                "branch": BRANCHES[i % len(BRANCHES)],
                "due": dt.date(2026, 12, 1 + i % 28),
                "deposit": 500 if i % 3 == 0 else 0,
            },
        }
        for i in range(count)
    ]


def run_naive(orders: list[dict[str, Any]]) -> tuple[dict[str, float], list[int]]:
    start = time.perf_counter()
    segments = []
    for values in orders:
        order = values["order"]
        text = NAIVE.format(
            last_name=values["client"]["last_name"], number=order["number"],
            total=order["total"], branch=order["branch"], due=order["due"].isoformat(),
            deposit=f"Záloha {order['deposit']} Kč byla uhrazena. " if order["deposit"] else "",
        )  # fmt: skip
        segments.append(len(text) // 160 + 1)
    elapsed = time.perf_counter() - start
    return {"per_s": len(orders) / elapsed, "seconds": elapsed}, segments


def run_compose(
    orders: list[dict[str, Any]], *, in_workers: bool = False
) -> tuple[dict[str, Any], list[int]]:
    from contos_messaging import Channel
    from contos_messaging.adapters.rendering import InProcessRenderer, ProcessRenderer
    from contos_messaging.domain.sms import analyse_sms
    from contos_messaging.domain.template import Template

    template = Template(name="pripominka", channel=Channel.SMS, text=TEMPLATE, version=1)

    async def main() -> tuple[float, float, list[Any], list[Any]]:
        renderer = ProcessRenderer() if in_workers else InProcessRenderer()
        try:
            # (compiled once, and the workers started, as in a running host)
            await renderer.render(template, orders[:256])
            texts: list[str] = []
            cpu = time.process_time()
            start = time.perf_counter()
            for at in range(0, len(orders), 1000):
                for result in await renderer.render(template, orders[at : at + 1000]):
                    assert not isinstance(result, Exception), result
                    texts.append(result.text or "")
            rendered = time.perf_counter()
            costs = [analyse_sms(text, "transliterate") for text in texts]
            analysed = time.perf_counter()
            cpu = time.process_time() - cpu
            originals = list(await renderer.render(template, orders[:1000]))
        finally:
            await renderer.aclose()
        return rendered - start, analysed - rendered, cpu, costs, originals

    render_s, analyse_s, cpu_s, costs, originals = asyncio.run(main())
    elapsed = render_s + analyse_s
    auto = [analyse_sms(r.text or "", "auto").segments for r in originals]
    figures = {
        "per_s": len(orders) / elapsed,
        "seconds": elapsed,
        "cpu_seconds_this_process": cpu_s,
        "cpu_share_this_process": cpu_s / elapsed,
        "render_per_s": len(orders) / render_s,
        "analyse_per_s": len(orders) / analyse_s,
        "segments": dict(sorted(Counter(c.segments for c in costs).items())),
        "encodings": dict(Counter(c.encoding for c in costs)),
        "sample": costs[0].text,
        "segments_without_transliteration_first_1000": sum(auto),
        "segments_with_transliteration_first_1000": sum(c.segments for c in costs[:1000]),
    }
    return figures, [c.segments for c in costs]


def run_stored(count: int) -> dict[str, float]:
    from contos_messaging import (
        Actor,
        AsyncMessenger,
        BulkTarget,
        Channel,
        Contact,
        LinkedEntity,
    )
    from contos_messaging.testing import InMemoryAddressBook, InMemoryContextProvider

    book, context = InMemoryAddressBook(), InMemoryContextProvider()
    targets = []
    for i, values in enumerate(_orders(count)):
        client, order = LinkedEntity.client(f"C-{i}"), LinkedEntity.order(f"O-{i}")
        context.add(client, values["client"])
        context.add(order, values["order"])
        book.add(client, Contact(values["client"]["last_name"], phone=f"+420601{i:06d}"))
        targets.append(BulkTarget(links=[client, order]))
    actor = Actor.system()

    async def main(root: Path) -> dict[str, float]:
        messenger = await AsyncMessenger.open(
            root, master_key=base64.b64encode(os.urandom(32)).decode(),
            company_sender="ContOS <info@contos.example.com>", address_book=book,
            context=context,
        )  # fmt: skip
        try:
            await messenger.templates.save(actor, "pripominka", channel=Channel.SMS, text=TEMPLATE)
            await messenger.templates.preview("pripominka", links=targets[0].links)
            for target in targets:
                await messenger.ports.keys.current(target.links[0].id)
            start = time.perf_counter()
            report = await messenger.generate_bulk(actor, "pripominka", targets)
            await messenger.wait_indexed()
            elapsed = time.perf_counter() - start
            assert len(report.created) == count, report.failures[:3]
        finally:
            await messenger.aclose()
        return {"per_s": count / elapsed, "seconds": elapsed, "messages": count}

    with tempfile.TemporaryDirectory(prefix="sms-bench-") as directory:
        return asyncio.run(main(Path(directory) / "store"))


def run_smpp(count: int) -> dict[str, Any]:
    from tests.integration.smpp_peer import PASSWORD, SYSTEM_ID, start_peer

    from contos_messaging import LinkedEntity
    from contos_messaging.adapters.smpp import SmppTransport
    from contos_messaging.domain.message import Message
    from contos_messaging.domain.phones import SmsRecipients, parse_phone_list

    messages = [
        Message.sms(
            sender="ContOS",
            recipients=SmsRecipients(parse_phone_list(f"+420602{i:06d}")),
            text=f"Vase objednavka OBJ-2026-{i:06d} je pripravena k vyzvednuti. ContOS",
            links=(LinkedEntity.client(f"C-{i}"),),
            created_by="bench",
            created_at=dt.datetime(2026, 12, 4, tzinfo=dt.UTC),
            message_id_domain="contos.example.com",
        )
        for i in range(count)
    ]

    async def one_side(port: int, window: int) -> dict[str, Any]:
        receipts = 0

        async def count_receipt(_receipt: Any) -> None:
            nonlocal receipts
            receipts += 1

        transport = SmppTransport(
            "127.0.0.1", port, system_id=SYSTEM_ID, password=PASSWORD, window=window
        )
        transport.set_receipt_handler(count_receipt)
        try:
            await transport.connect()
            queue = iter(messages)
            reports: list[Any] = []

            async def sender() -> None:  # (as the outbox's concurrent senders would)
                for message in queue:
                    reports.append(await transport.send(message))

            start = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(SENDERS)))
            elapsed = time.perf_counter() - start
        finally:
            await transport.aclose()
        accepted = sum(o.accepted for r in reports for o in r.recipients)
        assert accepted == count, accepted
        return {"per_s": count / elapsed, "seconds": elapsed, "window": window,
                "receipts_by_the_end": receipts}  # fmt: skip

    async def main() -> dict[str, Any]:
        async with start_peer(latency_ms=LATENCY_MS, quiet=True) as peer:
            baseline = await one_side(peer.port, 1)
            ours = await one_side(peer.port, 10)
            stats = await peer.stats()
        return {
            "baseline": baseline,
            "ours": ours,
            "peer_max_outstanding": stats["max_outstanding"],
        }

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (under a minute)")
    args = parser.parse_args()
    composed = 20_000 if args.quick else 100_000
    stored = 1_000 if args.quick else 10_000
    submits = 2_000 if args.quick else 5_000

    orders = _orders(composed)
    naive, naive_segments = run_naive(orders)
    compose, our_segments = run_compose(orders)
    workers, worker_segments = run_compose(orders, in_workers=True)
    assert worker_segments == our_segments
    wrong = sum(a != b for a, b in zip(naive_segments, our_segments, strict=True))
    store = run_stored(stored)
    smpp = run_smpp(submits)
    compose_ratio = compose["per_s"] / naive["per_s"]
    workers_ratio = workers["per_s"] / naive["per_s"]
    smpp_ratio = smpp["ours"]["per_s"] / smpp["baseline"]["per_s"]

    print(f"(a) compose and segment {composed:,} Czech SMS from one template")
    print(f"{'':34}{'baseline':>12}{'ours':>12}{'ours/base':>11}")
    print(f"{'SMS/s':34}{naive['per_s']:>12,.0f}{compose['per_s']:>12,.0f}{compose_ratio:>11.2f}")
    print(
        f"{'  rendered in worker processes':34}{'':>12}{workers['per_s']:>12,.0f}"
        f"{workers_ratio:>11.2f}"
    )
    print(f"    baseline: str.format + len // 160 (segments wrong for {wrong:,} of {composed:,})")
    print("    ours: sandboxed template, Czech filters, analyse_sms(transliterate):")
    print(
        f"    in this process (InProcessRenderer): render {compose['render_per_s']:,.0f}/s alone,"
        f" analyse_sms {compose['analyse_per_s']:,.0f}/s alone"
    )
    print(
        f"    in worker processes (ProcessRenderer, a messenger's default renderer): render"
        f" {workers['render_per_s']:,.0f}/s alone, {os.cpu_count()} cores on this machine"
    )
    print(
        f"    this process had a core for {compose['cpu_share_this_process']:.0%} of the"
        f" in-process run ({composed / compose['cpu_seconds_this_process']:,.0f} SMS per CPU"
        f" second; below 100% the machine was busy with other work)"
    )
    print(
        f"    segments {compose['segments']}, encodings {compose['encodings']}; the first 1,000"
        f" cost {compose['segments_with_transliteration_first_1000']:,} segments transliterated,"
        f" {compose['segments_without_transliteration_first_1000']:,} without"
    )
    print(f"    e.g. {compose['sample']!r}")
    print(
        f"{'stored and indexed (generate_bulk)':34}{'':>12}{store['per_s']:>12,.0f}"
        f"   ({stored:,} SMS, embedded store, until searchable)"
    )
    print(f"(b) SMPP submit_sm to the local node SMSC, {submits:,} SMS (1 segment each)")
    print(f"    the SMSC adds {LATENCY_MS} ms to every submit_sm answer (a real SMSC's round trip)")
    print(f"{'':34}{'window 1':>12}{'window 10':>12}{'ratio':>11}")
    print(
        f"{'SMS/s':34}{smpp['baseline']['per_s']:>12,.0f}{smpp['ours']['per_s']:>12,.0f}"
        f"{smpp_ratio:>11.2f}"
    )
    print(
        f"    {SENDERS} concurrent senders on both sides; most submits the SMSC saw waiting at"
        f" once: {smpp['peer_max_outstanding']}"
    )
    targets = {
        "compose_per_s_20000": compose["per_s"] >= 20_000,
        "compose_in_workers_per_s_20000": workers["per_s"] >= 20_000,
        "smpp_window_ratio_5": smpp_ratio >= 5,
    }
    print("targets met:", ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in targets.items()))
    print(
        json.dumps(
            {
                "benchmark": "sms",
                "quick": args.quick,
                "compose": {
                    "messages": composed,
                    "baseline": naive,
                    "ours": compose,
                    "ratio": compose_ratio,
                    "ours_in_worker_processes": workers,
                    "ratio_in_worker_processes": workers_ratio,
                    "baseline_segments_wrong": wrong,
                },
                "stored_and_indexed": store,
                "smpp": {
                    **smpp,
                    "messages": submits,
                    "ratio": smpp_ratio,
                    "peer_latency_ms": LATENCY_MS,
                },
                "targets_met": targets,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
