"""The messages database: schema history, column lists, the default compression dictionary."""

from __future__ import annotations

import functools
from importlib import resources

__all__ = [
    "ATTEMPT_COLUMNS",
    "ATTEMPT_INSERT_COLUMNS",
    "COLUMNS",
    "DEFAULT_DICTIONARY_ID",
    "MIGRATIONS",
    "default_dictionary",
]

# Entry i moves the schema from version i to i + 1 (PRAGMA user_version).
MIGRATIONS = [
    [
        "CREATE TABLE messages (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,"
        " channel TEXT NOT NULL, status TEXT NOT NULL,"
        " created_by TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER,"
        " scheduled_at INTEGER, expires_at INTEGER, next_attempt_at INTEGER,"
        " attempts INTEGER NOT NULL, version INTEGER NOT NULL, template_name TEXT,"
        " template_version INTEGER, key_scope TEXT NOT NULL, due_at INTEGER,"
        " lease_owner TEXT, lease_token TEXT, content BLOB NOT NULL)",
        "CREATE INDEX messages_due ON messages (due_at) WHERE due_at IS NOT NULL",
        "CREATE TABLE kinds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        "INSERT INTO kinds VALUES (1, 'client'), (2, 'order'), (3, 'contract'),"
        " (4, 'statement'), (5, 'amendment')",
        "CREATE TABLE links (kind INTEGER NOT NULL, entity_id TEXT NOT NULL, seq INTEGER NOT NULL,"
        " PRIMARY KEY (kind, entity_id, seq)) WITHOUT ROWID",
        "CREATE TABLE address_index (hash BLOB NOT NULL, seq INTEGER NOT NULL,"
        " PRIMARY KEY (hash, seq)) WITHOUT ROWID",
        "CREATE TABLE attachment_refs (scope TEXT NOT NULL, blob_key TEXT NOT NULL,"
        " seq INTEGER NOT NULL, PRIMARY KEY (scope, blob_key, seq)) WITHOUT ROWID",
        "CREATE TABLE attempts (id TEXT PRIMARY KEY, message_seq INTEGER NOT NULL,"
        " message_version INTEGER NOT NULL, attempt_no INTEGER NOT NULL, kind TEXT NOT NULL,"
        " actor_id TEXT NOT NULL, transport TEXT NOT NULL, started_at INTEGER NOT NULL,"
        " finished_at INTEGER NOT NULL, outcome TEXT NOT NULL, key_scope TEXT NOT NULL,"
        " content BLOB NOT NULL)",
        "CREATE INDEX attempts_message ON attempts (message_seq, finished_at)",
        "CREATE TABLE audit (id TEXT PRIMARY KEY, at INTEGER NOT NULL, actor_id TEXT NOT NULL,"
        " action TEXT NOT NULL, subject TEXT NOT NULL, details TEXT NOT NULL)",
        "CREATE INDEX audit_subject ON audit (subject, at)",
        "CREATE TABLE dictionaries (id INTEGER PRIMARY KEY, data BLOB NOT NULL,"
        " source TEXT NOT NULL, created_at INTEGER NOT NULL)",
    ],
    [
        "CREATE TABLE templates (name TEXT NOT NULL, language TEXT NOT NULL,"
        " version INTEGER NOT NULL, channel TEXT NOT NULL, subject TEXT NOT NULL, html TEXT,"
        " text TEXT, variables TEXT NOT NULL, created_by TEXT NOT NULL,"
        " created_at INTEGER NOT NULL, PRIMARY KEY (name, language, version)) WITHOUT ROWID",
        "CREATE TABLE retired_templates (name TEXT PRIMARY KEY) WITHOUT ROWID",
    ],
    [
        # Who queued a message and who carried each attempt; idempotency keys of composing
        # calls (keyed digests, never the host's key itself).
        "ALTER TABLE messages ADD COLUMN queued_by TEXT",
        "ALTER TABLE messages ADD COLUMN queued_at INTEGER",
        "ALTER TABLE attempts ADD COLUMN queued_by TEXT",
        "ALTER TABLE attempts ADD COLUMN queued_at INTEGER",
        "ALTER TABLE attempts ADD COLUMN worker TEXT NOT NULL DEFAULT ''",
        "CREATE TABLE idempotency (digest BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE INDEX idempotency_seq ON idempotency (seq)",
        # Messages an earlier version left SENDING without a lease become due (taken back).
        "UPDATE messages SET due_at = 0 WHERE status = 'w' AND due_at IS NULL",
    ],
    [
        # Messages whose change the index of this store did not get (another messenger writes
        # the index): that one picks them up (services/erasures.py).
        "CREATE TABLE unindexed (mark INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL)",
    ],
    [
        # When the server last accepted each message (the list orders and filters by it),
        # taken for earlier messages from the send log.
        "ALTER TABLE messages ADD COLUMN sent_at INTEGER",
        "UPDATE messages SET sent_at = (SELECT max(a.finished_at) FROM attempts a"
        " WHERE a.message_seq = messages.seq AND a.outcome IN ('sent', 'partially_sent'))",
        # The list's orders read pages from these (listing.py writes the same expressions:
        # a missing time sorts last, 1 << 62 ascending and -(1 << 62) descending).
        "CREATE INDEX messages_created ON messages (created_at, id)",
        "CREATE INDEX messages_scheduled_up ON messages"
        " (coalesce(scheduled_at, 4611686018427387904), created_at, id)",
        "CREATE INDEX messages_scheduled_down ON messages"
        " (coalesce(scheduled_at, -4611686018427387904), created_at, id)",
        "CREATE INDEX messages_sent_up ON messages"
        " (coalesce(sent_at, 4611686018427387904), created_at, id)",
        "CREATE INDEX messages_sent_down ON messages"
        " (coalesce(sent_at, -4611686018427387904), created_at, id)",
    ],
    [
        # Delivery reports: the gateway's id of each accepted recipient (written with its
        # attempt), and the reports (the number, code and text sealed like the send log).
        "CREATE TABLE provider_refs (transport TEXT NOT NULL, provider_id TEXT NOT NULL,"
        " seq INTEGER NOT NULL, PRIMARY KEY (transport, provider_id)) WITHOUT ROWID",
        "CREATE INDEX provider_refs_seq ON provider_refs (seq)",
        # (digest: a keyed hash of the whole report, so that the same report is kept once)
        "CREATE TABLE deliveries (id TEXT PRIMARY KEY, message_seq INTEGER NOT NULL,"
        " at INTEGER NOT NULL, state TEXT NOT NULL, key_scope TEXT NOT NULL,"
        " content BLOB NOT NULL, digest BLOB NOT NULL UNIQUE)",
        "CREATE INDEX deliveries_message ON deliveries (message_seq)",
        # Reports that named no stored attempt yet (another process was still sending): kept
        # sealed under the store's own scope until the attempt is stored, a week at most.
        "CREATE TABLE pending_deliveries (digest BLOB PRIMARY KEY, transport TEXT NOT NULL,"
        " provider_id TEXT NOT NULL, received_at INTEGER NOT NULL, key_scope TEXT NOT NULL,"
        " content BLOB NOT NULL)",
        "CREATE INDEX pending_deliveries_id ON pending_deliveries (transport, provider_id)",
    ],
    [
        # An SMS template's own encoding policy (NULL: the messenger's).
        "ALTER TABLE templates ADD COLUMN sms_policy TEXT",
    ],
]

COLUMNS = (
    "m.id, m.channel, m.status, m.created_by, m.created_at, m.updated_at, m.scheduled_at,"
    " m.expires_at, m.next_attempt_at, m.attempts, m.version, m.template_name,"
    " m.template_version, m.key_scope, m.content, m.queued_by, m.queued_at, m.sent_at"
)
ATTEMPT_COLUMNS = (
    "a.id, m.id, a.message_version, a.attempt_no, a.kind, a.actor_id, a.transport, a.started_at,"
    " a.finished_at, a.outcome, a.key_scope, a.content, a.queued_by, a.queued_at, a.worker"
)
ATTEMPT_INSERT_COLUMNS = (
    "id, message_seq, message_version, attempt_no, kind, actor_id, transport, started_at,"
    " finished_at, outcome, key_scope, content, queued_by, queued_at, worker"
)
DEFAULT_DICTIONARY_ID = 1


@functools.lru_cache(maxsize=1)
def default_dictionary() -> bytes:
    """The default compression dictionary shipped with the package (``default.zdict``, 64 KiB).

    Trained by ``scripts/train_dictionary.py`` on the stored form of synthetic e-mails with
    invented recipients and record ids (never on customer data). A new store copies it into its
    ``dictionaries`` table as :data:`DEFAULT_DICTIONARY_ID`; a store reads only its own copy
    afterwards. Read from the package on first use, then cached per process.
    """
    return (resources.files("contos_messaging.adapters.sqlite") / "default.zdict").read_bytes()
