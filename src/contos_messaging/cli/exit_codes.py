"""Exit codes of ``contos-messaging`` and how the library's errors map to them.

======  ==============  ==========================================================================
code    name            when
======  ==============  ==========================================================================
0       OK              the command did what it was asked
1       FAILED          it ran, but not everything succeeded: a message not sent (deferred,
                        failed, skipped), ``verify`` found problems, the operator declined a
                        confirmation; ``TransportError``, ``UsageError``
2       USAGE           bad command line (argparse) or bad input: ``InvalidInput`` and its
                        subclasses (address, phone, attachment, template, limits, entity kind)
3       NOT_FOUND       ``NotFound``: no such message, template or stored object
4       ACCESS          ``PermissionDenied`` (the actor lacks a permission), ``KeyUnavailable``
                        (a client key destroyed), a master key that is missing, unreadable or
                        does not open the store
5       CONFIG          ``ConfigurationError``, ``TransportConfigurationError`` (SMTP or
                        SMPP authentication, TLS), a bad config file, no store at the path, a
                        message to send whose channel has no transport configured
6       STORAGE         ``StorageError``: ``IntegrityError``, ``IndexLocked``, I/O failures
7       CONFLICT        the state does not allow it: ``AlreadyExists`` (also ``init`` over an
                        existing store or key), ``IllegalTransition``, ``ConcurrentModification``
70      INTERNAL        an unexpected exception (a bug): one line, the traceback with --debug
130     INTERRUPTED     Ctrl-C outside the worker's graceful stop
======  ==============  ==========================================================================
"""

from __future__ import annotations

import enum

from contos_messaging import (
    AlreadyExists,
    ConcurrentModification,
    ConfigurationError,
    IllegalTransition,
    InvalidInput,
    KeyUnavailable,
    MessagingError,
    NotFound,
    PermissionDenied,
    StorageError,
    TransportConfigurationError,
    TransportError,
    UsageError,
)

__all__ = ["CliError", "ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    """The process exit codes (see the module docstring)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    ACCESS = 4
    CONFIG = 5
    STORAGE = 6
    CONFLICT = 7
    INTERNAL = 70
    INTERRUPTED = 130


# Most specific first: the first class in an error's MRO that is listed here decides.
_BY_ERROR: dict[type[MessagingError], ExitCode] = {
    TransportConfigurationError: ExitCode.CONFIG,
    TransportError: ExitCode.FAILED,
    KeyUnavailable: ExitCode.ACCESS,
    StorageError: ExitCode.STORAGE,
    PermissionDenied: ExitCode.ACCESS,
    NotFound: ExitCode.NOT_FOUND,
    InvalidInput: ExitCode.USAGE,
    ConfigurationError: ExitCode.CONFIG,
    AlreadyExists: ExitCode.CONFLICT,
    IllegalTransition: ExitCode.CONFLICT,
    ConcurrentModification: ExitCode.CONFLICT,
    UsageError: ExitCode.FAILED,
    MessagingError: ExitCode.FAILED,
}


class CliError(Exception):
    """A failure the command line itself detected (a file it cannot read, a store that is not
    there, a declined confirmation): ``code`` is the exit code, the text the one line shown."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for ``error``: its :class:`CliError` code, the table above for the
    library's errors, :attr:`ExitCode.INTERNAL` for anything else."""
    if isinstance(error, CliError):
        return error.code
    for cls in type(error).__mro__:
        if cls in _BY_ERROR:
            return _BY_ERROR[cls]
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.INTERNAL
