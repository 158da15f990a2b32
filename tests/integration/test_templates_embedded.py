"""Templates on the real stack: process-isolated rendering into the embedded store."""

from __future__ import annotations

import tracemalloc

import pytest

from contos_messaging import (
    Actor,
    BulkTarget,
    Channel,
    Contact,
    LinkedEntity,
    MessageStatus,
    Permission,
    Template,
    TemplateError,
)
from contos_messaging.adapters.rendering import ProcessRenderer, RenderLimits
from contos_messaging.adapters.rendering.process import _Worker, _WorkerLost
from contos_messaging.testing import InMemoryContextProvider

ADMIN = Actor("admin", permissions={Permission.MANAGE_TEMPLATES, Permission.COMPOSE})


async def test_bulk_into_the_store_reports_the_one_runaway_target(messenger, book, clerk):
    context: InMemoryContextProvider = messenger.ports.context  # type: ignore[assignment]
    for n in range(60):
        client = LinkedEntity.client(f"C-{n}")
        book.add(client, Contact(f"Klient {n}", email=f"klient{n}@example.com"))
        context.add(client, {"lines": 100_000 if n == 17 else 3, "last_name": "Dvořák"})
    await messenger.templates.save(
        ADMIN,
        "statement",
        subject="Vyúčtování pro {{ client.last_name }}",
        html="<p>{{ client.last_name|salutation }}</p>"
        "{% for i in range(client.lines) %}<p>{{ 'řádek ' * 20 }}</p>{% endfor %}",
    )
    report = await messenger.generate_bulk(
        clerk,
        "statement",
        [BulkTarget(links=[LinkedEntity.client(f"C-{n}")]) for n in range(60)],
        batch_size=25,
    )
    assert [f.index for f in report.failures] == [17]
    assert "limit exceeded" in report.failures[0].reason
    assert len(report.created) == 59
    message = await messenger.get(report.created[0])
    assert message.status is MessageStatus.QUEUED
    assert "Vážený pane Dvořáku" in message.html
    assert (await messenger.history(LinkedEntity.client("C-59"))).total == 1


async def test_a_memory_bomb_fails_in_the_worker_and_the_host_carries_on():
    renderer = ProcessRenderer(RenderLimits(seconds=5, memory_mb=200), workers=1)
    bomb = Template(
        name="bomb",
        channel=Channel.EMAIL,
        subject="s",
        version=1,
        html="{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
        "{% set ns.l = ns.l + [ns.l, ns.l] %}{% endfor %}x",
    )
    fine = Template(name="fine", channel=Channel.EMAIL, subject="s", html="{{ n }}", version=1)
    tracemalloc.start()
    try:
        (result,) = await renderer.render(bomb, [{}])
        assert isinstance(result, TemplateError)
        assert "limit exceeded" in result.reason
        (ok,) = await renderer.render(fine, [{"n": 42}])
        assert not isinstance(ok, TemplateError)
        assert ok.html == "42"
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await renderer.aclose()
    # The bomb went off in the worker: this process allocated next to nothing meanwhile.
    assert peak < 50 * 1024 * 1024


async def test_a_worker_past_its_deadline_is_killed_and_replaced():
    worker = _Worker(memory_mb=256)
    parts = {"subject": "s", "html": "{{ n }}", "text": None}
    big = (("k", 1), parts, [{"n": i} for i in range(20000)], 5.0, 10_000)
    try:
        with pytest.raises(_WorkerLost, match="time limit"):
            await worker.request(big, timeout=0.001)
        reply = await worker.request((("k", 1), parts, [{"n": 7}], 5.0, 10_000), timeout=30)
        assert reply[0][0] == "ok"
        assert reply[0][1]["html"] == "7"
    finally:
        await worker.close()
