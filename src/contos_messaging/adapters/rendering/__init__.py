"""Template rendering: the jinja2 sandbox with budgets, Czech filters, and renderers that run
it in the host process (tests) or in bounded worker processes (the default)."""

from contos_messaging.adapters.rendering.inprocess import InProcessRenderer, RenderLimits
from contos_messaging.adapters.rendering.process import ProcessRenderer

__all__ = ["InProcessRenderer", "ProcessRenderer", "RenderLimits"]
