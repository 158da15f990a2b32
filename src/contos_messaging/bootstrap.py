"""Composition root: settings and adapters in, a wired messenger out. No I/O at import."""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path
from typing import Any, Unpack, cast

from contos_messaging import messenger as facade
from contos_messaging.adapters.clock import SystemClock
from contos_messaging.adapters.filestore import EncryptedFileStore
from contos_messaging.adapters.memory.context import InMemoryAddressBook, InMemoryContextProvider
from contos_messaging.adapters.rendering import ProcessRenderer
from contos_messaging.adapters.sqlite import (
    SQLiteKeyStore,
    SQLiteMessageRepository,
    load_master_key,
)
from contos_messaging.adapters.tantivy import TantivySearchIndex, search_key
from contos_messaging.domain.addresses import EmailAddress
from contos_messaging.domain.permissions import ActorPermissionPolicy
from contos_messaging.errors import ConfigurationError, IndexLocked
from contos_messaging.ports import (
    AddressBook,
    BlobStore,
    Clock,
    ContextProvider,
    EmailTransport,
    KeyStore,
    MessageRepository,
    PermissionPolicy,
    SearchIndex,
    SmsTransport,
    TemplateRenderer,
    TemplateRepository,
)
from contos_messaging.services.composing import html_policy
from contos_messaging.services.search import catch_up, stored_documents
from contos_messaging.services.settings import HostParts, MessengerSettings, Ports

__all__ = ["open_embedded", "rotate_master_key", "wire"]

log = logging.getLogger("contos_messaging")

KEYS_FILE = "keys.sqlite"
MESSAGES_FILE = "messages.sqlite"
BLOBS_DIR = "blobs"
SEARCH_DIR = "search"


def wire(
    *,
    company_sender: EmailAddress | str | None = None,
    settings: MessengerSettings | None = None,
    repository: MessageRepository,
    templates: TemplateRepository | None = None,
    blobs: BlobStore,
    search: SearchIndex | None = None,
    keys: KeyStore,
    email_transport: EmailTransport | None = None,
    sms_transport: SmsTransport | None = None,
    address_book: AddressBook | None = None,
    context: ContextProvider | None = None,
    permissions: PermissionPolicy | None = None,
    clock: Clock | None = None,
    renderer: TemplateRenderer | None = None,
) -> facade.AsyncMessenger:
    """Build an :class:`AsyncMessenger` from adapters.

    Give either ``settings`` or ``company_sender``. Omitted optional ports get defaults: the
    actor-permission policy, the system clock, an empty address book / context provider and
    the process-isolated template renderer;
    ``templates`` defaults to ``repository`` when that also implements the template port.
    """
    if settings is None:
        if company_sender is None:
            raise ConfigurationError("give settings= or company_sender= (the default From)")
        settings = MessengerSettings(company_sender=company_sender)
    if templates is None:
        if not hasattr(repository, "save_template"):
            raise ConfigurationError("give templates= (a TemplateRepository)")
        templates = cast(TemplateRepository, repository)
    ports = Ports(
        repository=repository,
        templates=templates,
        renderer=renderer or ProcessRenderer(html_policy=html_policy(settings)),
        blobs=blobs,
        search=search,
        keys=keys,
        email_transport=email_transport,
        sms_transport=sms_transport,
        permissions=permissions or ActorPermissionPolicy(),
        address_book=address_book or InMemoryAddressBook(),
        context=context or InMemoryContextProvider(),
        clock=clock or SystemClock(),
    )
    return facade.AsyncMessenger(ports, settings)


async def open_embedded(
    path: str | os.PathLike[str],
    *,
    master_key: bytes | str | None = None,
    keys_path: str | os.PathLike[str] | None = None,
    **parts: Unpack[HostParts],
) -> facade.AsyncMessenger:
    """Open the embedded store in directory ``path`` and wire a messenger on it.

    Layout: ``keys.sqlite`` (wrapped client keys; at ``keys_path`` when given, so key backups
    can be kept apart from data backups), ``messages.sqlite`` (metadata and sealed content,
    WAL), ``blobs/`` (sealed attachments in segment files) and ``search/`` (the Tantivy index,
    derived data). On open, the index catches up with what the store holds (after a crash
    between the two commits); an index failure is logged, never raised.
    """
    if parts.get("settings") is None and parts.get("company_sender") is None:
        raise ConfigurationError("give settings= or company_sender= (the default From)")
    root = Path(path)
    key = load_master_key(master_key)
    root.mkdir(parents=True, exist_ok=True)
    keys_file = Path(keys_path) if keys_path is not None else root / KEYS_FILE
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys = await SQLiteKeyStore.open(keys_file, key)
    opened: list[Any] = [keys]
    try:
        repository = await SQLiteMessageRepository.open(root / MESSAGES_FILE, keys=keys)
        opened.append(repository)
        blobs = await EncryptedFileStore.open(root / BLOBS_DIR, keys=keys)
        opened.append(blobs)
        search = await TantivySearchIndex.open(
            root / SEARCH_DIR, key=search_key(await keys.blind_index_key())
        )
        opened.append(search)
        messenger = wire(repository=repository, blobs=blobs, search=search, keys=keys, **parts)
    except BaseException:
        for resource in reversed(opened):
            await resource.aclose()
        raise
    search.fill_pairs_from(partial(stored_documents, messenger.ports))
    try:
        await messenger._open().erasures.start()  # (before catching up: nothing in between)
        added, dropped = await catch_up(messenger.ports)
        if added or dropped:
            log.warning(
                "search index caught up with the store: %d document(s) added, %d dropped",
                added,
                dropped,
            )
        if dropped:  # (messages erased by another process, say): not left in the files
            messenger._open().index.compact_soon()
    except IndexLocked as exc:  # (another messenger writes the index and catches it up)
        log.info("search index not caught up here: %s", exc)
    except Exception:  # derived data: a broken index must not keep the store closed
        log.exception("search index catch-up failed; run reindex()")
    return messenger


async def rotate_master_key(
    path: str | os.PathLike[str],
    *,
    old_key: bytes | str,
    new_key: bytes | str,
    keys_path: str | os.PathLike[str] | None = None,
) -> int:
    """Re-wrap every client key of the store in ``path`` (its key file at ``keys_path`` when it
    was opened with one) under a new master key, with no process using the store (with the
    store open, use ``AsyncMessenger.rotate_master_key``); messages are not rewritten. Only
    ``new_key`` opens the store afterwards. Returns the number of keys."""
    keys_file = Path(keys_path) if keys_path is not None else Path(path) / KEYS_FILE
    keys = await SQLiteKeyStore.open(keys_file, load_master_key(old_key))
    try:
        return await keys.rotate_master(load_master_key(new_key), finish=True)
    finally:
        await keys.aclose()
