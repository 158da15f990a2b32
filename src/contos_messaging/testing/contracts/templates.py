"""Contract of the :class:`~contos_messaging.ports.TemplateRepository` port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from contos_messaging.domain.message import Channel
from contos_messaging.domain.template import Template
from contos_messaging.errors import InvalidInput, TemplateNotFound
from contos_messaging.ports import TemplateRepository
from contos_messaging.testing.contracts._base import Contract, not_defined, under_test

__all__ = ["TemplateRepositoryContract"]


def _email_template(
    name: str = "order-confirmation", *, language: str = "cs", subject: str = "S"
) -> Template:
    return Template(
        name=name,
        channel=Channel.EMAIL,
        language=language,
        subject=subject,
        html="<p>{{ client.name }}</p>",
        variables=frozenset({"client"}),
        created_by="jana",
    )


class TemplateRepositoryContract(Contract):
    """The behaviour every :class:`~contos_messaging.ports.TemplateRepository` keeps. Subclass
    it as ``Test...`` and define :meth:`make_template_repository`.

    .. versionadded:: 0.3
    """

    async def make_template_repository(self, directory: Path) -> TemplateRepository:
        """A new template repository holding no templates."""
        raise not_defined(self, "make_template_repository")

    @pytest_asyncio.fixture
    async def templates(self, tmp_path: Path) -> AsyncIterator[TemplateRepository]:
        """The repository under test, closed after the test."""
        async with under_test(self, self.make_template_repository, tmp_path) as repository:
            yield repository

    async def test_every_save_is_a_new_version_and_old_ones_stay(
        self, templates: TemplateRepository
    ) -> None:
        first = await templates.save_template(_email_template(subject="v1"))
        second = await templates.save_template(_email_template(subject="v2"))
        assert (first.version, second.version) == (1, 2)
        assert first.created_at is not None
        assert (await templates.get_template("order-confirmation")).subject == "v2"
        old = await templates.get_template("order-confirmation", version=1)
        assert old.subject == "v1"
        assert old.variables == frozenset({"client"})
        assert old.html == "<p>{{ client.name }}</p>"

    async def test_languages_are_versioned_separately(self, templates: TemplateRepository) -> None:
        await templates.save_template(_email_template(subject="cz"))
        await templates.save_template(_email_template(subject="cz2"))
        en = await templates.save_template(_email_template(language="en", subject="en"))
        assert en.version == 1
        assert (await templates.get_template("order-confirmation", language="en")).subject == "en"
        with pytest.raises(TemplateNotFound):
            await templates.get_template("order-confirmation", language="de")

    async def test_a_name_with_a_lone_surrogate_is_refused_with_invalid_input(
        self, templates: TemplateRepository
    ) -> None:
        with pytest.raises(InvalidInput):
            await templates.get_template("\ud800")
        with pytest.raises(InvalidInput):
            await templates.retire_template("x\udfff")
        assert await templates.list_templates() == []

    @pytest.mark.parametrize("version", [0, -1, 2**63, 10**80])
    async def test_a_version_no_store_could_hold_is_not_found(
        self, templates: TemplateRepository, version: int
    ) -> None:
        await templates.save_template(_email_template())
        with pytest.raises(TemplateNotFound):
            await templates.get_template("order-confirmation", version=version)

    async def test_unknown_names_and_versions_raise(self, templates: TemplateRepository) -> None:
        await templates.save_template(_email_template())
        with pytest.raises(TemplateNotFound) as info:
            await templates.get_template("order-confirmation", version=9)
        assert (info.value.name, info.value.version) == ("order-confirmation", 9)
        with pytest.raises(TemplateNotFound):
            await templates.get_template("nope")

    async def test_list_shows_latest_versions_and_retire_hides(
        self, templates: TemplateRepository
    ) -> None:
        await templates.save_template(_email_template("a"))
        await templates.save_template(_email_template("a"))
        sms = Template(name="b", channel=Channel.SMS, text="Dobrý den", created_by="jana")
        await templates.save_template(sms)
        listed = await templates.list_templates()
        assert [(t.name, t.version, t.channel) for t in listed] == [
            ("a", 2, Channel.EMAIL),
            ("b", 1, Channel.SMS),
        ]
        assert await templates.retire_template("a") == 2
        assert [t.name for t in await templates.list_templates()] == ["b"]
        with pytest.raises(TemplateNotFound):
            await templates.get_template("a")
        retired = await templates.get_template("a", version=1)
        assert retired.retired
        again = await templates.save_template(_email_template("a"))
        assert again.version == 3
        assert not (await templates.get_template("a")).retired
