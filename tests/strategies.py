"""Hypothesis strategies for the domain."""

from __future__ import annotations

from hypothesis import strategies as st

_atext = "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~"
local_parts = st.text(alphabet=_atext, min_size=1, max_size=20).filter(
    lambda s: not s.startswith(".") and not s.endswith(".")
)
labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
czech_labels = st.text(alphabet="abcdeěščřžýáíéůúňťď", min_size=2, max_size=10)
domains = st.builds(
    lambda parts, tld: ".".join([*parts, tld]),
    st.lists(st.one_of(labels, czech_labels), min_size=1, max_size=3),
    st.sampled_from(["cz", "com", "sk", "eu", "org"]),
)
addr_specs = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
display_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Co", "Zl", "Zp", "Cf")),
    max_size=30,
)
