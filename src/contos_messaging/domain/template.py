"""Templates: named, versioned sources of e-mails and SMS, and the bounds a source must keep
before it is compiled (:meth:`Template.check_limits`)."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from typing import Any

import attrs

from contos_messaging.domain.limits import Limits
from contos_messaging.domain.message import Channel
from contos_messaging.domain.sms import SmsPolicy
from contos_messaging.errors import InvalidInput, TemplateError

__all__ = ["Nesting", "Template", "template_nesting"]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}")
_LANG_RE = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")


def _lone_surrogate(text: str) -> int | None:
    """Where ``text`` holds a lone surrogate (which no encoding can store), else None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _check_name(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise InvalidInput(
            f"template name {value!r} must be 1-128 letters, digits, '_', '.', '-' or '/'"
        )


def _check_language(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not _LANG_RE.fullmatch(value):
        raise InvalidInput(f"template language {value!r} must look like 'cs' or 'en-GB'")


def _check_source(instance: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name != "subject":
        return
    if not isinstance(value, str):
        raise InvalidInput(f"template {attribute.name} must be text, got {type(value).__name__}")
    at = _lone_surrogate(value)
    if at is not None:
        raise TemplateError(
            f"contains a lone surrogate (U+{ord(value[at]):04X}), which is not text",
            template=instance.name,
            part=attribute.name,
            line=value.count("\n", 0, at) + 1,
        )


def _policy(value: object) -> SmsPolicy | None:
    if value is None or isinstance(value, SmsPolicy):
        return value
    if isinstance(value, str) and value in SmsPolicy._value2member_map_:
        return SmsPolicy(value)
    names = ", ".join(repr(p.value) for p in SmsPolicy)
    raise InvalidInput(f"sms_policy must be one of {names}, got {str(value)[:40]!r}")


def _channel(value: object) -> Channel:
    if isinstance(value, Channel):
        return value
    if isinstance(value, str) and value in Channel._value2member_map_:
        return Channel(value)
    names = ", ".join(repr(c.value) for c in Channel)
    raise InvalidInput(f"channel must be one of {names}, got {str(value)[:40]!r}")


def _check_author(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"template author must be an actor id, got {type(value).__name__}")
    at = _lone_surrogate(value)
    if at is not None:
        raise InvalidInput(f"template author {value!r} holds a lone surrogate, which is not text")


@attrs.frozen
class Template:
    """A template in one language and one version.

    E-mail templates have ``subject``, ``html`` and optionally ``text``; SMS ones only ``text``.
    Every save makes a new ``version``; messages record the version they were rendered from.
    ``variables`` lists the top-level names the template uses. Sources are text: a lone
    surrogate in one is refused with :class:`~contos_messaging.errors.TemplateError` naming the
    part and line. An SMS template may set its own ``sms_policy`` (``"auto"``,
    ``"transliterate"``, ``"ucs2"``) over the messenger's.

    .. versionchanged:: 0.5 ``sms_policy``
    """

    name: str = attrs.field(validator=_check_name)
    channel: Channel = attrs.field(converter=_channel)
    language: str = attrs.field(default="cs", validator=_check_language)
    subject: str = attrs.field(default="", validator=_check_source)
    html: str | None = attrs.field(default=None, validator=_check_source)
    text: str | None = attrs.field(default=None, validator=_check_source)
    version: int = 0
    variables: frozenset[str] = frozenset()
    created_by: str = attrs.field(default="", validator=_check_author)
    created_at: datetime | None = None
    retired: bool = False
    sms_policy: SmsPolicy | None = attrs.field(default=None, converter=_policy)

    def __attrs_post_init__(self) -> None:
        if self.channel is Channel.EMAIL:
            if not self.subject:
                raise InvalidInput(f"e-mail template {self.name!r} needs a subject")
            if not (self.html or self.text):
                raise InvalidInput(f"e-mail template {self.name!r} needs an HTML or text body")
            if self.sms_policy is not None:
                raise InvalidInput(f"e-mail template {self.name!r} cannot have an sms_policy")
        else:
            if not self.text:
                raise InvalidInput(f"SMS template {self.name!r} needs text")
            if self.html or self.subject:
                raise InvalidInput(f"SMS template {self.name!r} cannot have a subject or HTML")

    @property
    def sources(self) -> dict[str, str]:
        """The parts this template has, by name (``subject``, ``html``, ``text``)."""
        parts = {"subject": self.subject, "html": self.html, "text": self.text}
        return {part: source for part, source in parts.items() if source}

    def check_limits(self, limits: Limits, /) -> None:
        """Raise :class:`~contos_messaging.errors.LimitExceeded` for the first part longer than
        ``limits.template_chars`` or nested deeper than ``limits.template_depth`` (see
        :func:`template_nesting`). Run it before compiling: the size check comes first, so the
        scan is linear in at most ``template_chars`` characters."""
        for part, source in self.sources.items():
            where = f"the {part} of template {self.name!r}"
            limits.check("template_chars", where, len(source), "characters")
            nesting = template_nesting(source)
            what = f"the nesting depth of {where} (deepest at line {nesting.line})"
            limits.check("template_depth", what, nesting.depth)


@attrs.frozen
class Nesting:
    """How deeply a template source nests (``depth``) and the line where it is deepest."""

    depth: int
    line: int


# The scan reads a source as jinja2's lexer does (default delimiters, no line statements):
# data, comments and raw blocks are skipped; inside a tag, strings are skipped, brackets
# tracked one by one, and the operators in the runs between them counted a run at a time.
_PLAIN = r"""[^'"()\[\]{}%+\-,=~]*"""  # a tag body with no string, bracket, separator or end
_TAG = re.compile(
    rf"""
    \{{\{{[-+]?(?P<v>{_PLAIN})-?\}}\}}               # a plain variable tag, whole
    |\{{%[-+]?\s*(?P<n>\w*)(?P<b>{_PLAIN})[-+]?%\}}  # a plain block tag, whole
    |\{{(?P<k>[{{%\#])[-+]?                           # the start of any other tag
    """,
    re.VERBOSE,
)
_RAW_BEGIN = re.compile(r"\{%[-+]?\s*raw\s*-?%\}")
_RAW_END = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_TAG_NAME = re.compile(r"\s*(\w*)")
_TOKEN = re.compile(
    r"""
    (?P<r>(?:[^'"()\[\]{}%+\-]++|%(?!\})|[-+](?!%\}|\}\}))++)  # a run: no string, bracket, end
    |(?P<s>'[^'\\]*(?:\\.[^'\\]*)*'|"[^"\\]*(?:\\.[^"\\]*)*")  # a string: skipped
    |(?P<e>[-+]?%\}|[-+]?\}\})                                  # the end of a tag (or not)
    |(?P<o>[(\[{]+)
    |(?P<c>[)\]]+|\})
    |(?P<u>.)                                                   # a quote that opens no string
    """,
    re.VERBOSE | re.DOTALL,
)
# In a run: "," and "=" (not "==", "!=", "<=", ">=") put items, arguments and assignments side
# by side; each operator is one node, a comparison two (jinja2 wraps its operand), a chain of
# "~" one; the dot of a number (1.5, not x.1) is no attribute.
_SEPARATOR = re.compile(r",|(?<![=!<>])=(?!=)")
_ASSIGN = re.compile(r"(?<![=!<>])=(?!=)")
# (Each alternative starts with a character, which lets the regex engine skip ahead; a word
# is checked to stand alone after its first letter: "a(?<!\wa)nd(?!\w)" is "\band\b".)
_ONE = re.compile(
    r"\*\*|//|[-+*/%.:|;]"
    r"|a(?<!\wa)nd(?!\w)|o(?<!\wo)r(?!\w)|n(?<!\wn)ot(?!\w)|i(?<!\wi)[sf](?!\w)|e(?<!\we)lse(?!\w)"
)
_TWO = re.compile(r"==|!=|<=|>=|[<>]|i(?<!\wi)n(?!\w)")
_FLOAT = re.compile(r"\d(?<![\w.]\d)[\d_]*\.\d")  # not after a name or a dot: 1.5, not x1.5
_LAST_SEPARATOR = re.compile(r"(?s:.*)(?:,|(?<![=!<>])=(?!=))")
# A run with separators is measured at once, with no step per item: each node becomes "\x01",
# each "~" "\x02" and each separator "\x03"; the rest goes, and of an item's "\x02" only the
# last stays, so an item's depth is its length.
_MARKERS = str.maketrans("", "", "\x01\x02\x03")
_NOT_MARKER = re.compile(r"[^\x01-\x03]+")
_MORE_JOINS = re.compile(r"\x02(?=[^\x02\x03]*\x02)")
_PRISTINE = (1, 0, 0, False)  # an enclosing bracket that holds nothing but the next one
_KEYWORDS = frozenset(["and", "or", "not", "is", "if", "else", "in"])
_OPENERS = frozenset(["if", "for", "macro", "call", "filter", "with", "block", "autoescape"])


def template_nesting(source: str) -> Nesting:
    """How deeply ``source`` nests: the most block tags open at once (``{% if %}``,
    ``{% for %}``, ``{% macro %}``, ``{% call %}``, ``{% filter %}``, ``{% with %}``, a
    ``{% set %}`` block, ...) plus the depth of the expression in the tag there.

    An expression's depth counts what jinja2 nests: each bracket, operator, filter, test,
    attribute, call and subscript (a comparison twice: jinja2 wraps its operand), while items,
    arguments and assignments separated by ``,`` or ``=`` stand side by side, and a chain of
    ``~`` counts once. It bounds how deeply jinja2's parser and compiler recurse. One pass
    over the source, linear in its length.
    """
    deepest = deepest_at = blocks = pos = 0
    size = len(source)
    find_tag = _TAG.search
    while (tag := find_tag(source, pos)) is not None:
        kind, start = tag.group("k"), tag.start()
        plain = tag.group("v")
        if plain is not None:  # {{ client.name|upper }}: no brackets, one run
            depth = _plain_depth(plain)
            if blocks + depth > deepest:
                deepest, deepest_at = blocks + depth, start
            pos = tag.end()
            continue
        name = tag.group("n")
        if name is not None and not (name == "raw" and _RAW_BEGIN.match(source, start)):
            if name in _OPENERS or name == "set":  # {% if x %}, {% set x %} (no "=": a block)
                blocks += 1
            elif name.startswith("end") and blocks:
                blocks -= 1
            depth = _plain_depth(tag.group("b"))
            if blocks + depth > deepest:
                deepest, deepest_at = blocks + depth, start
            pos = tag.end()
            continue
        kind = kind or "%"
        if kind == "#":
            end = source.find("#}", tag.end())
            pos = size if end < 0 else end + 2
            continue
        name = ""
        body = tag.end()
        if kind == "%":
            raw = _RAW_BEGIN.match(source, start)
            if raw is not None:
                end_raw = _RAW_END.search(source, raw.end())
                pos = size if end_raw is None else end_raw.end()
                continue
            named = _TAG_NAME.match(source, body)
            assert named is not None  # \s*(\w*) always matches
            name, body = named.group(1), named.end()
        depth, pos, assigns = _expression_depth(source, body, "%}" if kind == "%" else "}}")
        if name in _OPENERS or (name == "set" and not assigns):
            blocks += 1
        elif name.startswith("end") and blocks:
            blocks -= 1
        if blocks + depth > deepest:
            deepest, deepest_at = blocks + depth, start
    return Nesting(depth=deepest, line=source.count("\n", 0, deepest_at) + 1)


def _operators(run: str) -> int:
    """The nodes the operators of ``run`` make, but for a chain of ``~``."""
    count = len(_ONE.findall(run))
    if "=" in run or "<" in run or ">" in run or "in" in run:
        count += 2 * len(_TWO.findall(run))
    if "." in run:
        count -= len(_FLOAT.findall(run))
    return count


def _plain_depth(body: str) -> int:
    """The depth of a tag body with no bracket, string, separator or ``~``."""
    word = body.strip()
    if not word or (word.isidentifier() and word not in _KEYWORDS):
        return 0
    return _operators(body)


def _segment(run: str) -> int:
    """The depth of one item (a run with no separator and no bracket)."""
    return _operators(run) + ("~" in run)


def _items(run: str) -> list[int]:
    """The depth of each item of ``run`` split at its separators, as :func:`_segment` has it,
    in a few passes over the run rather than a step per item."""
    marked = run.translate(_MARKERS)
    if "." in marked:
        marked = _FLOAT.sub("0", marked)
    if "=" in marked or "<" in marked or ">" in marked or "in" in marked:
        marked = _TWO.sub("\x01\x01", marked)  # "==", "<=", ... go before "=" separates
    marked = _ONE.sub("\x01", marked.replace(",", "\x03").replace("=", "\x03"))
    marked = _NOT_MARKER.sub("", marked.replace("~", "\x02"))
    return list(map(len, _MORE_JOINS.sub("", marked).split("\x03")))


def _expression_depth(source: str, pos: int, end: str) -> tuple[int, int, bool]:
    """The depth of the expression in the tag whose body starts at ``pos``; where the tag
    ends; and whether it assigns (``=`` outside brackets). A segment's depth is its operators
    (a bracket counts as one) plus the deepest bracket in it; a level's depth is its deepest
    segment."""
    ops = child = best = 0
    joined = assigns = False
    outer: list[tuple[int, int, int, bool]] = []
    match = _TOKEN.match
    while (token := match(source, pos)) is not None:
        kind = token.lastgroup
        pos = token.end()
        if kind == "r":
            run = token.group()
            if "," not in run and "=" not in run:
                ops += _operators(run) + ("~" in run and not joined)
                joined = joined or "~" in run
                continue
            separator = _SEPARATOR.search(run)
            if separator is None:  # "=" only in "==", "<=", ...
                ops += _operators(run) + ("~" in run and not joined)
                joined = joined or "~" in run
                continue
            items = _items(run)
            first = items[0] - (joined and "~" in run[: separator.start()])
            best = max(best, ops + first + child, max(items[1:-1], default=0))
            last = _LAST_SEPARATOR.match(run)
            assert last is not None  # there is a separator
            ops, child, joined = items[-1], 0, "~" in run[last.end() :]
            assigns = assigns or (not outer and _ASSIGN.search(run) is not None)
        elif kind == "o":
            outer.append((ops + 1, child, best, joined))
            outer.extend(itertools.repeat(_PRISTINE, pos - token.start() - 1))
            ops = child = best = 0
            joined = False
        elif kind == "c":
            for _ in range(pos - token.start()):
                if not outer:
                    break
                inner = max(best, ops + child)
                ops, child, best, joined = outer.pop()
                child = max(child, inner)
        elif kind == "e":
            text = token.group()
            if not outer and text.endswith(end):
                return max(best, ops + child), pos, assigns
            # Not this tag's end: its first character is an operator or a closing brace.
            if text[0] == "}":
                if outer:
                    inner = max(best, ops + child)
                    ops, child, best, joined = outer.pop()
                    child = max(child, inner)
            else:
                ops += 1
            pos = token.start() + 1
    while outer:  # a tag open at the end of the source counts to there
        inner = max(best, ops + child)
        ops, child, best, joined = outer.pop()
        child = max(child, inner)
    return max(best, ops + child), len(source), assigns
