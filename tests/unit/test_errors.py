"""Every error of the tree crosses a process boundary intact."""

from __future__ import annotations

import inspect
import pickle

import pytest

from contos_messaging import errors

_ARGS = {
    "InvalidAddress": ("x@", "no domain"),
    "InvalidArgument": ("AsyncMessenger.get", "message_id", "takes str, got int 7"),
    "InvalidPhoneNumber": ("123", "too short"),
    "InvalidAttachment": ("a.pdf", "empty"),
    "InvalidMessage": ("subject", "too long"),
    "UnknownEntityKind": ("invoice",),
    "IllegalTransition": ("m-1", "sent", "draft"),
    "MessageNotFound": ("m-1",),
    "TemplateNotFound": ("t", 3),
    "BlobNotFound": ("C-1", "k"),
    "AlreadyExists": ("k",),
    "PermissionDenied": ("jana", "send", "m-1"),
    "ConcurrentModification": ("m-1",),
    "IntegrityError": ("message:m-1", "tag mismatch"),
    "KeyUnavailable": ("C-1", "erased"),
    "LimitExceeded": ("subject", 1200, 998, "subject_chars", "characters"),
    "NoTransport": ("sms",),
}
_KWARGS = {
    "TemplateError": (
        ("unknown variable",),
        {"template": "t", "version": 2, "part": "html", "line": 3, "variable": "x"},
    ),
}
CLASSES = [
    cls
    for _name, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.MessagingError)
]


def _instance(cls: type[errors.MessagingError]) -> errors.MessagingError:
    if cls.__name__ in _KWARGS:
        args, kwargs = _KWARGS[cls.__name__]
        return cls(*args, **kwargs)
    if cls.__name__ in _ARGS:
        return cls(*_ARGS[cls.__name__])
    if issubclass(cls, errors.TransportError):
        return cls("421 busy", transport="smtp:x", code=421, reply="busy")
    return cls("something went wrong")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_pickles_to_an_equal_error(cls):
    error = _instance(cls)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)
    assert isinstance(copy, errors.MessagingError)


def test_the_tree_is_complete():
    assert len(CLASSES) == len(errors.__all__)
