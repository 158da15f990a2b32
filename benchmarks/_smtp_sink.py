"""A LocalSMTPServer in a process of its own, for benchmarks.

Prints its port and CA file, then answers one line per command read on stdin; exits at end of
input::

    count        how many messages it has accepted
    duplicates   how many Message-IDs it has accepted more than once
    stats        one line of JSON: messages, message_ids (distinct), duplicated_ids,
                 extra_copies (accepted copies beyond the first), without_id

    python benchmarks/_smtp_sink.py [--data-delay SECONDS] [--size-limit BYTES]

``--data-delay`` makes the server answer each DATA that much later (a slow server);
``--size-limit`` is the largest message it takes (its SIZE).

Only the envelope, the size and the Message-ID of each message are kept, not the content: a
benchmark sends thousands of messages, or tens of 35 MB ones, and parsing and keeping each
whole (as ``ReceivedMessage`` does) would cost the sink seconds and gigabytes.
"""

from __future__ import annotations

import argparse
import collections
import email.parser
import email.policy
import json
import sys
from typing import Any

from contos_messaging.testing import smtp as testing_smtp
from contos_messaging.testing.smtp import LocalSMTPServer

_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


class _Seen:
    """Stands in for ``ReceivedMessage`` here: the envelope, the size and the Message-ID."""

    def __init__(self, sender: str, recipients: list[str], data: bytes) -> None:
        self.sender = sender
        self.recipients = recipients
        self.size = len(data)
        end = data.find(b"\r\n\r\n")
        if end < 0:
            end = data.find(b"\n\n")
        head = data if end < 0 else data[: end + 2]
        value = _HEADERS.parsebytes(head).get("Message-ID")
        self.message_id: str | None = str(value).strip() if value else None


def _message_id(received: Any) -> str | None:
    """The Message-ID of one accepted message, whether it is a ``_Seen`` or (should the server
    build something else) a parsed ``ReceivedMessage``."""
    if isinstance(received, _Seen):
        return received.message_id
    value = received.message.get("Message-ID")
    return str(value).strip() if value else None


def _stats(server: LocalSMTPServer) -> dict[str, int]:
    with server.lock:
        received = list(server.messages)
    ids = [_message_id(r) for r in received]
    counts = collections.Counter(i for i in ids if i is not None)
    return {
        "messages": len(received),
        "message_ids": len(counts),
        "duplicated_ids": sum(1 for n in counts.values() if n > 1),
        "extra_copies": sum(n - 1 for n in counts.values() if n > 1),
        "without_id": ids.count(None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-delay", type=float, default=0.0, help="seconds before DATA's reply")
    parser.add_argument("--size-limit", type=int, default=None, help="largest message, in bytes")
    args = parser.parse_args()
    # The server's handler builds a ReceivedMessage for each message; here, a _Seen instead.
    if hasattr(testing_smtp, "ReceivedMessage"):
        testing_smtp.ReceivedMessage = _Seen  # type: ignore[misc, assignment]
    options = {} if args.size_limit is None else {"size_limit": args.size_limit}
    with LocalSMTPServer(**options) as server:
        server.data_delay = args.data_delay
        print(server.port, server.ca_file, flush=True)
        for line in sys.stdin:
            command = line.strip() or "count"
            if command == "count":
                with server.lock:
                    answer = str(len(server.messages))
            elif command == "duplicates":
                answer = str(_stats(server)["duplicated_ids"])
            elif command == "stats":
                answer = json.dumps(_stats(server))
            else:
                answer = f"error: unknown command {command!r}"
            print(answer, flush=True)


if __name__ == "__main__":
    main()
