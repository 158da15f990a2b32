"""The contos_messaging side of benchmarks/peers.py, in a process of its own; prints one line
of JSON when done.

    python benchmarks/_peer_ours.py --dir D --messages N --attachments M \
        --queries Q --port P --ca-file F --sink-pid S

The embedded store (``AsyncMessenger.open``: SQLite, sealed content, per-client keys, the
Tantivy index) with the defaults, the host's records in the in-memory address book and context
provider, an ``SMTPTransport`` over STARTTLS + AUTH trusting the sink's CA (``ca_file``):

(a) ``generate_bulk`` of the template for every target (links: the client and its statement;
    the recipient from the client's address-book entry), then ``wait_indexed()``
(b) the same with one 100 KB PDF per target (``BulkTarget(attachments=...)``)
(c) ``send_due()`` until nothing is due, then ``wait_indexed()`` (statuses are indexed too)
(d) ``history(client)``: the count and the first page (50, newest first), decrypted
(e) ``search(word)``: the count and the first page (20), decrypted, with snippets

Steps (a) to (c) report the time until the call returned and the time until the index holds
everything (the figure compared: searchable, as post_office's rows are once written). Set up
untimed, as in a running host: the render workers started and the keys of these clients
made (``setup_s`` says how long that took).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import _peer_common as common

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Attachment,
    BulkTarget,
    Contact,
    LinkedEntity,
)
from contos_messaging.adapters.smtp import SMTPTransport
from contos_messaging.testing import InMemoryAddressBook, InMemoryContextProvider
from contos_messaging.testing.smtp import LocalSMTPServer


async def _job(args: argparse.Namespace, steps: common.Steps) -> dict[str, Any]:
    clients = common.clients_for(args.messages)
    total = args.messages + args.attachments
    book, context = InMemoryAddressBook(), InMemoryContextProvider()
    client_links = [LinkedEntity.client(common.client_id(n)) for n in range(clients)]
    for n, link in enumerate(client_links):
        name, addr = common.address(n)
        book.add(link, Contact(name, email=addr))
        context.add(link, common.client_record(n))
    pdf = common.fake_pdf()
    templated, with_pdf = [], []
    for i in range(total):
        statement = LinkedEntity.statement(f"V-{i}")
        context.add(statement, common.statement_record(i))
        links = [client_links[i % clients], statement]
        if i < args.messages:
            templated.append(BulkTarget(links=links))
        else:
            files = [Attachment.from_bytes(f"vyuctovani-{i}.pdf", pdf, "application/pdf")]
            with_pdf.append(BulkTarget(links=links, attachments=files))
    transport = SMTPTransport(
        "127.0.0.1", args.port, security="starttls", username=LocalSMTPServer.USERNAME,
        password=LocalSMTPServer.PASSWORD, ca_file=args.ca_file,
    )  # fmt: skip
    actor = Actor.system()
    start = time.perf_counter()
    messenger = await AsyncMessenger.open(
        Path(args.dir) / "store",
        master_key=base64.b64encode(os.urandom(32)).decode(),
        company_sender=common.SENDER,
        address_book=book,
        context=context,
        email_transport=transport,
    )
    await messenger.templates.save(actor, "statement", subject=common.SUBJECT, html=common.HTML)
    for _ in range(2):  # both render workers up (they start on their first request, in turn)
        await messenger.templates.preview("statement", links=templated[0].links)
    for link in client_links:
        await messenger.ports.keys.current(link.id)
    setup = time.perf_counter() - start

    for name, targets in (("a_create_templated", templated), ("b_create_with_pdf", with_pdf)):
        with steps.step(name) as step:
            t = time.perf_counter()
            report = await messenger.generate_bulk(actor, "statement", targets)
            step.figures["returned_s"] = time.perf_counter() - t
            await messenger.wait_indexed()
        assert len(report.created) == len(targets), report.failures[:3]
    with steps.step("c_send_all") as step:
        t = time.perf_counter()
        sent = await messenger.send_due()
        step.figures["returned_s"] = time.perf_counter() - t
        await messenger.wait_indexed()
        step.figures["sent"] = len(sent.sent)
        step.figures["failed"] = len(sent.outcomes) - len(sent.sent)
    assert sent.error is None, sent.error

    async def history(n: int) -> tuple[int, int]:
        page = await messenger.history(client_links[n])
        return page.total, len(page.items)

    async def search(word: str) -> tuple[int, int]:
        page = await messenger.search(word)
        return page.total, len(page.hits)

    await _queries(steps, "d_client_emails", history, common.query_clients(clients, args.queries))
    await _queries(steps, "e_search_word", search, common.query_words(args.queries))
    await messenger.aclose()
    return {"created": total, "clients": clients, "setup_s": setup}


async def _queries(steps: common.Steps, name: str, run: Any, keys: list[Any]) -> None:
    await run(keys[0])  # warm up (untimed)
    samples, hits, shown = [], 0, 0
    with steps.step(name) as step:
        for key in keys:
            t = time.perf_counter()
            found, page = await run(key)
            samples.append(time.perf_counter() - t)
            hits, shown = hits + found, shown + page
        step.figures.update(median_ms=common.median_ms(samples), queries=len(keys),
                            mean_hits=hits / len(keys), mean_shown=shown / len(keys))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--attachments", type=int, required=True)
    parser.add_argument("--queries", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--sink-pid", type=int, required=True)
    args = parser.parse_args()
    with common.TreeMemory() as memory:
        steps = common.Steps(memory, args.sink_pid)
        result = asyncio.run(_job(args, steps))
    print(json.dumps({"side": "ours", **result, "steps": steps.figures, **common.own_peaks()}),
          flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
