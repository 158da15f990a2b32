"""Rendering in the host process, with the sandbox's budgets (time, size) but no hard memory
limit: for tests and trusted templates. The default is :class:`ProcessRenderer`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import jinja2

from contos_messaging.adapters.rendering.sandbox import (
    RenderFailure,
    compile_parts,
    make_environment,
    render_parts,
    template_variables,
)
from contos_messaging.domain.template import Template
from contos_messaging.errors import ConfigurationError, TemplateError
from contos_messaging.ports.rendering import RenderedParts

__all__ = ["InProcessRenderer", "RenderLimits", "checked_policy", "parts_of", "to_error"]


@attrs.frozen
class RenderLimits:
    """Bounds of one render: wall time, characters per part, worker memory (MiB)."""

    seconds: float = 2.0
    max_chars: int = 1_000_000
    memory_mb: int = 512


def checked_policy(policy: str) -> str:
    if policy not in ("", "local", "remote"):
        raise ConfigurationError(f"html_policy must be '', 'local' or 'remote', got {policy!r}")
    return policy


def parts_of(template: Template) -> dict[str, str | None]:
    """The template's sources by part."""
    return {"subject": template.subject or None, "html": template.html, "text": template.text}


def to_error(template: Template, failure: RenderFailure) -> TemplateError:
    """A :class:`TemplateError` naming the template, its version and where it failed."""
    return TemplateError(
        failure.reason,
        template=template.name,
        version=template.version or None,
        part=failure.part,
        line=failure.line,
        variable=failure.variable,
    )


def result_of(rendered: Mapping[str, str]) -> RenderedParts:
    """Rendered parts from the renderer's dictionary."""
    return RenderedParts(
        subject=rendered.get("subject", ""),
        html=rendered.get("html"),
        text=rendered.get("text"),
        safe_html=rendered.get("safe_html", ""),
    )


class InProcessRenderer:
    """Renders in this process (guards on time and size, no memory limit). ``html_policy``
    ``"local"`` or ``"remote"``: HTML output is sanitised here (see ``RenderedParts``)."""

    def __init__(self, limits: RenderLimits | None = None, *, html_policy: str = "") -> None:
        self.limits = limits or RenderLimits()
        self.html_policy = checked_policy(html_policy)
        self._env = make_environment()
        self._cache: dict[tuple[str, str, int, int], dict[str, jinja2.Template]] = {}

    def check(self, template: Template, /) -> frozenset[str]:
        """Parse every part and return the variables used."""
        try:
            compile_parts(self._env, parts_of(template))
            return template_variables(self._env, parts_of(template))
        except RenderFailure as failure:
            raise to_error(template, failure) from None

    def _compiled(self, template: Template) -> dict[str, jinja2.Template]:
        key = (template.name, template.language, template.version, hash(template))
        compiled = self._cache.get(key)
        if compiled is None:
            if len(self._cache) > 64:
                self._cache.clear()
            compiled = self._cache[key] = compile_parts(self._env, parts_of(template))
        return compiled

    async def render(
        self, template: Template, contexts: Sequence[Mapping[str, Any]], /
    ) -> list[RenderedParts | TemplateError]:
        """Render once per context."""
        try:
            compiled = self._compiled(template)
        except RenderFailure as failure:
            error = to_error(template, failure)
            return [error for _ in contexts]
        out: list[RenderedParts | TemplateError] = []
        for context in contexts:
            try:
                rendered = render_parts(
                    self._env,
                    compiled,
                    context,
                    seconds=self.limits.seconds,
                    max_chars=self.limits.max_chars,
                    html_policy=self.html_policy,
                )
            except RenderFailure as failure:
                out.append(to_error(template, failure))
            else:
                out.append(result_of(rendered))
        return out

    async def aclose(self) -> None:
        """Nothing to release."""
