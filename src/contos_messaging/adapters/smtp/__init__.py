"""The SMTP e-mail transport."""

from contos_messaging.adapters.smtp.mime import build_mime
from contos_messaging.adapters.smtp.transport import Security, SMTPTransport

__all__ = ["SMTPTransport", "Security", "build_mime"]
