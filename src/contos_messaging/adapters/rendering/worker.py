"""The render worker process: ``python -m contos_messaging.adapters.rendering MEMORY_MB``.

It reads length-prefixed pickled requests on stdin, renders them in the sandbox under a hard
address-space limit and writes length-prefixed pickled replies on stdout. Being a plain module
run by its own interpreter, it never re-imports the host's main script."""

from __future__ import annotations

import contextlib
import pickle
import struct
import sys
from typing import IO, Any

import jinja2

from contos_messaging.adapters.rendering.sandbox import (
    RenderFailure,
    compile_parts,
    make_environment,
    render_parts,
)
from contos_messaging.adapters.rendering.surrogates import pickle_may_hold_lone_surrogate

__all__ = ["main", "read_frame", "serve", "write_frame"]

_LENGTH = struct.Struct(">I")


def write_frame(stream: IO[bytes], value: Any) -> None:
    """Write one length-prefixed pickle."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("stream closed")
        data += chunk
    return data


def _read_frame_bytes(stream: IO[bytes]) -> bytes:
    (size,) = _LENGTH.unpack(_read_exact(stream, _LENGTH.size))
    return _read_exact(stream, size)


def read_frame(stream: IO[bytes]) -> Any:
    """Read one length-prefixed pickle; EOFError when the stream ends."""
    return pickle.loads(_read_frame_bytes(stream))


def _limit_memory(extra_mb: int) -> None:
    """Cap the address space at what the process uses now plus ``extra_mb``."""
    try:
        import resource

        with open("/proc/self/status", encoding="ascii") as status:
            vm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = (vm_kb * 1024) + extra_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, StopIteration, ValueError):
        pass  # no /proc or no rlimits here: the sandbox's own budgets still apply


def serve(requests: IO[bytes], replies_out: IO[bytes], memory_mb: int) -> None:
    """Worker main loop. Requests: ``(key, parts, contexts, seconds, max_chars)``; replies: a
    list of ``("ok", parts)`` or ``("error", (part, reason, line, variable))``."""
    env = make_environment()
    cache: dict[Any, dict[str, jinja2.Template]] = {}
    _limit_memory(memory_mb)
    while True:
        try:
            data = _read_frame_bytes(requests)
            request = pickle.loads(data)
        except (EOFError, OSError):
            return
        if request is None:
            return
        key, parts, contexts, seconds, max_chars, *rest = request
        html_policy = rest[0] if rest else ""  # (sanitise the HTML: "local" or "remote")
        # (A request whose bytes hold no lone surrogate has none in any variable to look for.)
        surrogate_free = not pickle_may_hold_lone_surrogate(data)
        replies: list[tuple[str, Any]] = []
        try:
            compiled = cache.get(key)
            if compiled is None:
                if len(cache) > 64:
                    cache.clear()
                compiled = cache[key] = compile_parts(env, parts)
            for context in contexts:
                try:
                    rendered = render_parts(
                        env,
                        compiled,
                        context,
                        seconds=seconds,
                        max_chars=max_chars,
                        surrogate_free=surrogate_free,
                        html_policy=html_policy,
                    )
                    replies.append(("ok", rendered))
                except RenderFailure as f:
                    replies.append(("error", (f.part, f.reason, f.line, f.variable)))
        except RenderFailure as f:
            replies = [("error", (f.part, f.reason, f.line, f.variable))] * len(contexts)
        except MemoryError:
            replies = [("error", (None, "limit exceeded: out of memory", None, None))] * len(
                contexts
            )
        with contextlib.suppress(OSError, ValueError):
            write_frame(replies_out, replies)


def main() -> None:
    """Entry point of ``python -m contos_messaging.adapters.rendering MEMORY_MB``."""
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but replies may reach the pipe
    serve(sys.stdin.buffer, stdout, int(sys.argv[1]))
