"""The template sandbox: clear errors, no escapes, bounded time and size."""

from __future__ import annotations

import tracemalloc

import pytest

from contos_messaging import Channel, Template, TemplateError
from contos_messaging.adapters.rendering import InProcessRenderer, RenderLimits


def email(html: str, subject: str = "Předmět", text: str | None = None, version: int = 3):
    return Template(
        name="offer", channel=Channel.EMAIL, subject=subject, html=html, text=text, version=version
    )


async def render(html: str, variables=None, *, limits: RenderLimits | None = None, **kwargs):
    renderer = InProcessRenderer(limits or RenderLimits(seconds=1.0, max_chars=200_000))
    (result,) = await renderer.render(email(html, **kwargs), [variables or {}])
    return result


async def test_renders_with_escaping_only_in_html_and_a_generated_text_part():
    result = await render(
        "<p>{{ client.name }}</p><p>{{ note }}</p>",
        {"client": {"name": "Jan & syn"}, "note": "<b>tučně</b>"},
        subject="Pro {{ client.name }}",
    )
    assert result.subject == "Pro Jan & syn"
    assert result.html == "<p>Jan &amp; syn</p><p>&lt;b&gt;tučně&lt;/b&gt;</p>"
    assert result.text is None  # no text part: the alternative is generated on demand
    assert result.plain_text == "Jan & syn\n\n<b>tučně</b>"


async def test_an_undefined_variable_names_template_version_part_line_and_variable():
    result = await render(
        "<p>Dobrý den</p>\n<p>{{ client.name }}</p>\n{{ order.number }}",
        {"client": {"name": "Jan"}},
    )
    assert isinstance(result, TemplateError)
    assert (result.template, result.version, result.part, result.line, result.variable) == (
        "offer",
        3,
        "html",
        3,
        "order",
    )
    assert "offer v3 (html, line 3)" in str(result)


async def test_a_missing_attribute_names_the_attribute():
    result = await render("{{ client.phone }}", {"client": {"name": "Jan"}})
    assert isinstance(result, TemplateError)
    assert result.variable == "phone"


def test_syntax_errors_are_found_when_the_template_is_checked():
    renderer = InProcessRenderer()
    with pytest.raises(TemplateError) as info:
        renderer.check(email("<p>ok</p>\n{% for x in %}"))
    assert (info.value.part, info.value.line) == ("html", 2)
    assert "syntax error" in info.value.reason


def test_check_lists_the_variables_a_template_uses():
    renderer = InProcessRenderer()
    template = email(
        "{{ client.name }} {% for o in orders %}{{ o }}{% endfor %} {{ total|money }}",
        subject="{{ company.name }}",
    )
    assert renderer.check(template) == frozenset({"client", "orders", "total", "company"})


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__ }}",
        "{{ x|attr('__class__') }}",
        "{{ '{0.__class__}'.format(x) }}",
        "{{ '{a.__class__.__init__.__globals__}'.format_map({'a': x}) }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__['os'] }}",
        "{{ self._TemplateReference__context }}",
        "{{ lipsum.__globals__ }}",
        "{{ range.__globals__ }}",
        "{% set x = [].append %}{{ x(1) }}",
        "{{ config }}{{ request }}",
    ],
)
async def test_public_sandbox_escape_payloads_fail(payload):
    result = await render(payload, {"x": 1})
    assert isinstance(result, TemplateError)
    assert result.reason.startswith(("forbidden", "undefined", "TypeError"))


@pytest.mark.parametrize(
    "payload",
    [
        "{{ 'x' * 1000000000 }}",
        "{% set l = [1] %}{{ l * 1000000000 }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
        "{{ range(1000000000)|list }}",
        "{{ '%999999999d'|format(1) }}",
        "{{ '{:999999999}'.format(1) }}",
        "{{ 'x'|center(1000000000) }}",
        "{{ 'x'.ljust(1000000000) }}",
        "{{ 2 ** 1000000 }}",
        "{{ ('a' * 100000)|replace('a', 'aaaaaaaaaaaaaaaaaaaa') }}",
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    ],
)
async def test_runaway_templates_stop_with_a_limit_error_and_no_memory_blowup(payload):
    tracemalloc.start()
    try:
        result = await render(payload)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, TemplateError)
    assert result.reason.startswith("limit exceeded"), result.reason
    # What the render allocated at its peak (Python's own count: the high-water mark of the
    # whole test process would tell the other tests' peaks too).
    assert peak < 200 * 1024 * 1024


async def test_a_template_over_the_output_size_fails():
    result = await render(
        "{% for i in range(5000) %}{{ 'x' * 100 }}{% endfor %}",
        limits=RenderLimits(max_chars=100_000),
    )
    assert isinstance(result, TemplateError)
    assert "limit exceeded" in result.reason


@pytest.mark.parametrize("renderer", ["in-process", "worker"])
async def test_a_record_field_named_like_a_dict_method_is_the_field(renderer):
    """``statement.items`` was ``dict.items`` (and ``|money`` then failed on a bound method);
    a record's field wins, and a dict without such a field keeps its methods."""
    from contos_messaging.adapters.rendering import ProcessRenderer

    template = Template(
        name="vypis", channel=Channel.EMAIL, subject="s", version=1,
        html="{% for i in statement.items %}{{ i.name }} {{ i.amount|money }}; {% endfor %}"
        "{{ statement.keys }} {{ other.items()|list|length }} {{ other.values()|list|length }}",
    )  # fmt: skip
    variables = {
        "statement": {"items": [{"name": "Smlouva S-1", "amount": 1200}], "keys": "K"},
        "other": {"a": 1, "b": 2},
    }
    chosen = InProcessRenderer() if renderer == "in-process" else ProcessRenderer(workers=1)
    try:
        (result,) = await chosen.render(template, [variables])
    finally:
        if renderer == "worker":
            await chosen.aclose()
    assert not isinstance(result, TemplateError), result
    assert result.html == "Smlouva S-1 1\xa0200,00\xa0Kč; K 2 2"
