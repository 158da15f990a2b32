"""The template sandbox: jinja2's SandboxedEnvironment with StrictUndefined, HTML autoescaping,
Czech filters and budgets on time and output size.

The budgets are enforced from inside the template engine: every attribute access, call, filter,
operator, loop step and output chunk checks the deadline, and every operation that can build a
large string checks the size it would produce *before* producing it (``"x" * n``, ``a + b``,
``%``-formatting, ``str.format`` widths, filters with large numeric arguments, ``replace``);
the budgets and the guard every filter runs under are in ``budget``. Rendering in a separate
process (see :mod:`contos_messaging.adapters.rendering.process`) adds a hard memory limit and a
kill on timeout, so even what these checks miss cannot hurt the host.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from contos_messaging.adapters.rendering.budget import (
    MAX_EXPONENT,
    MAX_FILTER_ARGUMENT,
    OVERTIME,
    WIDE_FORMAT,
    Budget,
    BudgetExceeded,
    BudgetRange,
    guard_filter,
)
from contos_messaging.adapters.rendering.filters import FILTERS
from contos_messaging.adapters.rendering.surrogates import (
    lone_surrogate,
    variable_with_lone_surrogate,
)
from contos_messaging.domain.html import safe_html

__all__ = [
    "Budget",
    "BudgetExceeded",
    "RenderFailure",
    "compile_parts",
    "make_environment",
    "render_parts",
    "template_variables",
]

_WIDE_BRACE_FORMAT = re.compile(r"\{[^{}]*:[^{}]*\d{4,}[^{}]*\}")
_UNDEFINED = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")
_monotonic = time.monotonic


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "+", "%", "**", "//", "/"])

    def __init__(self, budget: Budget) -> None:
        super().__init__(
            undefined=jinja2.StrictUndefined,
            autoescape=_escape_html_part,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            optimized=False,  # constant folding would run filters at compile time, unguarded
        )
        self.budget = budget
        self.filters.update(FILTERS)
        self.filters = {name: self._guard_filter(name, f) for name, f in self.filters.items()}
        self.globals = {
            "range": lambda *args: BudgetRange(budget, *args),
            "dict": dict,
            "namespace": jinja2.utils.Namespace,
            "cycler": jinja2.utils.Cycler,
            "joiner": jinja2.utils.Joiner,
        }

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        self.budget.tick()
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    self.budget.size(len(seq) * times, "repeating a value")
        elif op == "+" and isinstance(left, str | list | tuple) and hasattr(right, "__len__"):
            self.budget.size(len(left) + len(right), "joining values")
        elif op == "%" and isinstance(left, str) and WIDE_FORMAT.search(left):
            raise BudgetExceeded("a %-format width or precision over 999")
        elif op == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise BudgetExceeded(f"an exponent over {MAX_EXPONENT}")
        return super().call_binop(context, op, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if _monotonic() > self.budget.deadline:  # (Budget.tick, inline: the commonest check)
            raise BudgetExceeded(OVERTIME)
        # A record's field wins over a method of the same name: ``statement.items`` is the
        # statement's items, not ``dict.items`` (the variables come from the host's records).
        if (type(obj) is dict or isinstance(obj, Mapping)) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.budget.tick()
        return super().getitem(obj, argument)

    def call(
        __self,  # noqa: N805 - jinja2's signature
        __context: Any,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        __self.budget.tick()
        if isinstance(getattr(__obj, "__self__", None), str) and getattr(__obj, "__name__", "") in (
            "format",
            "format_map",
            "center",
            "ljust",
            "rjust",
            "zfill",
            "expandtabs",
        ):
            fmt = __obj.__self__
            if _WIDE_BRACE_FORMAT.search(fmt) or any(
                isinstance(a, int) and a > MAX_FILTER_ARGUMENT for a in args
            ):
                raise BudgetExceeded("a format width or padding over the limit")
        result = ImmutableSandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
        if isinstance(result, str):
            __self.budget.size(len(result), "a call")
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``"{:>10}".format(x)`` in templates: widths checked before formatting."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and _WIDE_BRACE_FORMAT.search(value.__self__):
            raise BudgetExceeded("a format width or precision over 999")
        return wrapped

    def checked_concat(self, join: Callable[[Any], str], parts: tuple[Any, ...]) -> str:
        """``a ~ b`` in templates: checked before the joined string is built."""
        self.budget.tick()
        self.budget.size(sum(len(p) if isinstance(p, str) else 32 for p in parts), "joining")
        return join(parts)

    def _guard_filter(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` under this environment's budget (see ``budget.guard_filter``)."""
        return guard_filter(self.budget, name, func)


class _CodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a size-checked join."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.checked_concat({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


_Environment.code_generator_class = _CodeGenerator


def _escape_html_part(name: str | None) -> bool:
    """Autoescape the HTML part only; subject and text are plain text."""
    return name == "html"


def make_environment(budget: Budget | None = None) -> _Environment:
    """A sandbox environment bound to ``budget``."""
    return _Environment(budget or Budget())


class RenderFailure(Exception):
    """Why a template part failed: parsed from jinja2's error, with the template line
    (``part`` is None when no part is at fault: a variable that cannot be rendered)."""

    def __init__(
        self, part: str | None, reason: str, line: int | None, variable: str | None
    ) -> None:
        super().__init__(reason)
        self.part = part
        self.reason = reason
        self.line = line
        self.variable = variable


def _filename(part: str) -> str:
    return f"<template:{part}>"


def _line_of(exc: BaseException, part: str) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == _filename(part):
            return frame.lineno
    return None


def _compile_failure(part: str, exc: Exception) -> RenderFailure:
    """What went wrong compiling a part. Past jinja2's syntax errors, what the sandbox's bounds
    did not stop (a template saved under a raised ``Limits.template_depth``, or stored before
    there were bounds) runs into Python's own limits: the recursion limit in jinja2's parser
    and code generator, or the nesting Python compiles (20 nested loops, 100 levels of
    indentation, 200 of parentheses); the line of the generated code is no template line."""
    if isinstance(exc, RecursionError):
        return RenderFailure(
            part, "limit exceeded: nested too deeply to compile (recursion limit)", None, None
        )
    if isinstance(exc, SyntaxError):
        reason = exc.msg if isinstance(exc.msg, str) else str(exc)
        if isinstance(exc, IndentationError) or "too many" in reason or "nested" in reason:
            return RenderFailure(
                part, f"limit exceeded: nested too deeply to compile ({reason})", None, None
            )
        return RenderFailure(part, f"cannot compile: {reason}", None, None)
    return _failure(part, exc)


def _failure(part: str, exc: BaseException) -> RenderFailure:
    line = _line_of(exc, part)
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return RenderFailure(part, f"syntax error: {exc.message}", line, None)
    if isinstance(exc, jinja2.UndefinedError):
        match = _UNDEFINED.search(str(exc))
        variable = (match.group(1) or match.group(2)) if match else None
        if isinstance(exc, SecurityError):
            return RenderFailure(part, f"forbidden: {exc}", line, variable)
        return RenderFailure(part, f"undefined variable: {exc}", line, variable)
    if isinstance(exc, SecurityError):
        return RenderFailure(part, f"forbidden: {exc}", line, None)
    if isinstance(exc, BudgetExceeded):
        return RenderFailure(part, f"limit exceeded: {exc}", line, None)
    if isinstance(exc, RecursionError):
        return RenderFailure(part, "limit exceeded: recursion too deep", line, None)
    if isinstance(exc, MemoryError):
        return RenderFailure(part, "limit exceeded: out of memory", line, None)
    return RenderFailure(part, f"{type(exc).__name__}: {exc}", line, None)


def compile_parts(env: _Environment, parts: Mapping[str, str | None]) -> dict[str, jinja2.Template]:
    """Compile each template part (``subject``, ``html``, ``text``); a syntax error, or any
    other failure to compile (nested past Python's limits, out of memory), raises
    :class:`RenderFailure` naming the part and, for syntax errors, the line."""
    compiled: dict[str, jinja2.Template] = {}
    for part, source in parts.items():
        if source is None:
            continue
        try:
            code = env.compile(source, name=part, filename=_filename(part))
            compiled[part] = env.template_class.from_code(env, code, env.globals, None)
        except Exception as exc:  # every failure to compile becomes a RenderFailure
            raise _compile_failure(part, exc) from None
    return compiled


def template_variables(env: _Environment, parts: Mapping[str, str | None]) -> frozenset[str]:
    """Top-level variable names the parts use (``client``, ``order``, ...)."""
    names: set[str] = set()
    for part, source in parts.items():
        if source is None:
            continue
        try:
            ast: nodes.Template = env.parse(source, name=part, filename=_filename(part))
            names |= meta.find_undeclared_variables(ast)
        except Exception as exc:  # as in compile_parts
            raise _compile_failure(part, exc) from None
    return frozenset(names - set(env.globals))


def render_parts(
    env: _Environment,
    compiled: Mapping[str, jinja2.Template],
    variables: Mapping[str, Any],
    *,
    seconds: float,
    max_chars: int,
    surrogate_free: bool = False,
    html_policy: str = "",
) -> dict[str, str]:
    """Render every part with ``variables`` under the budget. Raises :class:`RenderFailure`,
    also for a variable holding a lone surrogate (naming it) and for output that would.
    ``surrogate_free``: the caller knows that no text among the variables holds one (the
    worker, from the bytes of the request: see ``surrogates.pickle_may_hold_lone_surrogate``),
    so they are not searched. ``html_policy`` ``"local"`` or ``"remote"``: the HTML part is
    sanitised here (``domain.html.safe_html``, remote images kept with ``"remote"``), and the
    result says so under ``"safe_html"``."""
    bad = None if surrogate_free else variable_with_lone_surrogate(variables)
    if bad is not None:
        name, code = bad
        reason = f"variable {name} holds a lone surrogate ({code}), which is not text"
        raise RenderFailure(None, reason, None, name)
    out: dict[str, str] = {}
    env.budget.start(seconds, max_chars)
    try:
        for part, template in compiled.items():
            total = 0
            chunks: list[str] = []
            append = chunks.append
            # (What ``template.generate(variables)`` does, without its second generator: a
            # failure's traceback is rewritten to template lines all the same.)
            try:
                pieces = template.root_render_func(template.new_context(dict(variables)))
            except Exception as exc:  # every template failure becomes a RenderFailure
                raise _failure(part, exc) from None
            try:
                for chunk in pieces:
                    total += len(chunk)
                    if total > max_chars:
                        env.budget.size(total, f"the {part}")
                    if len(chunks) & 63 == 0:
                        env.budget.tick()
                    append(chunk)
            except Exception:
                try:
                    env.handle_exception()
                except Exception as exc:  # every template failure becomes a RenderFailure
                    raise _failure(part, exc) from None
            out[part] = "".join(chunks)
            made = lone_surrogate(out[part])
            if made is not None:
                reason = f"the output holds a lone surrogate ({made}), which is not text"
                raise RenderFailure(part, reason, None, None)
        if "subject" in out:
            out["subject"] = " ".join(out["subject"].split())
        if html_policy and out.get("html"):
            out["html"] = safe_html(out["html"], remote_images=html_policy == "remote")
            out["safe_html"] = html_policy
    finally:
        env.budget.start(float("inf"), max_chars)
    return out
