"""Template versions in the messages database (the TemplateRepository port)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from contos_messaging.adapters.sqlite.codec import from_us, to_us
from contos_messaging.adapters.sqlite.db import SQLiteWorker
from contos_messaging.domain.message import Channel
from contos_messaging.domain.template import Template
from contos_messaging.errors import TemplateNotFound

__all__ = ["TemplateTables"]


class TemplateTables:
    """Template versions and retirements, in the tables of the messages database (a part of
    :class:`~contos_messaging.adapters.sqlite.SQLiteMessageRepository`)."""

    _db: SQLiteWorker

    async def save_template(self, template: Template, /) -> Template:
        """Store ``template`` as the next version of its name and language."""
        created = template.created_at or datetime.now(UTC)

        def tx(conn: sqlite3.Connection) -> Template:
            (version,) = conn.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM templates"
                " WHERE name = ? AND language = ?",
                (template.name, template.language),
            ).fetchone()
            stored = attrs.evolve(template, version=version, created_at=created, retired=False)
            conn.execute(
                f"INSERT INTO templates ({_TEMPLATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    stored.name,
                    stored.language,
                    stored.version,
                    stored.channel.value,
                    stored.subject,
                    stored.html,
                    stored.text,
                    json.dumps(sorted(stored.variables)),
                    stored.created_by,
                    to_us(created),
                    None if stored.sms_policy is None else stored.sms_policy.value,
                ),
            )
            conn.execute("DELETE FROM retired_templates WHERE name = ?", (stored.name,))
            return stored

        return await self._db.transact(tx)

    async def get_template(
        self, name: str, /, *, language: str = "cs", version: int | None = None
    ) -> Template:
        """The latest version of a template that is not retired, or a given version."""
        if version is not None and not 1 <= version < 2**63:  # none so large is stored
            raise TemplateNotFound(name, version)

        def read(conn: sqlite3.Connection) -> Template:
            retired = (
                conn.execute("SELECT 1 FROM retired_templates WHERE name = ?", (name,)).fetchone()
                is not None
            )
            if version is None:
                if retired:
                    raise TemplateNotFound(name)
                row = conn.execute(
                    f"SELECT {_TEMPLATE_COLUMNS} FROM templates WHERE name = ? AND language = ?"
                    " ORDER BY version DESC LIMIT 1",
                    (name, language),
                ).fetchone()
            else:
                row = conn.execute(
                    f"SELECT {_TEMPLATE_COLUMNS} FROM templates WHERE name = ? AND language = ?"
                    " AND version = ?",
                    (name, language, version),
                ).fetchone()
            if row is None:
                raise TemplateNotFound(name, version)
            return _template(row, retired)

        return await self._db.query(read)

    async def list_templates(self) -> list[Template]:
        """The latest version of every template and language that is not retired."""
        rows = await self._db.query(
            lambda c: c.execute(
                f"SELECT {_TEMPLATE_COLUMNS} FROM templates t WHERE version = (SELECT max(version)"
                " FROM templates WHERE name = t.name AND language = t.language) AND name NOT IN"
                " (SELECT name FROM retired_templates) ORDER BY name, language"
            ).fetchall()
        )
        return [_template(row, False) for row in rows]

    async def retire_template(self, name: str, /) -> int:
        """Retire every language of ``name``."""

        def tx(conn: sqlite3.Connection) -> int:
            (count,) = conn.execute(
                "SELECT count(*) FROM templates WHERE name = ?", (name,)
            ).fetchone()
            if count:
                conn.execute("INSERT OR IGNORE INTO retired_templates VALUES (?)", (name,))
            return int(count)

        return await self._db.transact(tx)


_TEMPLATE_COLUMNS = (
    "name, language, version, channel, subject, html, text, variables, created_by, created_at,"
    " sms_policy"
)


def _template(row: Sequence[Any], retired: bool) -> Template:
    name, language, version, channel, subject, html, text, variables, by, created, policy = row
    return Template(
        name=name,
        channel=Channel(channel),
        language=language,
        subject=subject,
        html=html,
        text=text,
        version=version,
        variables=frozenset(json.loads(variables)),
        created_by=by,
        created_at=from_us(created),
        retired=retired,
        sms_policy=policy,
    )
