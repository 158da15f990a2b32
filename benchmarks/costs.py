"""Where the time goes: the CPU cost of each stage of bulk generation and of a search page,
measured one by one on this machine, against the budget a throughput or latency target leaves.

(a) Bulk generation (the template and records of ``bulk_generate.py``): one ``generate_bulk``
run on the embedded store, with the CPU of its event-loop thread, of the process's other threads
(SQLite, the index's commits) and of the two render workers (started before it, read from
``/proc``); then each stage alone on the same
data: rendering in the sandbox, sanitising the HTML (nh3), the search document's text, the keyed
search document as a bulk run stages it (a token for every word, its word pairs left for the
background), Tantivy's add and commit of those documents, the word pairs built afterwards, and
sealing and storing the rows (with their audit entries) in a fresh store. The budget:
``cores / target`` CPU seconds a message (400 µs at 5,000 messages/s on 2 cores).

(b) A search page (the corpus of ``search.py``): for single-term searches, the index query (ids
and total), loading the page's 20 messages (SQLite, decryption, decoding) and their highlighted
snippets, each timed apart (p50 over the queries). The budget: the 2 ms p50 target.

Baseline in the same run, for scale: ``bulk_generate.py``'s (jinja2 render and
``email.message.EmailMessage``, no encryption, no index) timed on the same records.

    python benchmarks/costs.py [--quick]

The last line of output is one line of JSON holding every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bulk_generate
import search as search_benchmark

from contos_messaging import (
    Actor,
    AsyncMessenger,
    BulkTarget,
    Contact,
    LinkedEntity,
)
from contos_messaging.adapters.rendering import InProcessRenderer, ProcessRenderer
from contos_messaging.adapters.rendering.process import BATCH
from contos_messaging.adapters.tantivy import TantivySearchIndex
from contos_messaging.domain.html import safe_html
from contos_messaging.domain.message import Channel, Message
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.template import Template
from contos_messaging.domain.text import Highlighter, search_terms
from contos_messaging.ports import SearchDocument
from contos_messaging.services.indexing import search_document
from contos_messaging.testing import InMemoryAddressBook, InMemoryContextProvider

SENDER = "ContOS <info@contos.example.com>"
BULK_TARGET = 5_000  # messages/s
SEARCH_TARGET_MS = 2.0  # p50


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _workers_cpu(renderer: object) -> float:
    """CPU seconds the render workers of a ``ProcessRenderer`` have used so far (read from
    ``/proc``: the workers still run)."""
    assert isinstance(renderer, ProcessRenderer)
    total = 0.0
    for worker in renderer._workers:
        process = worker._process
        if process is not None and process.returncode is None:
            stat = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _per_message_us(seconds: float, count: int) -> float:
    return seconds / count * 1e6


def _variables(count: int) -> list[dict[str, Any]]:
    return [
        {"client": client, "statement": statement, "company": {"name": "ContOS"}}
        for client, statement, _name, _address in bulk_generate._records(count)
    ]


def _template() -> Template:
    return Template(
        name="statement", channel=Channel.EMAIL, subject=bulk_generate.SUBJECT,
        html=bulk_generate.HTML,
    )  # fmt: skip


async def _bulk_run(root: Path, count: int) -> tuple[dict[str, float], list[Message]]:
    """One generate_bulk run as ``bulk_generate.py`` makes it; the CPU of each part."""
    book, context = InMemoryAddressBook(), InMemoryContextProvider()
    targets = []
    for i, (client, statement, name, address) in enumerate(bulk_generate._records(count)):
        c, s = LinkedEntity.client(f"C-{i}"), LinkedEntity.statement(f"V-{i}")
        context.add(c, client)
        context.add(s, statement)
        book.add(c, Contact(name, email=address))
        targets.append(BulkTarget(links=[c, s]))
    actor = Actor.system()
    messenger = await AsyncMessenger.open(
        root, master_key=_key(), company_sender=SENDER, address_book=book, context=context
    )
    await messenger.templates.save(actor, "statement", subject=bulk_generate.SUBJECT,
                                   html=bulk_generate.HTML)  # fmt: skip
    await messenger.templates.preview("statement", links=targets[0].links)
    for target in targets:
        await messenger.ports.keys.current(target.links[0].id)
    renderer = messenger.ports.renderer
    await renderer.render(_template(), _variables(BATCH + 1))  # (both workers started)
    workers = _workers_cpu(renderer)
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    report = await messenger.generate_bulk(actor, "statement", targets)
    await messenger.wait_indexed()
    wall = time.perf_counter() - wall
    thread = time.thread_time() - thread
    process = time.process_time() - process
    workers = _workers_cpu(renderer) - workers
    messages = await messenger.ports.repository.get_many(list(report.created))
    await messenger.aclose()
    return {
        "per_s": count / wall,
        "event_loop_us": _per_message_us(thread, count),
        "other_threads_us": _per_message_us(process - thread, count),
        "workers_us": _per_message_us(workers, count),
    }, messages


def _cpu_us(fn: Any, items: list[Any]) -> float:
    """CPU µs per item of ``fn(item)`` on this thread (after one warm-up call)."""
    fn(items[0])
    start = time.thread_time()
    for item in items:
        fn(item)
    return _per_message_us(time.thread_time() - start, len(items))


async def _index_costs(root: Path, messages: list[Message]) -> dict[str, float]:
    """As a bulk run indexes: keyed documents without their word pairs (completed in the
    background after the run), then Tantivy's add and commit of them (commits of 2,000); and
    what completing the pairs later costs to build (with pairs less without)."""
    index = await TantivySearchIndex.open(root, key=os.urandom(32))
    docs = [search_document(m) for m in messages]
    built = []

    def document(doc: SearchDocument) -> None:
        built.append(index._document(doc, pairs=False))

    document_us = _cpu_us(document, docs)  # (the template's lines known after the first)
    built = built[1:]  # (the warm-up's)
    # The pairs built later, for documents whose lines the vocabulary knows by then.
    without_warm_us = _cpu_us(partial(index._document, pairs=False), docs)
    pairs_us = _cpu_us(index._document, docs) - without_warm_us
    writer = index._writer_now()
    start = time.process_time()
    for at in range(0, len(built), 2000):
        for tantivy_document in built[at : at + 2000]:
            writer.add_document(tantivy_document)
        index._commit()
    spent = time.process_time() - start
    await index.aclose()
    return {
        "search_document_us": _cpu_us(search_document, messages),
        "keyed_document_us": document_us,
        "tantivy_add_commit_us": _per_message_us(spent, len(built)),
        "word_pairs_later_us": pairs_us,
    }


async def _store_costs(root: Path, messages: list[Message]) -> float:
    """Sealing and storing the rows (one transaction per 500, as a bulk run) in a new store,
    all threads' CPU per message (the repository alone: nothing is indexed)."""
    messenger = await AsyncMessenger.open(root, master_key=_key(), company_sender=SENDER)
    for message in messages:  # (the clients' keys exist, as in the run)
        await messenger.ports.keys.current(message.key_scope)
    start = time.process_time()
    for at in range(0, len(messages), 500):
        await messenger.ports.repository.add(messages[at : at + 500])
    spent = time.process_time() - start
    await messenger.aclose()
    return _per_message_us(spent, len(messages))


def _baseline_us(variables: list[dict[str, Any]], root: Path) -> float:
    """``bulk_generate.py``'s baseline per message, CPU of this thread."""
    import jinja2

    from contos_messaging.adapters.rendering.filters import FILTERS

    env = jinja2.Environment(autoescape=True)
    env.filters.update(FILTERS)
    subject, html = env.from_string(bulk_generate.SUBJECT), env.from_string(bulk_generate.HTML)
    root.mkdir(parents=True, exist_ok=True)
    start = time.thread_time()
    for i, values in enumerate(variables):
        msg = EmailMessage()
        msg["From"] = SENDER
        msg["To"] = f"Klient {i} <klient{i}@example.com>"
        msg["Subject"] = subject.render(values)
        msg.set_content(html.render(values), subtype="html")
        (root / f"{i}.eml").write_bytes(msg.as_bytes())
    return _per_message_us(time.thread_time() - start, len(variables))


async def bulk(count: int, cores: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="costs-bulk-") as directory:
        root = Path(directory)
        run, messages = await _bulk_run(root / "run", count)
        variables = _variables(count)
        template = _template()
        plain = InProcessRenderer()
        compiled = plain._compiled(template)
        rendered = await plain.render(template, variables)
        htmls = [r.html or "" for r in rendered]

        def render_one(values: dict[str, Any]) -> None:
            for part in compiled.values():
                part.render(values)

        costs: dict[str, float] = {
            "render_us": _cpu_us(render_one, variables),
            "sanitise_us": _cpu_us(safe_html, htmls),
        }
        costs |= await _index_costs(root / "index", messages)
        costs["seal_and_store_us"] = await _store_costs(root / "store", messages)
        costs["baseline_us"] = _baseline_us(variables, root / "baseline")
    total_us = run["event_loop_us"] + run["other_threads_us"] + run["workers_us"]
    required = costs["render_us"] + costs["sanitise_us"] + costs["keyed_document_us"]
    required += costs["tantivy_add_commit_us"]
    budget_us = cores * 1e6 / BULK_TARGET
    return {
        "messages": count,
        "run": {**run, "total_cpu_us": total_us},
        "stages": costs,
        "render_sanitise_index_us": required,
        "budget_us": budget_us,
        "ceiling_per_s": cores * 1e6 / total_us,
    }


async def search(count: int, queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="costs-search-") as directory:
        root, key = Path(directory), _key()
        messages = search_benchmark._messages(count)
        messenger = await AsyncMessenger.open(root, master_key=key, company_sender=SENDER)
        for at in range(0, len(messages), 1000):
            await messenger.ports.repository.add(messages[at : at + 1000])
        index = messenger.ports.search
        assert isinstance(index, TantivySearchIndex)
        docs = [search_document(m) for m in messages]
        for at in range(0, len(docs), 5000):
            await index.add(docs[at : at + 5000])
        messages.clear()
        del docs
        gc.collect()
        await messenger.aclose()  # (settled: Tantivy's merges done, as search.py measures)
        messenger = await AsyncMessenger.open(root, master_key=key, company_sender=SENDER)
        index = messenger.ports.search
        assert isinstance(index, TantivySearchIndex)
        rng = random.Random(3)
        words = [rng.choice(search_benchmark.WORDS) for _ in range(queries)]
        phases: dict[str, list[float]] = {"index": [], "load": [], "snippets": [], "page": []}
        hits_per_page = []
        for word in words[:20]:
            await messenger.search(word)  # warm up (patterns compiled, pages cached)
        for word in words:
            t0 = time.perf_counter()
            hits = await index.search(word, MessageQuery())
            t1 = time.perf_counter()
            loaded = await messenger.ports.repository.get_many(hits.ids)
            t2 = time.perf_counter()
            highlight = Highlighter(search_terms(word))
            for message in loaded:
                highlight.html(message.html or "")
            t3 = time.perf_counter()
            await messenger.search(word)
            t4 = time.perf_counter()
            for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                phases[name].append(seconds * 1e3)
            hits_per_page.append(len(loaded))
        await messenger.aclose()
    p50 = {name: statistics.median(values) for name, values in phases.items()}
    hits = statistics.mean(hits_per_page)
    return {
        "messages": count,
        "queries": queries,
        "p50_ms": p50,
        "hits_per_page": hits,
        "per_hit_us": {
            "load": p50["load"] / hits * 1e3,
            "snippet": p50["snippets"] / hits * 1e3,
        },
        "budget_ms": SEARCH_TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages and queries")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    count = 2_000 if args.quick else 10_000
    corpus, queries = (5_000, 100) if args.quick else (20_000, 300)
    bulk_costs = asyncio.run(bulk(count, cores))
    search_costs = asyncio.run(search(corpus, queries))
    run, stages = bulk_costs["run"], bulk_costs["stages"]
    print(f"(a) bulk generation, {count:,} messages, CPU µs a message ({cores} cores)")
    print(f"    the run: {run['per_s']:,.0f} msg/s; event loop {run['event_loop_us']:.0f}, other "
          f"threads {run['other_threads_us']:.0f}, render workers {run['workers_us']:.0f}: "
          f"{run['total_cpu_us']:.0f} in all, a ceiling of "
          f"{bulk_costs['ceiling_per_s']:,.0f} msg/s on {cores} cores")  # fmt: skip
    for name, label in [
        ("render_us", "render in the sandbox (subject, HTML)"),
        ("sanitise_us", "sanitise the HTML (nh3)"),
        ("search_document_us", "the search document's text (tags stripped)"),
        ("keyed_document_us", "keyed search document (a token for every word)"),
        ("tantivy_add_commit_us", "Tantivy add and commit"),
        ("word_pairs_later_us", "its word pairs, built after the run (not in it)"),
        ("seal_and_store_us", "seal and store the rows with audit entries"),
        ("baseline_us", "baseline: jinja2 + EmailMessage + a file"),
    ]:
        print(f"    {label:52}{stages[name]:>8.0f}")
    required, budget = bulk_costs["render_sanitise_index_us"], bulk_costs["budget_us"]
    print(f"    render + sanitise + keyed document + Tantivy: {required:.0f} µs against a "
          f"budget of {budget:.0f} µs for {BULK_TARGET:,} msg/s on {cores} cores")  # fmt: skip
    p50, per_hit = search_costs["p50_ms"], search_costs["per_hit_us"]
    print(f"(b) a search page, {corpus:,} messages, {queries} single-term searches, p50 ms")
    print(f"    index {p50['index']:.2f}, load {search_costs['hits_per_page']:.0f} hits "
          f"{p50['load']:.2f} ({per_hit['load']:.0f} µs a hit), snippets {p50['snippets']:.2f} "
          f"({per_hit['snippet']:.0f} µs a hit); the whole search {p50['page']:.2f} against "
          f"{SEARCH_TARGET_MS} ms")  # fmt: skip
    print(json.dumps({"benchmark": "costs", "quick": args.quick, "cores": cores,
                      "bulk": bulk_costs, "search": search_costs}))  # fmt: skip


if __name__ == "__main__":
    main()
