"""Text of the domain, by concern: HTML as text (:mod:`.html_text`), folding for
diacritic-insensitive matching (:mod:`.folding`), splitting into words (:mod:`.tokens`) and
highlighting matches (:mod:`.highlight`). The names below are the ones the rest of the library
imports from here.
"""

from contos_messaging.domain.text.folding import fold, fold_part
from contos_messaging.domain.text.highlight import Highlighter
from contos_messaging.domain.text.html_text import html_to_text, plain_text_quick
from contos_messaging.domain.text.tokens import search_phrases, search_terms, search_words, words

__all__ = [
    "Highlighter",
    "fold",
    "fold_part",
    "html_to_text",
    "plain_text_quick",
    "search_phrases",
    "search_terms",
    "search_words",
    "words",
]
