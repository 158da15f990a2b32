"""SMS over SMPP 3.4: :class:`SmppTransport` (see :mod:`.transport`)."""

from contos_messaging.adapters.smpp.transport import SmppTransport

__all__ = ["SmppTransport"]
