"""The message ids the SMSC gave the earlier parts of concatenated texts.

An SMSC sends a receipt for each part of a concatenated SMS, naming that part's own
``message_id``. An outcome holds the id of the **last** part (its receipt decides the message's
state); the receipts of the earlier parts would name ids no stored attempt holds and wait a week
among the pending reports. So the transport remembers the earlier parts' ids (the most recent
:data:`REMEMBERED`, in this process) and acknowledges their receipts without handing them on.

The ids are noted when the reader of the session takes the ``submit_sm_resp`` off the wire,
before it reads anything after it: the SMSC cannot send a part's receipt before the answer
that gave the part its id, so the receipt always finds the id noted. A receipt of an earlier
part sent before this process started (a restart between the submit and the receipt) is not
known, and is handed on as before.
"""

from __future__ import annotations

from collections import OrderedDict

from contos_messaging.adapters.smpp.codec import ESME_ROK, Header, c_string

__all__ = ["REMEMBERED", "EarlierParts", "message_id_of"]

REMEMBERED = 100_000


def message_id_of(answer: bytes) -> str:
    """The ``message_id`` of a ``submit_sm_resp`` PDU."""
    try:
        return c_string(answer, 16)[0] if len(answer) > 16 else ""
    except ValueError:
        return answer[16:].decode("ascii", "replace")


class EarlierParts:
    """Ids of earlier parts, the most recent :data:`REMEMBERED`."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered

    def note(self, header: Header, answer: bytes) -> None:
        """Remember the id of an accepted earlier part (a session's response hook)."""
        if header.status != ESME_ROK:
            return
        message_id = message_id_of(answer)
        if message_id:
            self._ids[message_id] = None
            if len(self._ids) > self._remembered:
                self._ids.popitem(last=False)

    def take(self, provider_id: str) -> bool:
        """Whether ``provider_id`` is an earlier part's (then forgotten: one receipt each)."""
        return self._ids.pop(provider_id, 0) is None

    def __len__(self) -> int:
        return len(self._ids)
