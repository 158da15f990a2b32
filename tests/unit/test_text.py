"""Snippets and the quick text of HTML."""

from __future__ import annotations

from contos_messaging.domain.text import (
    Highlighter,
    fold,
    plain_text_quick,
    search_phrases,
    search_terms,
    search_words,
)


def test_plain_text_quick_drops_head_scripts_styles_comments_and_tags():
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body><!-- x -->"
        "<script>alert(1)</script><p>Vážený&nbsp;pane</p><p>Dvořáku</p></body></html>"
    )
    assert plain_text_quick(html).split() == ["Vážený", "pane", "Dvořáku"]


def test_a_text_snippet_marks_every_word_starting_with_a_term_whatever_its_case_or_accents():
    highlight = Highlighter(search_terms("dvorak PLZ"))
    snippet = highlight.text("Pan DVOŘÁK z Plzně a paní Dvořáková.")
    assert snippet == (
        "Pan <mark>DVOŘÁK</mark> z <mark>Plzně</mark> a paní <mark>Dvořáková</mark>."
    )


def test_a_snippet_is_escaped_html():
    snippet = Highlighter(["faktura"]).text('<script>alert("x")</script> faktura & spol.')
    assert "<script>" not in snippet
    assert "&lt;script&gt;" in snippet
    assert "<mark>faktura</mark> &amp; spol." in snippet


def test_a_long_text_is_cut_around_the_first_match():
    text = "úvod " * 100 + "splatnost faktury " + "závěr " * 100
    snippet = Highlighter(["splatnost"]).text(text)
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert "<mark>splatnost</mark>" in snippet
    assert len(snippet) < 260


def test_an_html_snippet_skips_words_inside_tags_and_shows_the_start_without_a_match():
    html = '<body><p title="provize">Úvodní věta.</p><p>Vaše provize činí 100 Kč.</p></body>'
    assert Highlighter(["provize"]).html(html) == (
        "Úvodní věta. Vaše <mark>provize</mark> činí 100 Kč."
    )
    assert Highlighter(["nic"]).html(html) == "Úvodní věta. Vaše provize činí 100 Kč."


def test_an_html_snippet_never_starts_or_ends_inside_a_tag():
    html = (
        "<body>"
        + '<p class="odstavec">text</p>' * 200
        + "<p>hledané slovo</p>"
        + ('<p class="odstavec">text</p>' * 200)
        + "</body>"
    )
    snippet = Highlighter(["hledane"]).html(html)
    assert "<mark>hledané</mark> slovo" in snippet
    assert "odstavec" not in snippet
    assert "&lt;" not in snippet
    assert "&gt;" not in snippet


def test_marks_never_land_inside_the_entities_escaping_made():
    snippet = Highlighter(["amp", "quot", "x27", "lt", "faktura"]).text(
        'R&D <tag> "citace" it\'s #faktura amplion'
    )
    assert snippet == (
        "R&amp;D &lt;tag&gt; &quot;citace&quot; it&#x27;s #<mark>faktura</mark> "
        "<mark>amplion</mark>"
    )


def test_an_html_snippet_never_shows_scripts_styles_or_comments_even_when_they_match_first():
    html = (
        "<html><head><title>provize</title></head><body><!-- provize v komentáři -->"
        "<script>var provize = 1;</script><style>.provize{}</style>"
        "<p>Úvod.</p><p>Vaše provize činí 100 Kč.</p></body></html>"
    )
    assert Highlighter(["provize"]).html(html) == "Úvod. Vaše <mark>provize</mark> činí 100 Kč."


def test_a_script_after_the_extract_does_not_change_it():
    html = (
        "<body><p>Vaše provize činí 100 Kč.</p>"
        + "<p>další text</p>" * 100
        + "<script>var provize = 1;</script></body>"
    )
    snippet = Highlighter(["provize"]).html(html)
    assert snippet.startswith("Vaše <mark>provize</mark> činí 100 Kč. další text")
    assert snippet.endswith("…")
    assert "var" not in snippet


def test_fold_lowers_strips_marks_and_makes_other_non_ascii_characters_separators():
    assert fold("Dvořák ŽLUŤOUČKÝ") == "dvorak zlutoucky"
    assert search_words(fold("Po–Pá 8:00–17:00")) == ["po", "pa", "8", "00", "17", "00"]
    assert search_words(fold("„Smlouva“ č. 5")) == ["smlouva", "c", "5"]
    assert fold("Łódź Ærø") == "lodz aero"
    assert fold("Москва, Dvořák") == "москва, dvorak"  # other scripts keep their letters


def test_phrases_keep_their_words_in_order_repeats_included():
    assert search_phrases('"tak a TAK" dvořák "jediné"') == [["tak", "a", "tak"]]
    assert search_terms('"tak a TAK" dvořák') == ["tak", "a", "dvorak"]


def test_fold_gives_a_latin_word_the_same_form_whatever_else_the_text_holds():
    for word in ("Łódź", "Dvořák", "Ærø"):
        alone = search_words(fold(word))
        assert search_words(fold(f"Москва {word}"))[1:] == alone
        assert search_words(fold(f"Praha – {word}"))[1:] == alone
