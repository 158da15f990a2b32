"""What every use case runs on: the ports, the settings and the few services they share (the
search-index updater, the sender, the template store and composer, the outbox)."""

from __future__ import annotations

import os
import socket

from contos_messaging.services.composing import TemplateComposer
from contos_messaging.services.erasures import ErasureFollower
from contos_messaging.services.indexing import IndexUpdater
from contos_messaging.services.outbox import Outbox
from contos_messaging.services.sending import Sender
from contos_messaging.services.settings import MessengerSettings, Ports
from contos_messaging.services.templates import AsyncTemplates

__all__ = ["Core"]


class Core:
    """One messenger's ports, settings and shared services; built once per messenger and passed
    as the first argument of every use case."""

    def __init__(self, ports: Ports, settings: MessengerSettings) -> None:
        self.ports = ports
        self.settings = settings
        # (a host repository written before 0.5 may lack it: then the writer's next open
        # catches its index up instead)
        noted = getattr(ports.repository, "note_unindexed", None)
        self.index = IndexUpdater(ports.search, on_locked=noted)
        self.erasures = ErasureFollower(ports, self.index)
        self.sender = Sender(ports, settings)
        self.templates = AsyncTemplates(ports, settings)
        self.composer = TemplateComposer(ports, settings)
        self.outbox = Outbox(ports, self.sender, self.index)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        """Who holds this messenger's leases: ``host:pid:messenger``."""

    async def aclose(self) -> None:
        """Write pending index updates, then close transports, index and store."""
        await self.erasures.stop()
        await self.index.flush()
        p = self.ports
        for resource in (
            p.email_transport, p.sms_transport, p.search, p.blobs, p.templates, p.renderer,
            p.repository, p.keys,
        ):  # fmt: skip
            if resource is not None:
                await resource.aclose()
