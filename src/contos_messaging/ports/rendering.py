"""Template renderer port."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from contos_messaging.domain.template import Template
from contos_messaging.errors import TemplateError

__all__ = ["RenderedParts", "TemplateRenderer"]


@attrs.frozen
class RenderedParts:
    """A rendered template: subject and HTML (e-mail), text (always; generated from the HTML
    when the template has no text part)."""

    subject: str
    html: str | None
    text: str


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
