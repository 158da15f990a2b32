"""The render path's shortcuts give exactly what the code they replaced gave, kept here as the
reference: the quick look for lone surrogates among the variables (the careful search still
names the first one), the filter guards specialised by filter, ``money``'s grouping, and
rendering without ``Template.generate``'s second generator (a failure names the same part,
reason, template line and variable)."""

from __future__ import annotations

import collections
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contos_messaging.adapters.rendering import budget as budget_module
from contos_messaging.adapters.rendering import filters, sandbox
from contos_messaging.adapters.rendering.filters import NBSP
from contos_messaging.adapters.rendering.sandbox import (
    MAX_FILTER_ARGUMENT,
    BudgetExceeded,
    RenderFailure,
    compile_parts,
    make_environment,
    render_parts,
)
from contos_messaging.adapters.rendering.surrogates import (
    lone_surrogate,
    variable_with_lone_surrogate,
)

# --- the references: the code as it was before the shortcuts ---

_CONTAINERS = (Mapping, list, tuple, set, frozenset)


def _ref_path(parent: str, key: object, mapping: bool) -> str:
    if not mapping:
        return f"{parent}[{key}]"
    if isinstance(key, str) and key.isidentifier() and lone_surrogate(key) is None:
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{key!r}]" if parent else repr(key)


def ref_variable_with_lone_surrogate(variables: Any) -> tuple[str, str] | None:
    seen: set[int] = set()
    pending: list[tuple[str, Any]] = [("", variables)]
    while pending:
        parent, container = pending.pop()
        if id(container) in seen:
            continue
        seen.add(id(container))
        mapping = isinstance(container, Mapping)
        items: Iterable[tuple[object, Any]] = container.items() if mapping else enumerate(container)
        for key, value in items:
            if isinstance(key, str) and (code := lone_surrogate(key)) is not None:
                return _ref_path(parent, key, mapping), code
            if isinstance(value, str):
                if (code := lone_surrogate(value)) is not None:
                    return _ref_path(parent, key, mapping), code
            elif isinstance(value, _CONTAINERS):
                pending.append((_ref_path(parent, key, mapping), value))
    return None


def ref_money(value: Any, currency: str = "Kč", decimals: int = 2) -> str:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    try:
        number = Decimal(str(value).replace(NBSP, "").replace(" ", "").replace(",", "."))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc
    amount = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = sign + NBSP.join(groups) + ("," + fraction if fraction else "")
    return f"{text}{NBSP}{currency}" if currency else text


def ref_guard(budget: sandbox.Budget, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 2 if getattr(func, "jinja_pass_arg", None) is not None else 1

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget.tick()
        options = [*args[skip:], *kwargs.values()]
        for arg in options:
            if isinstance(arg, int) and not isinstance(arg, bool) and arg > MAX_FILTER_ARGUMENT:
                raise BudgetExceeded(
                    f"filter {name!r} got an argument over {MAX_FILTER_ARGUMENT:,}"
                )
        value = args[skip - 1] if len(args) >= skip else None
        if name == "replace" and isinstance(value, str) and len(options) >= 2:
            old, new = str(options[0]), str(options[1])
            count = value.count(old) if old else len(value) + 1
            budget.size(len(value) + count * max(0, len(new) - len(old)), "replace")
        if name == "format" and isinstance(value, str) and budget_module.WIDE_FORMAT.search(value):
            raise BudgetExceeded("a %-format width or precision over 999")
        result = func(*args, **kwargs)
        if isinstance(result, str):
            budget.size(len(result), f"filter {name!r}")
        return result

    return guarded


def ref_render_text(env: Any, template: Any, variables: Mapping[str, Any]) -> str:
    """The text part as ``render_parts`` rendered it, through ``Template.generate``."""
    total, chunks = 0, []
    try:
        for chunk in template.generate(variables):
            total += len(chunk)
            if total > env.budget.max_chars:
                env.budget.size(total, "the text")
            chunks.append(chunk)
    except Exception as exc:  # as render_parts: every failure becomes a RenderFailure
        raise sandbox._failure("text", exc) from None
    return "".join(chunks)


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except RenderFailure as failure:
        return "failed", (failure.part, failure.reason, failure.line, failure.variable)
    except Exception as exc:  # the comparison is the point: any error, by type and message
        return "raised", (type(exc), str(exc))


# --- lone surrogates among the variables ---


class _Record(collections.UserDict):  # type: ignore[type-arg]
    """A Mapping that is not a dict."""


class _Name(str):
    """Text of a subclass of str."""


_TEXT = st.text(st.sampled_from(list("aZ0 _áčŘž\u00a0\ud800\udc00\udfff\U0001f600")), max_size=6)
_KEYS = st.one_of(_TEXT, st.integers(-3, 3), st.tuples(_TEXT), _TEXT.map(_Name))
_LEAVES = st.one_of(
    _TEXT,
    _TEXT.map(_Name),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.dates(),
    st.datetimes(),
    st.decimals(allow_nan=False),
    st.binary(max_size=4),
)
_VARIABLES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(_KEYS, inner, max_size=4),
        st.dictionaries(_KEYS, inner, max_size=3).map(_Record),
        st.dictionaries(_KEYS, inner, max_size=3).map(collections.OrderedDict),
        st.frozensets(_TEXT, max_size=3),
        st.sets(st.one_of(_TEXT, st.integers()), max_size=3),
    ),
    max_leaves=16,
)


@settings(max_examples=600)
@given(st.dictionaries(_KEYS, _VARIABLES, max_size=5), st.booleans())
def test_the_quick_look_for_lone_surrogates_finds_what_the_careful_search_found(
    variables: dict[Any, Any], cyclic: bool
) -> None:
    if cyclic:
        variables["self"] = variables
        variables["list"] = [variables, variables.get("self")]
    assert variable_with_lone_surrogate(variables) == ref_variable_with_lone_surrogate(variables)


@pytest.mark.parametrize(
    "variables",
    [
        {"client": {"name": "Dvořák", "due": dt.date(2026, 12, 15)}, "total": 1506.75},
        {"client": _Record({"name": "Jan\udc00"})},
        {"client": {"name": _Name("Eva\ud800")}},
        {_Name("\ud800"): 1},
        {"items": ["a", ("b", "c\ud800")]},
        {"x": "ok", "client": {"\ud800": 1}},
        {"later": "\U0001f600 ok", "bytes": b"\xed\xa0\x80", "when": dt.datetime(2026, 1, 1)},
    ],
)
def test_known_variables_are_named_as_before(variables: dict[str, Any]) -> None:
    assert variable_with_lone_surrogate(variables) == ref_variable_with_lone_surrogate(variables)


# --- money ---

_AMOUNTS = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(st.sampled_from(list("0123456789 ,.-e\u00a0x")), max_size=12),
    st.sampled_from([10**30, -0.0, 0.5, 0.005, 0.015, 1e16, 1e-7, "1 234,5", "nan", None]),
)


@settings(max_examples=800)
@given(
    _AMOUNTS,
    st.sampled_from(["Kč", "", "EUR"]),
    st.one_of(st.integers(-4, 9), st.sampled_from([True, 2.0, "2", None])),
)
def test_money_is_what_it_was(value: Any, currency: str, decimals: Any) -> None:
    assert _outcome(lambda: filters.money(value, currency, decimals)) == _outcome(
        lambda: ref_money(value, currency, decimals)
    )


# --- the filter guards ---

_FILTER_CALLS = [
    ("replace", ("abc" * 10, "b", "x" * 50)),
    ("replace", ("abc", "", "yy")),
    ("replace", ("abc" * 100_000, "b", "x" * 5)),
    ("replace", ("abc",), {"old": "a", "new": "b"}),
    ("format", ("%s and %s", 1, 2)),
    ("format", ("%9999s", 1)),
    ("format", ("{0}",), {"x": 1}),
    ("center", ("x", 100_001)),
    ("center", ("x", 80)),
    ("truncate", ("long text " * 5, 12)),
    ("truncate", ("long text",), {"length": 200_000}),
    ("indent", ("a\nb", 4)),
    ("wordwrap", ("word " * 20, 10)),
    ("join", (["a", "b"], ", ")),
    ("join", (["a", "b"],), {"d": "-"}),
    ("money", (1263.5,)),
    ("money", (1263.5, "EUR", 3)),
    ("money", (1, "Kč", 200_000)),
    ("money", (True,)),
    ("salutation", ("Novák",)),
    ("salutation", ("Nováková",), {"formal": False}),
    ("plural", (3, "zpráva", "zprávy", "zpráv")),
    ("date_cz", (dt.date(2026, 12, 4),), {"long": True}),
    ("date_cz", ("not a date",)),
    ("upper", ("x" * 50,)),
    ("upper", ("x" * 50, "extra")),
    ("round", (2.5, 100_001)),
    ("default", (None, "x" * 40)),
    ("unknown_args", ()),
]


@pytest.mark.parametrize("call", _FILTER_CALLS, ids=lambda c: c[0])
@pytest.mark.parametrize("max_chars", [1_000_000, 30])
def test_a_guarded_filter_passes_and_refuses_what_the_old_guard_did(
    call: tuple[Any, ...], max_chars: int
) -> None:
    name, args, kwargs = (*call, {}) if len(call) == 2 else call
    env = make_environment()
    if name not in env.filters:
        name = "upper"
    raw = env.filters[name].__wrapped__
    ref = ref_guard(env.budget, name, raw)
    ours = env.filters[name]
    assert getattr(ours, "jinja_pass_arg", None) == getattr(raw, "jinja_pass_arg", None)
    passed = getattr(raw, "jinja_pass_arg", None)
    if passed is not None:  # (jinja's filters that take the environment or a context first)
        context = env.from_string("").new_context()
        first = {"environment": env, "context": context, "eval_context": context.eval_ctx}
        args = (first[passed.name], *args)
    env.budget.start(60.0, max_chars)
    assert _outcome(lambda: ours(*args, **kwargs)) == _outcome(lambda: ref(*args, **kwargs))


def test_a_guarded_filter_checks_the_deadline() -> None:
    env = make_environment()
    env.budget.start(-1.0, 1_000)
    for name in ("money", "upper", "replace", "format"):
        with pytest.raises(BudgetExceeded, match="longer than its time limit"):
            env.filters[name]("x" if name != "money" else 1)


# --- rendering without Template.generate ---

_TEMPLATES = [
    "Dobrý den {{ client.name }},\n{{ order.total|money }}",
    "a\nb\n{{ missing.thing }}",
    "a\n{{ client.nope }}",
    "line 1\nline 2\n{{ 1 // 0 }}",
    "{{ client.name|money }}",
    "x\n{% for i in range(10) %}{{ 'y' * 10 }}{% endfor %}",
    "x\n\n{% for i in range(1000) %}{{ client.name }}{% endfor %}",
    "{{ ''.__class__.__mro__ }}",
    "{{ client.name.__class__ }}",
    "{{ 'x' * 10000000 }}",
    "{{ range(10000000)|list }}",
    "{% for i in range(3) %}\n{{ order.items[i] }}\n{% endfor %}",
    "{{ lipsum() }}",
    "{{ '%99999s'|format(1) }}",
    '{{ "\\ud800" }}',
]
_CONTEXTS = [
    {"client": {"name": "Nováková"}, "order": {"total": 1506.75, "items": [1, 2]}},
    {"client": {"name": "x" * 50}, "order": {"total": "abc"}},
    {"client": {}, "order": {}},
]


@pytest.mark.parametrize("source", _TEMPLATES)
@pytest.mark.parametrize("context", _CONTEXTS)
@pytest.mark.parametrize("max_chars", [1_000_000, 40])
def test_rendering_gives_and_fails_as_through_template_generate(
    source: str, context: dict[str, Any], max_chars: int
) -> None:
    env = make_environment()
    compiled = compile_parts(env, {"text": source})  # (every source here compiles)
    ours = _outcome(
        lambda: render_parts(env, compiled, context, seconds=5.0, max_chars=max_chars)["text"]
    )
    env.budget.start(5.0, max_chars)
    try:
        made = _outcome(lambda: ref_render_text(env, compiled["text"], context))
    finally:
        env.budget.start(float("inf"), max_chars)
    if made[0] == "ok" and lone_surrogate(made[1]) is not None:
        made = (
            "failed",
            ("text", "the output holds a lone surrogate (U+D800), which is not text", None, None),
        )
    assert ours == made
