"""The one error tree of contos_messaging.

Every error the library raises derives from :class:`MessagingError`. Each subclass also derives
from the builtin exception it means, so a host that already catches ``ValueError`` or
``LookupError`` keeps working. Errors carry the data that explains them as attributes.

::

    MessagingError(Exception)
    ├── InvalidInput(ValueError)                  bad input from the caller; nothing was stored
    │   ├── InvalidArgument(TypeError)            .function .parameter .reason
    │   ├── InvalidAddress                        .item .reason
    │   ├── InvalidPhoneNumber                    .item .reason
    │   ├── InvalidAttachment                     .filename .reason
    │   ├── InvalidMessage                        .field .reason
    │   ├── LimitExceeded                         .what .value .limit .setting
    │   ├── TemplateError                         .template .version .part .line .variable
    │   └── UnknownEntityKind                     .kind
    ├── IllegalTransition(ValueError)             .message_id .current .requested
    ├── NotFound(LookupError)
    │   ├── MessageNotFound                       .message_id
    │   ├── TemplateNotFound                      .name .version
    │   └── BlobNotFound                          .scope .key
    ├── AlreadyExists(ValueError)                 .key
    ├── PermissionDenied(PermissionError)         .actor_id .permission .message_id
    ├── ConcurrentModification(RuntimeError)      .message_id
    ├── StorageError(OSError)
    │   ├── IntegrityError                        .object_id
    │   └── KeyUnavailable                        .scope
    ├── ConfigurationError(ValueError)
    ├── TransportError(ConnectionError)           .transport .code .reply
    │   ├── TransportTemporaryError               retry later (4xx, dropped connection)
    │   │   └── TransportTimeout(TimeoutError)
    │   ├── TransportPermanentError               5xx for the whole message
    │   └── TransportConfigurationError           the transport must stop (auth, TLS)
    │       ├── AuthenticationFailed
    │       └── TLSFailure
    └── UsageError(RuntimeError)                  the API was used wrongly (closed, wrong thread)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyExists",
    "AuthenticationFailed",
    "BlobNotFound",
    "ConcurrentModification",
    "ConfigurationError",
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
    "MessageNotFound",
    "MessagingError",
    "NoTransport",
    "NotFound",
    "PermissionDenied",
    "StorageError",
    "TLSFailure",
    "TemplateError",
    "TemplateNotFound",
    "TransportConfigurationError",
    "TransportError",
    "TransportPermanentError",
    "TransportTemporaryError",
    "TransportTimeout",
    "UnknownEntityKind",
    "UsageError",
]


class MessagingError(Exception):
    """Root of every error raised by contos_messaging.

    Every error pickles to an equal error (same class, message and data), so it can cross a
    process boundary (render workers, a host's task queue).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[MessagingError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Unpickle an error without calling its ``__init__`` (whose parameters differ by class)."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidInput(MessagingError, ValueError):
    """The caller passed something that cannot be accepted; nothing was stored."""


class InvalidArgument(InvalidInput, TypeError):
    """A public method was called with an argument of the wrong type, or a missing or
    unexpected one; ``function`` and ``parameter`` name it, ``reason`` says what it takes."""

    def __init__(self, function: str, parameter: str, reason: str) -> None:
        where = f"{function}(): {parameter} " if parameter else f"{function}(): "
        super().__init__(where + reason)
        self.function = function
        self.parameter = parameter
        self.reason = reason


class InvalidAddress(InvalidInput):
    """An e-mail address (or list of them) was rejected.

    ``item`` is the offending piece of input as given, ``reason`` says what is wrong with it.
    """

    def __init__(self, item: str, reason: str) -> None:
        super().__init__(f"invalid e-mail address {item!r}: {reason}")
        self.item = item
        self.reason = reason


class InvalidPhoneNumber(InvalidInput):
    """A phone number was rejected (malformed, not mobile-capable, premium rate...)."""

    def __init__(self, item: str, reason: str) -> None:
        super().__init__(f"invalid phone number {item!r}: {reason}")
        self.item = item
        self.reason = reason


class InvalidAttachment(InvalidInput):
    """An attachment cannot be accepted (unreadable file, too large, ...)."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"invalid attachment {filename!r}: {reason}")
        self.filename = filename
        self.reason = reason


class InvalidMessage(InvalidInput):
    """A message is incomplete or inconsistent; ``field`` names the part that is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid message {field}: {reason}")
        self.field = field
        self.reason = reason


class LimitExceeded(InvalidInput):
    """A size or count the caller controls is over its limit.

    ``what`` names the value (``"subject"``, ``"search offset"``), ``value`` is how big it was,
    ``limit`` the most allowed, and ``setting`` the :class:`~contos_messaging.Limits` field that
    changes it (``MessengerSettings(limits=Limits(subject_chars=...))``).
    """

    def __init__(
        self, what: str, value: int, limit: int, setting: str, unit: str = "", hint: str = ""
    ) -> None:
        unit = f" {unit}" if unit else ""
        where = setting if " " in setting else f"Limits.{setting}"
        super().__init__(
            f"{what} is {_number(value)}{unit}, over the limit of {_number(limit)}{unit}"
            f" (set by {where})" + (f": {hint}" if hint else "")
        )
        self.what = what
        self.value = value
        self.limit = limit
        self.setting = setting
        self.unit = unit.strip()
        self.hint = hint


def _number(value: int) -> str:
    """``value`` with thousands separators, or its order of magnitude when it has more digits
    than Python prints (``about 10^5000``)."""
    if value.bit_length() < 10_000:
        return f"{value:,}"
    return f"about 10^{int(value.bit_length() * 0.30103)}"


class TemplateError(InvalidInput):
    """A template failed to parse or render: unknown variable, forbidden attribute, syntax
    error, or a render over its time, size or memory limit. Says which template, version,
    part (``subject`` / ``html`` / ``text``), line and variable."""

    def __init__(
        self,
        reason: str,
        *,
        template: str = "",
        version: int | None = None,
        part: str | None = None,
        line: int | None = None,
        variable: str | None = None,
    ) -> None:
        where = template or "template"
        if version:
            where += f" v{version}"
        if part:
            where += f" ({part}"
            where += f", line {line})" if line else ")"
        super().__init__(f"{where}: {reason}")
        self.template = template
        self.version = version
        self.part = part
        self.line = line
        self.variable = variable
        self.reason = reason


class UnknownEntityKind(InvalidInput):
    """A linked-entity kind was used that is neither built in nor registered by the host."""

    def __init__(self, kind: str) -> None:
        super().__init__(
            f"unknown entity kind {kind!r}; register it with EntityKind.register({kind!r})"
        )
        self.kind = kind


class IllegalTransition(MessagingError, ValueError):
    """A message was asked to move to a status its current status does not allow."""

    def __init__(self, message_id: str, current: str, requested: str) -> None:
        super().__init__(f"message {message_id} cannot go from {current} to {requested}")
        self.message_id = message_id
        self.current = current
        self.requested = requested


class NotFound(MessagingError, LookupError):
    """Something that was asked for does not exist."""


class MessageNotFound(NotFound):
    """No message has this id (or it was erased)."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"no message with id {message_id!r}")
        self.message_id = message_id


class TemplateNotFound(NotFound):
    """No template has this name (or this version)."""

    def __init__(self, name: str, version: int | None = None) -> None:
        what = f"{name!r}" if version is None else f"{name!r} version {version}"
        super().__init__(f"no template {what}")
        self.name = name
        self.version = version


class BlobNotFound(NotFound):
    """The blob store holds no object under this scope and key."""

    def __init__(self, scope: str, key: str) -> None:
        super().__init__(f"no stored object {key!r} in scope {scope!r}")
        self.scope = scope
        self.key = key


class AlreadyExists(MessagingError, ValueError):
    """An object with this key is already stored."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key!r} already exists")
        self.key = key


class PermissionDenied(MessagingError, PermissionError):
    """The actor lacks the permission an operation needs."""

    def __init__(self, actor_id: str, permission: str, message_id: str | None = None) -> None:
        where = f" on message {message_id}" if message_id else ""
        super().__init__(f"actor {actor_id!r} lacks permission {permission!r}{where}")
        self.actor_id = actor_id
        self.permission = permission
        self.message_id = message_id


class ConcurrentModification(MessagingError, RuntimeError):
    """The message changed since it was read; re-read it and try again."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"message {message_id} was changed concurrently; re-read and retry")
        self.message_id = message_id


class StorageError(MessagingError, OSError):
    """The store failed to read or write."""


class IndexLocked(StorageError):
    """The search index is written by another messenger (in this process or another): only
    one may write it.

    .. versionadded:: 0.5
    """


class IntegrityError(StorageError):
    """A stored object failed authentication: wrong key, corrupted, truncated or swapped."""

    def __init__(self, object_id: str, reason: str) -> None:
        super().__init__(f"stored object {object_id!r} failed integrity check: {reason}")
        self.object_id = object_id
        self.reason = reason


class KeyUnavailable(StorageError):
    """The key of a scope is missing or was destroyed (crypto-shredded)."""

    def __init__(self, scope: str, reason: str) -> None:
        super().__init__(f"key for scope {scope!r} unavailable: {reason}")
        self.scope = scope
        self.reason = reason


class ConfigurationError(MessagingError, ValueError):
    """The library was configured wrongly (missing key, bad transport settings, ...)."""


class TransportError(MessagingError, ConnectionError):
    """A transport failed to hand a message over.

    ``code`` is the server's reply code when there was one, ``reply`` its text.
    """

    def __init__(
        self, message: str, *, transport: str = "", code: int | None = None, reply: str = ""
    ) -> None:
        super().__init__(message)
        self.transport = transport
        self.code = code
        self.reply = reply


class TransportTemporaryError(TransportError):
    """A temporary failure (4xx, dropped connection): the message is retried later, not before
    ``retry_after`` seconds when the server said how long to wait (HTTP ``Retry-After``)."""

    def __init__(
        self,
        message: str,
        *,
        transport: str = "",
        code: int | None = None,
        reply: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, transport=transport, code=code, reply=reply)
        self.retry_after = retry_after


class TransportTimeout(TransportTemporaryError, TimeoutError):
    """The server did not answer in time."""


class TransportPermanentError(TransportError):
    """The server refused the whole message permanently (5xx)."""


class TransportConfigurationError(TransportError):
    """The transport is misconfigured; it stops and messages keep their retries."""


class NoTransport(TransportConfigurationError):
    """The messenger has no transport for the message's channel (``channel``: ``"email"`` or
    ``"sms"``); the message stays queued for a messenger that has one.

    .. versionadded:: 0.5
    """

    def __init__(self, channel: str) -> None:
        what = "e-mail" if channel == "email" else "SMS"
        super().__init__(f"no {what} transport is configured", transport="none")
        self.channel = channel


class AuthenticationFailed(TransportConfigurationError):
    """The server refused our credentials (for SMTP: 535)."""


class TLSFailure(TransportConfigurationError):
    """The TLS handshake or certificate verification failed; we never downgrade."""


class UsageError(MessagingError, RuntimeError):
    """The API was used in a way it cannot work (closed facade, call from its own loop)."""
