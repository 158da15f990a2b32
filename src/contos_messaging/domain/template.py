"""Templates: named, versioned sources of e-mails and SMS."""

from __future__ import annotations

import re
from datetime import datetime

import attrs

from contos_messaging.domain.message import Channel
from contos_messaging.errors import InvalidInput

__all__ = ["Template"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")


def _check_name(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise InvalidInput(
            f"template name {value!r} must be 1-128 letters, digits, '_', '.', '-' or '/'"
        )


def _check_language(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not _LANG_RE.match(value):
        raise InvalidInput(f"template language {value!r} must look like 'cs' or 'en-GB'")


@attrs.frozen
class Template:
    """A template in one language and one version.

    E-mail templates have ``subject``, ``html`` and optionally ``text``; SMS ones only ``text``.
    Every save makes a new ``version``; messages record the version they were rendered from.
    ``variables`` lists the top-level names the template uses.
    """

    name: str = attrs.field(validator=_check_name)
    channel: Channel = attrs.field(converter=Channel)
    language: str = attrs.field(default="cs", validator=_check_language)
    subject: str = ""
    html: str | None = None
    text: str | None = None
    version: int = 0
    variables: frozenset[str] = frozenset()
    created_by: str = ""
    created_at: datetime | None = None
    retired: bool = False

    def __attrs_post_init__(self) -> None:
        if self.channel is Channel.EMAIL:
            if not self.subject:
                raise InvalidInput(f"e-mail template {self.name!r} needs a subject")
            if not (self.html or self.text):
                raise InvalidInput(f"e-mail template {self.name!r} needs an HTML or text body")
        else:
            if not self.text:
                raise InvalidInput(f"SMS template {self.name!r} needs text")
            if self.html or self.subject:
                raise InvalidInput(f"SMS template {self.name!r} cannot have a subject or HTML")
