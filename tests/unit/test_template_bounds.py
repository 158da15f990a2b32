"""Template sources are bounded before they are compiled: a part over ``Limits.template_chars``
or nested deeper than ``Limits.template_depth`` is refused at save with :class:`LimitExceeded`
naming the setting, and nothing is stored. Whatever still fails while compiling or rendering
(Python's own nesting limits, recursion, memory) is a :class:`TemplateError` naming template,
version and part, never a foreign ``RecursionError`` or ``SyntaxError``. Lone surrogates are not
text: the domain refuses them in a template, and a render refuses them in a variable."""

from __future__ import annotations

import attrs
import jinja2
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from jinja2 import nodes

from contos_messaging import (
    Actor,
    BulkTarget,
    Channel,
    Contact,
    InvalidArgument,
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
from contos_messaging.adapters.rendering import InProcessRenderer
from contos_messaging.adapters.rendering.sandbox import (
    RenderFailure,
    compile_parts,
    make_environment,
)
from contos_messaging.adapters.rendering.sandbox import _Environment as SandboxEnvironment
from contos_messaging.domain.template import template_nesting
from contos_messaging.testing import make_async_test_messenger, make_test_messenger

ADMIN = Actor("admin", permissions={Permission.MANAGE_TEMPLATES, Permission.COMPOSE})
SENDER = "ContOS s.r.o. <info@contos.example.com>"


def parens(n: int) -> str:
    return "{{ " + "(" * n + "1" + ")" * n + " }}"


def brackets(n: int) -> str:
    return "{{ " + "[" * n + "1" + "]" * n + " }}"


def braces(n: int) -> str:
    return "{{ " + "{'a': " * n + "1" + "}" * n + " }}"


def ifs(n: int) -> str:
    return "{% if x %}" * n + "a" + "{% endif %}" * n


def fors(n: int) -> str:
    return "{% for i in x %}" * n + "a" + "{% endfor %}" * n


def withs(n: int) -> str:
    return "{% with a = 1 %}" * n + "a" + "{% endwith %}" * n


def macros(n: int) -> str:
    return "{% macro m() %}" * n + "a" + "{% endmacro %}" * n


def filters(n: int) -> str:
    return "{{ x" + "|e" * n + " }}"


def pluses(n: int) -> str:
    """``n`` operators: ``1+1+...`` with ``n + 1`` terms."""
    return "{{ " + "+".join(["1"] * (n + 1)) + " }}"


def calls(n: int) -> str:
    return "{{ f" + "()" * n + " }}"


def attributes(n: int) -> str:
    return "{{ x" + ".a" * n + " }}"


def nots(n: int) -> str:
    return "{{ " + "not " * n + "x }}"


def conditionals(n: int) -> str:
    return "{{ " + "1 if x else " * n + "2 }}"


# The issue's five (each raised a foreign RecursionError at save) and more of the same kind:
# (name, source, its nesting depth).
HOSTILE = [
    ("parentheses", parens(5_000), 5_000),
    ("brackets", brackets(5_000), 5_000),
    ("braces", braces(5_000), 10_000),  # a dict counts its colons too
    ("if-blocks", ifs(3_000), 3_000),
    ("for-blocks", fors(3_000), 3_002),  # 3,000 loops and the last one's "in"
    ("with-blocks", withs(3_000), 3_000),
    ("macros", macros(3_000), 3_001),  # 3,000 macros and the last one's signature
    ("filters", filters(20_000), 20_000),
    ("calls", calls(20_000), 20_000),
    ("attributes", attributes(50_000), 50_000),
    ("nots", nots(20_000), 20_000),
    ("conditionals", conditionals(10_000), 20_000),  # each "if" and "else"
]
ISSUE_CASES = [case for case in HOSTILE if case[0] in ("parentheses", "brackets", "if-blocks")]
ISSUE_CASES.append(("filters", filters(20_000), 20_000))

NESTED: object = "end"
for _ in range(40):
    NESTED = {"a": NESTED}

# Each construct exactly at the default depth of 40: accepted, and it renders.
AT_THE_LIMIT = [
    ("parentheses", parens(40), {}, "1"),
    ("brackets", brackets(40), {}, "[" * 40 + "1" + "]" * 40),
    ("if-blocks", ifs(40), {"x": True}, "a"),
    ("with-blocks", withs(40), {}, "a"),
    ("filters", filters(40), {"x": "<b>"}, "&lt;b&gt;"),
    ("plus", pluses(40), {}, "41"),
    ("attributes", attributes(40), {"x": NESTED}, "end"),
    ("blocks and brackets", ifs(20).replace("a", parens(20)), {"x": 1}, "1"),
]


@pytest.fixture
async def messenger():
    async with make_async_test_messenger() as m:
        yield m


def roomy(**limits: int) -> MessengerSettings:
    return MessengerSettings(company_sender=SENDER, limits=Limits(**limits))


@pytest.mark.parametrize(("kind", "source", "depth"), HOSTILE, ids=[c[0] for c in HOSTILE])
async def test_deep_nesting_is_refused_before_compiling_and_nothing_is_stored(
    messenger, kind, source, depth
):
    before = await messenger.templates.list()
    with pytest.raises(LimitExceeded) as info:
        await messenger.templates.save(ADMIN, "deep", subject="S", html=source)
    assert (info.value.setting, info.value.limit, info.value.value) == ("template_depth", 40, depth)
    assert str(info.value) == (
        f"the nesting depth of the html of template 'deep' (deepest at line 1) is {depth:,},"
        " over the limit of 40 (set by Limits.template_depth)"
    )
    assert await messenger.templates.list() == before
    with pytest.raises(TemplateNotFound):
        await messenger.templates.get("deep")


@pytest.mark.parametrize("part", ["subject", "text"])
async def test_deep_nesting_is_refused_in_every_part(messenger, part):
    sources = {"subject": "S", "html": "<p>x</p>", part: parens(41)}
    with pytest.raises(LimitExceeded) as info:
        await messenger.templates.save(ADMIN, "deep", **sources)
    assert (info.value.setting, info.value.value) == ("template_depth", 41)
    assert part in info.value.what
    assert await messenger.templates.list() == []


async def test_an_sms_template_is_bounded_too(messenger):
    with pytest.raises(LimitExceeded) as info:
        await messenger.templates.save(ADMIN, "deep", channel=Channel.SMS, text=ifs(3_000))
    assert info.value.setting == "template_depth"
    assert await messenger.templates.list() == []


async def test_a_refused_new_version_leaves_the_stored_one(messenger):
    first = await messenger.templates.save(ADMIN, "offer", subject="S", html="<p>{{ x }}</p>")
    for source in (parens(5_000), "x" * 200_001):
        with pytest.raises(LimitExceeded):
            await messenger.templates.save(ADMIN, "offer", subject="S", html=source)
    assert await messenger.templates.list() == [first]
    assert await messenger.templates.get("offer") == first


async def test_100000_plus_terms_are_over_the_size_limit_and_with_more_room_over_the_depth_one():
    source = pluses(99_999)  # 100,000 terms, 200,005 characters
    async with make_async_test_messenger() as messenger:
        with pytest.raises(LimitExceeded) as info:
            await messenger.templates.save(ADMIN, "sum", subject="S", html=source)
        assert (info.value.setting, info.value.limit, info.value.value) == (
            "template_chars",
            200_000,
            200_005,
        )
        assert info.value.unit == "characters"
        assert await messenger.templates.list() == []
    async with make_async_test_messenger(settings=roomy(template_chars=300_000)) as messenger:
        with pytest.raises(LimitExceeded) as info:
            await messenger.templates.save(ADMIN, "sum", subject="S", html=source)
        assert (info.value.setting, info.value.value) == ("template_depth", 99_999)
        assert await messenger.templates.list() == []


@pytest.mark.parametrize("part", ["subject", "html", "text"])
async def test_the_size_limit_is_per_part(messenger, part):
    sources = {"subject": "S", "html": "<p>x</p>", part: "x" * 200_001}
    with pytest.raises(LimitExceeded) as info:
        await messenger.templates.save(ADMIN, "big", **sources)
    assert (info.value.setting, info.value.limit, info.value.value) == (
        "template_chars",
        200_000,
        200_001,
    )
    assert part in info.value.what
    assert await messenger.templates.list() == []
    exactly = {"subject": "S", "html": "y" * 200_000, "text": "z" * 200_000}
    saved = await messenger.templates.save(ADMIN, "big", **exactly)
    assert (saved.version, len(saved.html or ""), len(saved.text or "")) == (1, 200_000, 200_000)


@pytest.mark.parametrize(
    ("kind", "source", "variables", "html"), AT_THE_LIMIT, ids=[c[0] for c in AT_THE_LIMIT]
)
async def test_each_construct_at_the_default_depth_is_saved_and_renders(
    messenger, kind, source, variables, html
):
    saved = await messenger.templates.save(ADMIN, "edge", subject="S", html=source)
    assert saved.version == 1
    preview = await messenger.templates.preview("edge", variables)
    assert preview.html == html


@pytest.mark.parametrize(
    "source",
    [parens(41), brackets(41), ifs(41), withs(41), filters(41), pluses(41), attributes(41)],
)
async def test_one_level_past_the_default_depth_is_refused(messenger, source):
    with pytest.raises(LimitExceeded) as info:
        await messenger.templates.save(ADMIN, "edge", subject="S", html=source)
    assert (info.value.setting, info.value.value) == ("template_depth", 41)


async def test_a_raised_depth_limit_admits_what_the_default_refuses():
    deep = ifs(50).replace("a", parens(10))  # 60 levels: 50 blocks, 10 parentheses
    async with make_async_test_messenger() as default:
        with pytest.raises(LimitExceeded):
            await default.templates.save(ADMIN, "deep", subject="S", html=deep)
    async with make_async_test_messenger(settings=roomy(template_depth=60)) as roomier:
        saved = await roomier.templates.save(ADMIN, "deep", subject="S", html=deep)
        assert saved.version == 1
        assert (await roomier.templates.preview("deep", {"x": 1})).html == "1"
        with pytest.raises(LimitExceeded) as info:
            await roomier.templates.save(ADMIN, "deeper", subject="S", html=parens(61))
        assert (info.value.setting, info.value.limit) == ("template_depth", 60)


async def test_a_raised_size_limit_admits_a_larger_source():
    source = "<p>{{ x }}</p>" + "ž" * 250_000
    async with make_async_test_messenger(settings=roomy(template_chars=300_000)) as messenger:
        saved = await messenger.templates.save(ADMIN, "long", subject="S", html=source)
        assert saved.html == source
        assert (await messenger.templates.preview("long", {"x": 7})).html == "<p>7</p>" + "ž" * (
            250_000
        )


@pytest.mark.parametrize(
    ("source", "part"),
    [
        (fors(21), "html"),  # Python compiles at most 20 nested loops
        (ifs(101), "html"),  # ... and at most 100 levels of indentation
        (parens(5_000), "html"),  # jinja's parser runs out of stack
        (filters(20_000), "html"),  # jinja's code generator runs out of stack
    ],
)
async def test_what_the_compiler_cannot_take_under_a_raised_limit_is_a_template_error(source, part):
    async with make_async_test_messenger(settings=roomy(template_depth=100_000)) as messenger:
        with pytest.raises(TemplateError) as info:
            await messenger.templates.save(ADMIN, "deep", subject="S", html=source)
        assert (info.value.template, info.value.part) == ("deep", part)
        assert info.value.reason.startswith("limit exceeded: nested too deeply")
        assert await messenger.templates.list() == []


async def test_nested_loops_past_what_python_compiles_are_a_template_error_at_the_default(
    messenger,
):
    with pytest.raises(TemplateError) as info:
        await messenger.templates.save(ADMIN, "loops", subject="S", html=fors(21))
    assert (info.value.part, info.value.reason) == (
        "html",
        "limit exceeded: nested too deeply to compile (too many statically nested blocks)",
    )
    assert await messenger.templates.list() == []
    assert (await messenger.templates.save(ADMIN, "loops", subject="S", html=fors(20))).version == 1


async def test_an_integer_literal_python_will_not_convert_is_a_template_error(messenger):
    with pytest.raises(TemplateError) as info:  # was a foreign ValueError (4,300-digit limit)
        await messenger.templates.save(ADMIN, "big", subject="S", html="{{ 1" + "0" * 5_000 + " }}")
    assert (info.value.template, info.value.part) == ("big", "html")
    assert "4300 digits" in info.value.reason
    assert await messenger.templates.list() == []


def test_the_blocking_facade_refuses_the_same_and_stores_nothing():
    with make_test_messenger() as messenger:
        for source, setting in (
            (parens(5_000), "template_depth"),
            ("x" * 200_001, "template_chars"),
        ):
            with pytest.raises(LimitExceeded) as info:
                messenger.templates.save(ADMIN, "deep", subject="S", html=source)
            assert info.value.setting == setting
        assert messenger.templates.list() == []


# The renderer on its own: a template that never went through save (stored by an older version,
# or built by hand) still fails with a TemplateError, never a foreign exception.


def _email(html: str, version: int = 4) -> Template:
    return Template(name="legacy", channel=Channel.EMAIL, subject="S", html=html, version=version)


@pytest.mark.parametrize("source", [parens(5_000), ifs(3_000), filters(20_000), fors(21)])
async def test_the_renderer_turns_compile_failures_into_template_errors(source):
    renderer = InProcessRenderer()
    with pytest.raises(TemplateError) as info:
        renderer.check(_email(source))
    assert (info.value.template, info.value.version, info.value.part) == ("legacy", 4, "html")
    assert info.value.reason.startswith("limit exceeded: nested too deeply")
    (result,) = await renderer.render(_email(source), [{}])
    assert isinstance(result, TemplateError)
    assert (result.template, result.version, result.part) == ("legacy", 4, "html")


async def test_recursion_while_rendering_names_the_part_and_line():
    renderer = InProcessRenderer()
    source = "<p>ok</p>\n{% macro m(n) %}{{ m(n) }}{% endmacro %}\n{{ m(1) }}"
    (result,) = await renderer.render(_email(source), [{}])
    assert isinstance(result, TemplateError)
    assert (result.template, result.version, result.part, result.line) == ("legacy", 4, "html", 2)
    assert result.reason == "limit exceeded: recursion too deep"


class _OutOfMemory(SandboxEnvironment):
    """The sandbox, as it behaves when compiling a template exhausts the memory limit."""

    def compile(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise MemoryError


def test_memory_exhausted_while_compiling_is_a_render_failure_naming_the_part():
    with pytest.raises(RenderFailure) as info:
        compile_parts(_OutOfMemory(make_environment().budget), {"subject": "S", "html": "x"})
    assert (info.value.part, info.value.reason) == ("subject", "limit exceeded: out of memory")


# Lone surrogates: no encoding can store them, so they are not template text.


@pytest.mark.parametrize("part", ["subject", "html", "text"])
def test_a_lone_surrogate_in_a_part_is_refused_by_the_template_itself(part):
    sources = {"subject": "S", "html": "<p>x</p>", part: "ok\nok \ud800"}
    with pytest.raises(TemplateError) as info:
        Template(name="t", channel=Channel.EMAIL, **sources)
    assert (info.value.template, info.value.part, info.value.line) == ("t", part, 2)
    assert "U+D800" in info.value.reason
    valid = Template(name="t", channel=Channel.EMAIL, subject="S", html="x")
    with pytest.raises(TemplateError):
        attrs.evolve(valid, **{part: "\udfff"})


@pytest.mark.parametrize("name", ["\ud800", "offer\ud800", "offer\n", "offer\r\n"])
def test_a_name_that_cannot_be_stored_is_refused(name):
    with pytest.raises(InvalidInput, match="template name"):
        Template(name=name, channel=Channel.EMAIL, subject="S", html="x")


@pytest.mark.parametrize("language", ["cs\n", "c\ud800"])
def test_a_language_that_is_not_a_language_tag_is_refused(language):
    with pytest.raises(InvalidInput, match="template language"):
        Template(name="t", channel=Channel.EMAIL, language=language, subject="S", html="x")


def test_a_lone_surrogate_in_the_author_is_refused():
    with pytest.raises(InvalidInput, match="lone surrogate"):
        Template(name="t", channel=Channel.EMAIL, subject="S", html="x", created_by="a\ud800")


async def test_save_refuses_a_lone_surrogate_and_stores_nothing(messenger):
    for sources in ({"subject": "\ud800", "html": "x"}, {"subject": "S", "html": "<p>\ud83d</p>"}):
        with pytest.raises(InvalidArgument) as info:
            await messenger.templates.save(ADMIN, "t", **sources)
        assert info.value.parameter in sources
    with pytest.raises(InvalidInput):
        await messenger.templates.save(
            Actor("a\ud800", permissions=ADMIN.permissions), "t", subject="S", html="x"
        )
    assert await messenger.templates.list() == []


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"x": "\ud800"}, "x"),
        ({"x": "ok", "client": {"name": "Jan\udc00"}}, "client.name"),
        ({"x": "ok", "items": ["a", ("b", "c\ud800")]}, "items[1][1]"),
        ({"x": "ok", "client": {"bad key": "\ud800"}}, "client['bad key']"),
        ({"x": "ok", "client": {"\ud800": 1}}, "client['\\ud800']"),
    ],
)
async def test_a_lone_surrogate_in_a_variable_is_a_template_error_naming_it(
    messenger, variables, named
):
    await messenger.templates.save(ADMIN, "hello", subject="S {{ x }}", html="<p>{{ x }}</p>")
    with pytest.raises(TemplateError) as info:
        await messenger.templates.preview("hello", variables)
    assert (info.value.template, info.value.version, info.value.variable) == ("hello", 1, named)
    assert "lone surrogate" in info.value.reason
    str(info.value).encode("utf-8")  # the message itself is text


async def test_a_lone_surrogate_from_a_linked_record_stops_compose_and_stores_nothing(clerk):
    async with make_async_test_messenger() as messenger:
        client = LinkedEntity.client("C-1")
        messenger.ports.context.add(client, {"name": "Eva\ud800"})  # type: ignore[attr-defined]
        await messenger.templates.save(ADMIN, "hello", subject="S", html="{{ client.name }}")
        with pytest.raises(TemplateError) as info:
            await messenger.compose_from_template(
                clerk, "hello", links=[client], to="eva@example.com"
            )
        assert info.value.variable == "client.name"
        assert (await messenger.history(client)).total == 0


async def test_a_lone_surrogate_in_one_bulk_target_fails_that_target_only(clerk):
    async with make_async_test_messenger() as messenger:
        context, book = messenger.ports.context, messenger.ports.address_book
        for n, name in enumerate(["Eva", "Ad\ud800m", "Jan"]):
            client = LinkedEntity.client(f"C-{n}")
            context.add(client, {"name": name})  # type: ignore[attr-defined]
            book.add(client, Contact(f"Klient {n}", email=f"k{n}@example.com"))  # type: ignore[attr-defined]
        await messenger.templates.save(ADMIN, "hello", subject="S", html="{{ client.name }}")
        report = await messenger.generate_bulk(
            clerk, "hello", [BulkTarget(links=[LinkedEntity.client(f"C-{n}")]) for n in range(3)]
        )
        assert [f.index for f in report.failures] == [1]
        error = report.failures[0].error
        assert isinstance(error, TemplateError)
        assert error.variable == "client.name"
        assert [(await messenger.get(i)).html for i in report.created] == ["Eva", "Jan"]


async def test_a_lone_surrogate_made_by_the_template_is_a_template_error_naming_the_part(
    messenger,
):
    await messenger.templates.save(ADMIN, "escape", subject="S", text='a\n{{ "\\ud800" }}')
    with pytest.raises(TemplateError) as info:
        await messenger.templates.preview("escape")
    assert (info.value.template, info.value.part) == ("escape", "text")
    assert "lone surrogate" in info.value.reason


# The scan itself: what it counts, and that it never counts less than jinja nests.


@pytest.mark.parametrize(
    ("source", "depth"),
    [
        ("plain text (((( [[[[ ]]]] {} }}", 0),
        ("<p>{{ client.name }}</p>", 1),
        ("{{ client.name|upper }}", 2),
        ("{% if a %}{% if b %}{% if c %}{{ client.name|upper }}" + "{% endif %}" * 3, 5),
        ("{{ [a.b, c.d, e.f, g.h] }}", 2),
        ("{{ '((((}}' ~ \"[[[[%}\" }}", 1),  # brackets and ends inside strings do not count
        ("{# {% if %}{% if %} ((((( #}{{ x }}", 0),  # nor inside comments
        ("{% raw %}{% if %}{{ ((((( }}{% endraw %}{{ x }}", 0),  # nor in raw blocks
        ("{{ [" + ", ".join(["a.b + 1"] * 1_000) + "] }}", 3),  # items are side by side
        ("{{ f(a=1, b=x|e, c=[1, 2]) }}", 2),
        ("{{ a ~ b ~ c ~ d ~ e ~ f ~ g }}", 1),  # jinja joins a ~ chain in one node
        ("{{ {'a': {'b': 1}} }}{{ x }}", 4),  # }} inside brackets is two closing braces
        ("{% set x %}{% if y %}{{ z }}{% endif %}{% endset %}", 2),
        ("{% set x = [1] %}{% if y %}{% endif %}", 1),
        (
            "{% for a, b in c|items %}{% if a %}{{ b.c }}{% elif b %}{% else %}{% endif %}"
            "{% endfor %}",
            4,  # a loop's "in" counts as a comparison does
        ),
        ("{{ 1.5 * x.y }}", 2),  # the dot of a number is not an attribute
        ("{{ ((((( ", 5),  # an unclosed tag counts to the end
    ],
)
def test_the_scan_measures_nesting_as_jinja_reads_it(source, depth):
    assert template_nesting(source).depth == depth


def test_the_scan_reports_the_line_of_the_deepest_point():
    source = "{{ x }}\n{% if a %}\n{{ (((1))) }}\n{% endif %}\n{{ ((1)) }}"
    assert (template_nesting(source).depth, template_nesting(source).line) == (4, 3)


@pytest.mark.parametrize(
    ("source", "depth"),
    [
        (parens(99_996), 99_996),
        ("{{ f(" + "1+1," * 49_997 + "1) }}", 2),
        ("{{ x }}" * 28_571, 0),
        ("{% if x %}{% endif %}" * 9_523, 1),
        ("{{ '" + "(" * 199_990 + "' }}", 0),
    ],
)
def test_the_scan_takes_a_source_of_the_whole_size_limit(source, depth):
    assert len(source) <= 200_000
    assert template_nesting(source).depth == depth


def _jinja_depth(tree: nodes.Node) -> int:
    """How deeply jinja's syntax tree nests, counting the nodes the scan stands for (blocks and
    expressions, not the template, its output lists or keyword and pair wrappers)."""
    flat = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Keyword, nodes.Pair)
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, flat) and not isinstance(node, nodes.Name | nodes.Const):
            depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in node.iter_child_nodes())
    return deepest


_ATOMS = st.sampled_from(["x", "1", "'s'", "x.y", "1.5"])
_OPERATORS = st.sampled_from(["+", "-", "*", "~", "and", "or", "==", "<", "in", "is"])


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, _OPERATORS, inner).map(
            lambda t: f"{t[0]} is defined" if t[1] == "is" else " ".join(t)
        ),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"-{e}"),
        inner.map(lambda e: f"{e}|e"),
        inner.map(lambda e: f"{e}.a"),
        inner.map(lambda e: f"x[{e}]"),
        st.lists(inner, max_size=3).map(lambda es: f"[{', '.join(es)}]"),
        st.lists(inner, max_size=3).map(lambda es: f"f({', '.join(es)})"),
        inner.map(lambda e: f"f(k={e})"),
        st.tuples(inner, inner).map(lambda p: f"{{{p[0]}: {p[1]}}}"),
        st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
    )


EXPRESSIONS = st.recursive(_ATOMS, _extend, max_leaves=12)


def _blocks(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(EXPRESSIONS, inner).map(lambda p: f"{{% if {p[0]} %}}{p[1]}{{% endif %}}"),
        st.tuples(EXPRESSIONS, inner).map(lambda p: f"{{% for i in {p[0]} %}}{p[1]}{{% endfor %}}"),
        inner.map(lambda body: f"{{% filter upper %}}{body}{{% endfilter %}}"),
        inner.map(lambda body: f"{{% set v %}}{body}{{% endset %}}"),
        st.tuples(EXPRESSIONS, inner).map(lambda p: f"{{% set v = {p[0]} %}}{p[1]}"),
        st.lists(inner, min_size=2, max_size=3).map("".join),
    )


TEMPLATES = st.recursive(EXPRESSIONS.map(lambda e: "{{ " + e + " }}"), _blocks, max_leaves=5)


@given(TEMPLATES)
def test_the_scan_never_counts_less_than_jinja_nests(source):
    try:
        tree = jinja2.Environment().parse(source)
    except jinja2.TemplateSyntaxError:
        assume(False)  # ``-not x``, ``x + not y``: no template, nothing to measure
    assert template_nesting(source).depth >= _jinja_depth(tree) - 1


@given(st.lists(EXPRESSIONS, min_size=1, max_size=6), st.sampled_from(["[{}]", "f({})", "({},)"]))
def test_items_side_by_side_count_as_the_deepest_of_them(items, bracket):
    alone = max(template_nesting("{{ " + item + " }}").depth for item in items)
    together = bracket.format(", ".join(items))
    assert template_nesting("{{ " + together + " }}").depth == 1 + alone


async def test_save_checks_the_source_off_the_event_loop(clerk):
    """jinja2 takes seconds to parse the largest allowed sources: while one save is parsing,
    other calls on the same messenger go on (gated, not timed)."""
    import asyncio
    import threading

    entered, release = threading.Event(), threading.Event()

    class GatedRenderer(InProcessRenderer):
        def check(self, template: Template, /) -> frozenset[str]:
            entered.set()
            release.wait(30)
            return super().check(template)

    async with make_async_test_messenger() as messenger:
        messenger.ports.renderer.__class__ = GatedRenderer
        admin = attrs.evolve(clerk, permissions=clerk.permissions | {Permission.MANAGE_TEMPLATES})
        save = messenger.templates.save(admin, "t", subject="S", text="{{ x }}")
        saving = asyncio.ensure_future(save)
        waiting = asyncio.ensure_future(asyncio.to_thread(entered.wait, 30))
        await asyncio.wait([saving, waiting], return_when=asyncio.FIRST_COMPLETED)
        assert entered.is_set()
        assert not saving.done()
        assert await messenger.templates.list() == []  # the loop is free while check runs
        release.set()
        assert (await saving).variables == frozenset({"x"})
