"""contos_messaging: client communication (e-mail and SMS) for business applications.

Compose by hand, link every message to the records it concerns, look up all communication of a
client / order / contract / statement / amendment, send now and keep a log of every attempt.
The blocking facade is :class:`Messenger`; the async core is :class:`AsyncMessenger`.
"""

import importlib as _importlib
import importlib.util as _importlib_util
import typing as _typing

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.addresses import (
    EmailAddress,
    EmailRecipients,
    parse_address,
    parse_address_list,
)
from contos_messaging.domain.attachment import Attachment
from contos_messaging.domain.delivery import DeliveryReceipt, DeliveryState
from contos_messaging.domain.limits import Limits
from contos_messaging.domain.links import EntityKind, LinkedEntity
from contos_messaging.domain.message import Channel, Message, MessageStatus, TemplateRef
from contos_messaging.domain.page import Page
from contos_messaging.domain.phones import PhoneNumber, SmsRecipients, parse_phone
from contos_messaging.domain.query import MessageQuery
from contos_messaging.domain.send_log import (
    AttemptKind,
    AuditAction,
    AuditEvent,
    RecipientOutcome,
    SendAttempt,
)
from contos_messaging.domain.sms import SmsEncoding, SmsPolicy
from contos_messaging.domain.template import Template
from contos_messaging.errors import (
    AlreadyExists,
    AuthenticationFailed,
    BlobNotFound,
    ConcurrentModification,
    ConfigurationError,
    IllegalTransition,
    IndexLocked,
    IntegrityError,
    InvalidAddress,
    InvalidArgument,
    InvalidAttachment,
    InvalidInput,
    InvalidMessage,
    InvalidPhoneNumber,
    KeyUnavailable,
    LimitExceeded,
    MessageNotFound,
    MessagingError,
    NotFound,
    NoTransport,
    PermissionDenied,
    StorageError,
    TemplateError,
    TemplateNotFound,
    TLSFailure,
    TransportConfigurationError,
    TransportError,
    TransportPermanentError,
    TransportTemporaryError,
    TransportTimeout,
    UnknownEntityKind,
    UsageError,
)
from contos_messaging.ports.context import Contact
from contos_messaging.ports.rendering import RenderedParts
from contos_messaging.ports.search import CompactionReport

# The facade, the services and the adapters behind them are imported when first asked for
# (``contos_messaging.AsyncMessenger``, ``from contos_messaging import Messenger``): a process
# that needs only part of the package, such as a render worker, does not pay for the rest.
if _typing.TYPE_CHECKING:
    from contos_messaging.adapters.rendering.inprocess import RenderLimits
    from contos_messaging.bootstrap import wire
    from contos_messaging.messenger import AsyncMessenger
    from contos_messaging.services.bulk import BulkFailure, BulkReport, BulkTarget
    from contos_messaging.services.export import AttachmentDownload, BlockingAttachmentDownload
    from contos_messaging.services.gc import GcReport
    from contos_messaging.services.queue import QueueReport
    from contos_messaging.services.search import SearchHit, SearchPage
    from contos_messaging.services.send_report import SendOutcome, SendReport, SkipReason
    from contos_messaging.services.settings import MessengerSettings, Ports
    from contos_messaging.services.sizing import EmailSize
    from contos_messaging.services.templates import AsyncTemplates
    from contos_messaging.sync import Messenger, Templates

_LAZY: dict[str, str] = {
    "RenderLimits": "contos_messaging.adapters.rendering.inprocess",
    "wire": "contos_messaging.bootstrap",
    "AsyncMessenger": "contos_messaging.messenger",
    "BulkFailure": "contos_messaging.services.bulk",
    "BulkReport": "contos_messaging.services.bulk",
    "BulkTarget": "contos_messaging.services.bulk",
    "AttachmentDownload": "contos_messaging.services.export",
    "BlockingAttachmentDownload": "contos_messaging.services.export",
    "GcReport": "contos_messaging.services.gc",
    "QueueReport": "contos_messaging.services.queue",
    "SearchHit": "contos_messaging.services.search",
    "SearchPage": "contos_messaging.services.search",
    "SendOutcome": "contos_messaging.services.send_report",
    "SendReport": "contos_messaging.services.send_report",
    "SkipReason": "contos_messaging.services.send_report",
    "MessengerSettings": "contos_messaging.services.settings",
    "Ports": "contos_messaging.services.settings",
    "EmailSize": "contos_messaging.services.sizing",
    "AsyncTemplates": "contos_messaging.services.templates",
    "Messenger": "contos_messaging.sync",
    "Templates": "contos_messaging.sync",
}

if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> _typing.Any:
        module = _LAZY.get(name)
        if module is not None:
            value = getattr(_importlib.import_module(module), name)
        elif (
            name.isidentifier()
            and not name.startswith("__")
            and _importlib_util.find_spec(f"{__name__}.{name}") is not None
        ):
            value = _importlib.import_module(f"{__name__}.{name}")  # (``contos_messaging.sync``)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_LAZY})


__version__ = "0.1.0.dev0"

__all__ = [
    "Actor",
    "AlreadyExists",
    "AsyncMessenger",
    "AsyncTemplates",
    "Attachment",
    "AttachmentDownload",
    "AttemptKind",
    "AuditAction",
    "AuditEvent",
    "AuthenticationFailed",
    "BlobNotFound",
    "BlockingAttachmentDownload",
    "BulkFailure",
    "BulkReport",
    "BulkTarget",
    "Channel",
    "CompactionReport",
    "ConcurrentModification",
    "ConfigurationError",
    "Contact",
    "DeliveryReceipt",
    "DeliveryState",
    "EmailAddress",
    "EmailRecipients",
    "EmailSize",
    "EntityKind",
    "GcReport",
    "IllegalTransition",
    "IndexLocked",
    "IntegrityError",
    "InvalidAddress",
    "InvalidArgument",
    "InvalidAttachment",
    "InvalidInput",
    "InvalidMessage",
    "InvalidPhoneNumber",
    "KeyUnavailable",
    "LimitExceeded",
    "Limits",
    "LinkedEntity",
    "Message",
    "MessageNotFound",
    "MessageQuery",
    "MessageStatus",
    "MessagingError",
    "Messenger",
    "MessengerSettings",
    "NoTransport",
    "NotFound",
    "Page",
    "Permission",
    "PermissionDenied",
    "PhoneNumber",
    "Ports",
    "QueueReport",
    "RecipientOutcome",
    "RenderLimits",
    "RenderedParts",
    "SearchHit",
    "SearchPage",
    "SendAttempt",
    "SendOutcome",
    "SendReport",
    "SkipReason",
    "SmsEncoding",
    "SmsPolicy",
    "SmsRecipients",
    "StorageError",
    "TLSFailure",
    "Template",
    "TemplateError",
    "TemplateNotFound",
    "TemplateRef",
    "Templates",
    "TransportConfigurationError",
    "TransportError",
    "TransportPermanentError",
    "TransportTemporaryError",
    "TransportTimeout",
    "UnknownEntityKind",
    "UsageError",
    "parse_address",
    "parse_address_list",
    "parse_phone",
    "wire",
]
