"""Django parts of the post_office side of benchmarks/peers.py, imported by Django by name
(nothing here runs at import but the filter registrations).

* ``register``: the library's Czech filters (the same functions ours renders with) as a
  Django template library, given to the template engine as a builtin
  (``TEMPLATES[0]["OPTIONS"]["builtins"] = ["_peer_django"]``), so that post_office's
  ``django.template.Template(...)`` finds them without ``{% load %}``.
* ``TrustingSMTPBackend``: Django's SMTP backend, trusting the sink's test CA.

How Django is made to trust the TLS sink: Django's ``smtp.EmailBackend`` (5.2) builds the
context for ``starttls()`` in its ``ssl_context`` cached property, which is
``ssl.create_default_context()`` (the system's CAs) unless a client certificate is set.
The subclass overrides only that property: ``ssl.create_default_context(cafile=...)`` with
the sink's self-signed CA (``settings.PEER_SMTP_CA_FILE``), so the certificate and the host
name (``127.0.0.1``, in the certificate's SAN) are verified as in production; nothing is
switched off. (``SSL_CERT_FILE=<ca>`` in the child's environment would work too, as the
default context loads it; the subclass keeps the trust visible and scoped to this backend.)
Everything else (STARTTLS with ``EMAIL_USE_TLS=True``, AUTH with ``EMAIL_HOST_USER`` /
``EMAIL_HOST_PASSWORD``, one connection per post_office sending thread) is Django's own.
"""

from __future__ import annotations

import ssl
from functools import cached_property
from typing import Any

from django import template
from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend

from contos_messaging.adapters.rendering import filters

register = template.Library()
register.filter("date_cz", filters.date_cz)
register.filter("money", filters.money)
register.filter("salutation", filters.salutation)
register.filter("vocative", filters.vocative)


@register.filter("plural")
def plural(count: Any, forms: str) -> str:
    """``{{ n|plural:"smlouvu,smlouvy,smluv" }}``: Django filters take one argument."""
    one, few, many = forms.split(",")
    return filters.plural(count, one, few, many)


class TrustingSMTPBackend(EmailBackend):
    """Django's SMTP backend with the sink's CA as the only trusted one (see the module)."""

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=settings.PEER_SMTP_CA_FILE)
