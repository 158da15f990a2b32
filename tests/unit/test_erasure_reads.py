"""Pages with entries of an erased client: those entries are left out and counted in
``Page.erased``, the page's other fields keep their meaning, and paging goes on past them."""

from __future__ import annotations

from contos_messaging.domain.page import Page


def test_a_page_without_erased_entries_reads_as_before():
    page = Page(("a", "b"), 5, 2, 0)
    assert page.erased == 0
    assert (len(page), list(page), page.has_more) == (2, ["a", "b"], True)
    assert not Page(("a",), 1, 10, 0).has_more


def test_erased_entries_count_towards_paging_but_are_not_items():
    """Two of a three-entry page belong to an erased client: the one left is the page, and
    the page after it starts at offset + len(items) + erased."""
    page = Page(("c",), 4, 3, 0, erased=2)
    assert list(page) == ["c"]
    assert page.has_more  # one entry follows the three this page covered
    assert page.offset + len(page) + page.erased == 3
    assert not Page(("d",), 4, 3, 3).has_more


def test_a_page_of_erased_entries_only_is_empty_and_may_have_more():
    page = Page((), 2, 1, 0, erased=1)
    assert (len(page), page.has_more) == (0, True)
    assert not Page((), 2, 1, 1, erased=1).has_more
