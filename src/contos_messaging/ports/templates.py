"""Template repository port: named templates, every save a new version."""

from __future__ import annotations

from typing import Protocol

from contos_messaging.domain.template import Template

__all__ = ["TemplateRepository"]


class TemplateRepository(Protocol):
    """**Protocol**: stores template versions.

    Versions count per (name, language) from 1; old versions stay readable for ever (messages
    record the version they used). Retiring hides a template from :meth:`get` without a version
    and from :meth:`list_templates`; its versions stay readable by number.

    .. versionadded:: 0.1
    """

    async def save_template(self, template: Template, /) -> Template:
        """Store ``template`` as the next version of its name and language; return it with
        ``version`` and ``created_at`` filled in."""
        ...

    async def get_template(
        self, name: str, /, *, language: str = "cs", version: int | None = None
    ) -> Template:
        """The latest version (or ``version``);
        :class:`~contos_messaging.errors.TemplateNotFound` if there is none."""
        ...

    async def list_templates(self) -> list[Template]:
        """The latest version of every template and language that is not retired, by name."""
        ...

    async def retire_template(self, name: str, /) -> int:
        """Retire every language of ``name``; return how many versions were affected."""
        ...

    async def aclose(self) -> None:
        """Release resources (a no-op when the message repository also holds the templates)."""
        ...
