"""The render worker skips looking for lone surrogates in variables only when the request's
bytes show there are none: any string holding one, however nested, shows in them."""

from __future__ import annotations

import datetime as dt
import pickle

from hypothesis import given
from hypothesis import strategies as st

from contos_messaging.adapters.rendering.surrogates import (
    lone_surrogate,
    pickle_may_hold_lone_surrogate,
    variable_with_lone_surrogate,
)

# (Alphabets of a few characters: Hypothesis's table of every character would stay in the
# memory of the test process.)
_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
_TEXT = st.text(
    st.sampled_from(list("aZ0 áčŘž\u00a0\ud7ff\ue000\uffff\U0001f600\U0010ffff")), max_size=20
)
_PLAIN = st.recursive(
    st.one_of(_TEXT, st.integers(), st.floats(allow_nan=False), st.dates(), st.binary()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(_TEXT, inner, max_size=4),
        st.frozensets(_TEXT, max_size=3),
    ),
    max_leaves=12,
)


@given(_PLAIN, _TEXT, _SURROGATES, _TEXT, st.booleans())
def test_a_lone_surrogate_anywhere_in_the_variables_shows_in_their_pickle(
    variables: object, before: str, surrogate: str, after: str, as_key: bool
) -> None:
    bad = before + surrogate + after
    nested = {"client": {bad: 1} if as_key else [variables, {"name": bad}], "other": variables}
    data = pickle.dumps(("key", {}, [nested], 5.0, 100), protocol=pickle.HIGHEST_PROTOCOL)
    assert pickle_may_hold_lone_surrogate(data)
    assert variable_with_lone_surrogate(nested) is not None


_TEXTS = st.recursive(
    _TEXT,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)


@given(_TEXTS)
def test_text_without_one_is_never_suspected_so_the_worker_skips_the_search(
    variables: object,
) -> None:
    data = pickle.dumps({"v": variables}, protocol=pickle.HIGHEST_PROTOCOL)
    assert not pickle_may_hold_lone_surrogate(data)
    assert variable_with_lone_surrogate({"v": variables}) is None


def test_plain_czech_variables_are_not_suspected_and_the_first_surrogate_is_named() -> None:
    variables = {"client": {"name": "Dvořák", "due": dt.date(2026, 12, 15)}, "total": 1506.75}
    assert not pickle_may_hold_lone_surrogate(pickle.dumps(variables, protocol=5))
    assert lone_surrogate("Vyúčtování") is None
    assert lone_surrogate("ok \udc80 a \ud800") == "U+DC80"
    assert lone_surrogate("\U0001f600 emoji") is None
