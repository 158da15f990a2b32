"""Template bounds on the embedded store (SQLite, templates rendered in worker processes): the
same hostile sources and values get the same typed errors as on the fakes, nothing reaches the
store, and what fails in the render worker (compiling past Python's limits, recursion,
variables that cannot be sent) is a TemplateError naming template, version and part."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from contos_messaging import (
    Actor,
    AsyncMessenger,
    Channel,
    InvalidInput,
    LimitExceeded,
    Limits,
    LinkedEntity,
    MessengerSettings,
    Permission,
    Template,
    TemplateError,
    TemplateNotFound,
)
from contos_messaging.adapters.rendering import ProcessRenderer, RenderLimits
from contos_messaging.testing import RecordingEmailTransport
from tests.integration.conftest import MASTER_KEY
from tests.unit.test_template_bounds import HOSTILE, filters, fors, ifs, parens, pluses

ADMIN = Actor("admin", permissions={Permission.MANAGE_TEMPLATES, Permission.COMPOSE})
SENDER = "ContOS <info@contos.example.com>"


async def _open(path: Path, **limits: int) -> AsyncMessenger:
    return await AsyncMessenger.open(
        path,
        master_key=MASTER_KEY,
        settings=MessengerSettings(company_sender=SENDER, limits=Limits(**limits)),
        email_transport=RecordingEmailTransport(),
    )


@pytest.mark.parametrize(("kind", "source", "depth"), HOSTILE, ids=[c[0] for c in HOSTILE])
async def test_deep_nesting_is_refused_and_nothing_reaches_the_store(
    messenger, kind, source, depth
):
    with pytest.raises(LimitExceeded) as info:
        await messenger.templates.save(ADMIN, "deep", subject="S", html=source)
    assert (info.value.setting, info.value.limit, info.value.value) == ("template_depth", 40, depth)
    assert await messenger.ports.templates.list_templates() == []
    with pytest.raises(TemplateNotFound):
        await messenger.templates.get("deep")


async def test_refused_versions_leave_the_stored_one_also_after_reopening(store_dir):
    messenger = await _open(store_dir)
    try:
        first = await messenger.templates.save(ADMIN, "offer", subject="S", html="<p>{{ x }}</p>")
        refused = [pluses(99_999), "x" * 200_001, ifs(3_000), filters(20_000)]
        settings = []
        for source in refused:
            with pytest.raises(LimitExceeded) as info:
                await messenger.templates.save(ADMIN, "offer", subject="S", html=source)
            settings.append(info.value.setting)
        assert settings == ["template_chars", "template_chars", "template_depth", "template_depth"]
    finally:
        await messenger.aclose()
    reopened = await _open(store_dir)
    try:
        assert await reopened.templates.list() == [first]
        with pytest.raises(TemplateNotFound):
            await reopened.templates.get("offer", version=2)
    finally:
        await reopened.aclose()


async def test_raised_limits_admit_larger_and_deeper_sources_and_they_render_in_the_worker(
    store_dir,
):
    deep = ifs(50).replace("a", parens(10))
    long = "<p>{{ x }}</p>" + "ž" * 250_000
    messenger = await _open(store_dir, template_depth=60, template_chars=300_000)
    try:
        assert (await messenger.templates.save(ADMIN, "deep", subject="S", html=deep)).version == 1
        assert (await messenger.templates.save(ADMIN, "long", subject="S", html=long)).version == 1
        assert (await messenger.templates.preview("deep", {"x": 1})).html == "1"
        assert (await messenger.templates.preview("long", {"x": 2})).html == "<p>2</p>" + "ž" * (
            250_000
        )
        with pytest.raises(LimitExceeded) as info:
            await messenger.templates.save(ADMIN, "deeper", subject="S", html=parens(61))
        assert (info.value.setting, info.value.limit, info.value.value) == (
            "template_depth",
            60,
            61,
        )
    finally:
        await messenger.aclose()


async def test_a_lone_surrogate_never_reaches_the_store(messenger):
    for sources in ({"subject": "\ud800", "html": "x"}, {"subject": "S", "text": "a\udfff"}):
        with pytest.raises(InvalidInput):
            await messenger.templates.save(ADMIN, "t", **sources)
    valid = Template(name="t", channel=Channel.EMAIL, subject="S", html="x")
    with pytest.raises(TemplateError) as info:
        await messenger.ports.templates.save_template(attrs.evolve(valid, html="<p>\ud800</p>"))
    assert (info.value.template, info.value.part) == ("t", "html")
    assert await messenger.ports.templates.list_templates() == []


async def test_a_lone_surrogate_in_a_variable_is_named_through_the_worker(messenger, clerk):
    await messenger.templates.save(ADMIN, "hello", subject="S {{ x }}", html="{{ client.name }}")
    with pytest.raises(TemplateError) as info:
        await messenger.templates.preview("hello", {"x": "ok", "client": {"name": "Eva\ud800"}})
    assert (info.value.template, info.value.version, info.value.variable) == (
        "hello",
        1,
        "client.name",
    )
    client = LinkedEntity.client("C-1")
    with pytest.raises(TemplateError) as info:
        await messenger.compose_from_template(
            clerk, "hello", variables={"x": "\udc00", "client": {"name": "Eva"}},
            links=[client], to="eva@example.com",
        )  # fmt: skip
    assert info.value.variable == "x"
    assert (await messenger.history(client)).total == 0


async def test_a_lone_surrogate_made_by_the_template_is_refused_in_the_worker(messenger):
    await messenger.templates.save(ADMIN, "escape", subject="S", html='{{ "\\udfff" }}')
    with pytest.raises(TemplateError) as info:
        await messenger.templates.preview("escape")
    assert (info.value.template, info.value.part) == ("escape", "html")
    assert "lone surrogate" in info.value.reason


def _legacy(html: str) -> Template:
    """A template that never went through save: stored before there were bounds, say."""
    return Template(name="legacy", channel=Channel.EMAIL, subject="S", html=html, version=3)


@pytest.mark.parametrize("source", [parens(5_000), ifs(3_000), filters(20_000), fors(21)])
async def test_compile_failures_in_the_worker_are_template_errors_and_the_worker_carries_on(
    source,
):
    renderer = ProcessRenderer(RenderLimits(seconds=5), workers=1)
    try:
        (result,) = await renderer.render(_legacy(source), [{}])
        assert isinstance(result, TemplateError)
        assert (result.template, result.version, result.part) == ("legacy", 3, "html")
        assert result.reason.startswith("limit exceeded: nested too deeply to compile")
        (fine,) = await renderer.render(_legacy("{{ n }}"), [{"n": 5}])
        assert not isinstance(fine, TemplateError)
        assert fine.html == "5"
    finally:
        await renderer.aclose()


async def test_recursion_while_rendering_in_the_worker_names_part_and_line():
    renderer = ProcessRenderer(RenderLimits(seconds=5), workers=1)
    source = "<p>ok</p>\n{% macro m(n) %}{{ m(n) }}{% endmacro %}\n{{ m(1) }}"
    try:
        (result,) = await renderer.render(_legacy(source), [{}])
    finally:
        await renderer.aclose()
    assert isinstance(result, TemplateError)
    assert (result.template, result.version, result.part, result.line) == ("legacy", 3, "html", 2)
    assert result.reason == "limit exceeded: recursion too deep"


async def test_variables_too_deep_to_send_fail_alone_and_their_neighbours_render():
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    renderer = ProcessRenderer(RenderLimits(seconds=5), workers=1)
    try:
        results = await renderer.render(_legacy("{{ n }}"), [{"n": 1}, {"n": deep}, {"n": 3}])
    finally:
        await renderer.aclose()
    assert [r.html if not isinstance(r, TemplateError) else None for r in results] == [
        "1",
        None,
        "3",
    ]
    error = results[1]
    assert isinstance(error, TemplateError)
    assert (error.template, error.version) == ("legacy", 3)
    assert error.reason == (
        "limit exceeded: the variables nest too deeply to pass to the render worker"
    )
