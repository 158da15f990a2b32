"""In-memory template repository (fake)."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from contos_messaging.adapters._shared.text import require_storable
from contos_messaging.domain.template import Template
from contos_messaging.errors import TemplateNotFound

__all__ = ["InMemoryTemplateRepository"]


class InMemoryTemplateRepository:
    """Template versions in a dictionary keyed by (name, language)."""

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], list[Template]] = {}
        self._retired: set[str] = set()

    def _view(self, template: Template) -> Template:
        return attrs.evolve(template, retired=template.name in self._retired)

    async def save_template(self, template: Template, /) -> Template:
        """Store the next version (a retired name becomes active again)."""
        versions = self._versions.setdefault((template.name, template.language), [])
        stored = attrs.evolve(
            template,
            version=len(versions) + 1,
            created_at=template.created_at or datetime.now(UTC),
            retired=False,
        )
        versions.append(stored)
        self._retired.discard(template.name)
        return stored

    async def get_template(
        self, name: str, /, *, language: str = "cs", version: int | None = None
    ) -> Template:
        """Latest or a given version."""
        require_storable("templates", name, language)
        versions = self._versions.get((name, language), [])
        if version is None:
            if not versions or name in self._retired:
                raise TemplateNotFound(name)
            return self._view(versions[-1])
        if not 1 <= version <= len(versions):
            raise TemplateNotFound(name, version)
        return self._view(versions[version - 1])

    async def list_templates(self) -> list[Template]:
        """Latest versions, not retired."""
        latest = [v[-1] for v in self._versions.values() if v and v[-1].name not in self._retired]
        return sorted(latest, key=lambda t: (t.name, t.language))

    async def retire_template(self, name: str, /) -> int:
        """Retire every language of ``name``."""
        require_storable("templates", name)
        count = sum(len(v) for (n, _lang), v in self._versions.items() if n == name)
        if count:
            self._retired.add(name)
        return count

    async def aclose(self) -> None:
        """Nothing to release."""
