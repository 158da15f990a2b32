"""Template renderer port."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from contos_messaging.domain.sms import SmsEncoding
from contos_messaging.domain.template import Template
from contos_messaging.domain.text import html_to_text
from contos_messaging.errors import TemplateError

__all__ = ["RenderedParts", "TemplateRenderer"]


@attrs.frozen
class RenderedParts:
    """A rendered template: subject and HTML (e-mail) and the text part when the template has
    one (SMS templates always do). :attr:`plain_text` is the text part or, for HTML-only
    templates, the plain-text alternative generated from the HTML."""

    subject: str
    html: str | None
    text: str | None
    safe_html: str = ""
    """How ``html`` was sanitised by the renderer: ``"local"`` (no remote images),
    ``"remote"`` (remote images kept) or ``""`` (not: the composer sanitises it).

    .. versionadded:: 0.5
    """
    sms: SmsEncoding | None = None
    """In a preview of an SMS template: what the text costs (encoding, segments, characters
    left) under the messenger's SMS policy, which ``text`` is already shown after.

    .. versionadded:: 0.5
    """

    @property
    def plain_text(self) -> str:
        """The text part, or the plain-text alternative generated from the HTML."""
        if self.text is not None:
            return self.text
        return html_to_text(self.html) if self.html else ""


class TemplateRenderer(Protocol):
    """**Protocol**: renders templates in a sandbox with bounded time, output and memory.

    .. versionadded:: 0.1
    """

    def check(self, template: Template, /) -> frozenset[str]:
        """Parse every part; return the top-level variables it uses. Raises
        :class:`~contos_messaging.errors.TemplateError` naming the part and line."""
        ...

    async def render(
        self, template: Template, contexts: Sequence[Mapping[str, Any]], /
    ) -> list[RenderedParts | TemplateError]:
        """Render ``template`` once per context; each result is the parts or the error."""
        ...

    async def aclose(self) -> None:
        """Stop worker processes."""
        ...
