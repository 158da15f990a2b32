"""The TemplateRepository contract (shipped in ``contos_messaging.testing.contracts``) on the
fake and on the SQLite message repository, which also stores templates."""

from __future__ import annotations

from contos_messaging.adapters.memory import InMemoryTemplateRepository
from contos_messaging.adapters.sqlite import SQLiteMessageRepository
from contos_messaging.testing.contracts import TemplateRepositoryContract
from tests.contract.embedded import open_keys


class TestInMemoryTemplateRepository(TemplateRepositoryContract):
    async def make_template_repository(self, directory):
        return InMemoryTemplateRepository()


class TestSQLiteTemplateRepository(TemplateRepositoryContract):
    async def make_template_repository(self, directory):
        keys = await open_keys(self, directory)
        return await SQLiteMessageRepository.open(directory / "messages.sqlite", keys=keys)
