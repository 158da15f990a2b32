"""Safe HTML for e-mail bodies: what an editor or a template produced, cut down to an allowlist
that suits e-mail, with Ammonia (the ``nh3`` binding), a maintained HTML5 sanitiser.

Kept: text formatting, headings, lists, quotes, tables (with the layout attributes e-mail
clients still use), links (``http``, ``https``, ``mailto``, ``tel``; opened with ``rel="noopener
noreferrer"``), images embedded in the message (``cid:``), ``class``, inline styles limited to
properties that cannot load anything (colours, fonts, text, spacing, borders, sizes) and
``<style>`` blocks (as e-mail templates use them) without any rule that could load or run
something (``@import``, ``@font-face``, ``url(``, ``expression``, ``behavior``, bindings; a
block with CSS escapes is dropped whole, as escapes can spell any of them). Dropped: scripts with
their content, event handlers (``onerror=``), ``javascript:`` and ``data:`` URLs, forms, frames,
objects, ``<base>``, ``<meta>``, ``<title>`` and every other tag and attribute not listed (the
``<html>``, ``<head>`` and ``<body>`` tags go, their content stays). A host that shows message
HTML inside its own page should do so in a sandboxed ``<iframe srcdoc>``: a ``<style>`` block
styles the page it is in. Images from the web (``http:`` / ``https:`` ``src``) load a tracker
or leak that the message was opened, so they are dropped too unless the host allows them
(``MessengerSettings(remote_images=True)``).

A message's text alternative is derived from the sanitised HTML, so it never holds what was
cut away.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from html.parser import HTMLParser

import attrs
import nh3

from contos_messaging.domain.message import Message
from contos_messaging.errors import InvalidMessage

__all__ = ["ALLOWED_STYLE_PROPERTIES", "ALLOWED_TAGS", "safe_html", "with_safe_html"]

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption",
        "center", "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt",
        "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
        "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
        "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
        "wbr",
    }
)  # fmt: skip
# Removed with everything inside them (not only the tags).
_DROPPED_WITH_CONTENT = {
    "script", "style", "template", "noscript", "title", "textarea", "select",
}  # fmt: skip
_EVERYWHERE = {
    "style", "class", "dir", "lang", "title", "align", "valign", "width", "height", "bgcolor",
}  # fmt: skip
_ATTRIBUTES = {
    "*": _EVERYWHERE,
    "a": {"href", "name"},
    "img": {"src", "alt", "border"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing", "summary"},
    "td": {"colspan", "rowspan", "headers", "nowrap"},
    "th": {"colspan", "rowspan", "headers", "scope", "nowrap"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
}
# Properties that take no URL (``background`` and ``list-style`` shorthands can: left out).
ALLOWED_STYLE_PROPERTIES = frozenset(
    {
        "color", "background-color", "font", "font-family", "font-size", "font-style",
        "font-weight", "font-variant", "text-align", "text-decoration", "text-indent",
        "text-transform", "letter-spacing", "word-spacing", "line-height", "white-space",
        "vertical-align", "direction", "margin", "margin-top", "margin-right",
        "margin-bottom", "margin-left", "padding", "padding-top", "padding-right",
        "padding-bottom", "padding-left", "border", "border-top", "border-right",
        "border-bottom", "border-left", "border-color", "border-style", "border-width",
        "border-collapse", "border-spacing", "border-radius", "width", "min-width",
        "max-width", "height", "min-height", "max-height", "display", "list-style-type",
        "table-layout", "caption-side", "empty-cells",
    }
)  # fmt: skip
_LINK_SCHEMES = ("http:", "https:", "mailto:", "tel:", "#")


def _inline_images_only(remote: bool) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            lowered = value.strip().lower()
            if lowered.startswith("cid:"):
                return value
            if remote and lowered.startswith(("https:", "http:")):
                return value
            return None
        if tag == "a" and attribute == "href":
            lowered = value.strip().lower()
            return value if lowered.startswith(_LINK_SCHEMES) or ":" not in lowered else None
        return value

    return keep


@functools.cache
def _cleaner(remote_images: bool) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        attribute_filter=_inline_images_only(remote_images),
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        filter_style_properties=set(ALLOWED_STYLE_PROPERTIES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


_CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.DOTALL)
_CSS_AT_RULES = re.compile(r"@import[^;]*;?|@font-face\s*\{[^}]*\}?", re.IGNORECASE)
_CSS_LOADING = re.compile(
    r"[^;{}]*(url\s*\(|image-set|image\s*\(|expression|behavior|binding|javascript:)[^;{}]*;?",
    re.IGNORECASE,
)


def _safe_css(css: str) -> str:
    """A style sheet without anything that loads or runs something; empty when it holds CSS
    escapes (which can spell anything) or a ``<``."""
    css = _CSS_COMMENT.sub("", css)
    if "\\" in css or "<" in css:
        return ""
    return _CSS_LOADING.sub("", _CSS_AT_RULES.sub("", css)).strip()


class _StyleSheets(HTMLParser):
    """The text of every ``<style>`` element, as Python's HTML tokenizer reads it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.sheets: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self._open = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._open is not None:
            self.sheets.append("".join(self._open))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)


def _style_block(html: str) -> str:
    """The ``<style>`` elements of ``html`` as one sanitised block (a style sheet applies
    wherever it stands, so the block goes first), or nothing."""
    if "<style" not in html.lower():
        return ""
    reader = _StyleSheets()
    try:
        reader.feed(html)
        reader.close()
    except Exception:  # (a tokenizer failure loses the styles, never the message)
        return ""
    css = "\n".join(filter(None, (_safe_css(sheet) for sheet in reader.sheets)))
    return f"<style>{css}</style>" if css else ""


def safe_html(html: str, *, remote_images: bool = False) -> str:
    """``html`` with everything outside the allowlist removed (see the module's text)."""
    return _style_block(html) + _cleaner(remote_images).clean(html)


def with_safe_html(message: Message, *, remote_images: bool = False) -> Message:
    """``message`` with its HTML body sanitised (:func:`safe_html`); InvalidMessage when
    nothing of an HTML-only body is left (it held only scripts, styles or forms)."""
    if message.html is None:
        return message
    clean = safe_html(message.html, remote_images=remote_images)
    if clean == message.html:
        return message
    shown = clean.partition("</style>")[2] if clean.startswith("<style>") else clean
    if not shown.strip() and not message.text:
        raise InvalidMessage(
            "html", "holds nothing that can be sent safely (only scripts, styles, forms or frames)"
        )
    return attrs.evolve(message, html=clean if shown.strip() else None)
