"""Subprocess helper for the fault matrix: a sender that dies (SIGKILL, no clean-up) at a
chosen step.

    python _fault_worker.py queue DIR COUNT              # queue COUNT e-mails, then die
    python _fault_worker.py before-connect DIR PORT CA   # claim due mail, die before connecting
    python _fault_worker.py before-commit DIR PORT CA    # die after the server's 250, before
                                                         # the outcome is committed

The master key comes from CONTOS_MESSAGING_MASTER_KEY. Leases are 30 seconds long.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from typing import Any

from contos_messaging import Actor, AsyncMessenger, Permission
from contos_messaging.adapters.smtp import SMTPTransport

LEASE = timedelta(seconds=30)
JANA = Actor("jana", permissions={Permission.COMPOSE, Permission.SEND})


def _die(*_args: Any, **_kwargs: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


async def queue(path: str, count: int) -> None:
    messenger = await AsyncMessenger.open(path, company_sender="info@contos.example.com")
    now = messenger.ports.clock.now()
    for i in range(count):
        message = await messenger.compose_email(
            JANA, to=f"k{i}@example.com", subject=f"S{i}", text="T", scheduled_at=now
        )
        print("queued " + message.id, flush=True)
    _die()


async def crash(step: str, path: str, port: int, ca_file: str) -> None:
    transport = SMTPTransport("127.0.0.1", port, username="contos", password="secret",
                              ca_file=ca_file, connections=1)  # fmt: skip
    messenger = await AsyncMessenger.open(
        path, company_sender="info@contos.example.com", email_transport=transport
    )
    if step == "before-connect":
        transport.size_limit = _die  # type: ignore[method-assign]
        transport.send = _die  # type: ignore[method-assign]
    else:
        messenger.ports.repository.update_many = _die  # type: ignore[method-assign]
    await messenger.send_due(lease=LEASE, batch=10)
    print("not killed", flush=True)


if __name__ == "__main__":
    mode, directory = sys.argv[1:3]
    if mode == "queue":
        asyncio.run(queue(directory, int(sys.argv[3])))
    else:
        asyncio.run(crash(mode, directory, int(sys.argv[3]), sys.argv[4]))
