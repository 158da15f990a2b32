"""The template store use case (``messenger.templates``): save a new version, get, list,
retire, the variables a template uses, and previews."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from contos_messaging.domain.actor import Actor, Permission
from contos_messaging.domain.html import safe_html
from contos_messaging.domain.links import LinkedEntity
from contos_messaging.domain.message import Channel
from contos_messaging.domain.sms import SmsPolicy, analyse_sms
from contos_messaging.domain.template import Template
from contos_messaging.errors import MessagingError, TemplateNotFound
from contos_messaging.ports import RenderedParts
from contos_messaging.services.arguments import checked_methods
from contos_messaging.services.composing import html_policy
from contos_messaging.services.context import ContextBuilder, as_links
from contos_messaging.services.settings import MessengerSettings, Ports

__all__ = ["AsyncTemplates"]


@checked_methods
class AsyncTemplates:
    """``messenger.templates``: save (a new version each time), get, list, retire, variables,
    preview."""

    def __init__(self, ports: Ports, settings: MessengerSettings) -> None:
        self._ports = ports
        self._settings = settings

    async def save(
        self,
        actor: Actor,
        name: str,
        *,
        channel: Channel | str = Channel.EMAIL,
        subject: str = "",
        html: str | None = None,
        text: str | None = None,
        language: str | None = None,
        sms_policy: SmsPolicy | str | None = None,
    ) -> Template:
        """Check the syntax and store a new version; returns it (with ``version`` and the
        ``variables`` it uses). A syntax error raises :class:`TemplateError` naming the part
        and line; a part longer than ``Limits.template_chars`` or nested deeper than
        ``Limits.template_depth`` raises :class:`LimitExceeded` before it is compiled. Either
        way, nothing is stored. An SMS template's ``sms_policy`` (``"auto"``,
        ``"transliterate"``, ``"ucs2"``) applies to its messages instead of the messenger's.

        .. versionchanged:: 0.5 ``sms_policy``"""
        self._ports.permissions.check(actor, Permission.MANAGE_TEMPLATES)
        template = Template(
            name=name,
            channel=channel,
            language=language or self._settings.default_language,
            subject=subject,
            html=html,
            text=text,
            created_by=actor.id,
            created_at=self._ports.clock.now(),
            sms_policy=sms_policy,
        )
        # Off the event loop: jinja2 takes seconds to parse the largest sources allowed.
        variables = await asyncio.to_thread(self._check, template)
        return await self._ports.templates.save_template(
            attrs.evolve(template, variables=variables)
        )

    def _check(self, template: Template) -> frozenset[str]:
        template.check_limits(self._settings.limits)
        return self._ports.renderer.check(template)

    async def get(
        self, name: str, *, version: int | None = None, language: str | None = None
    ) -> Template:
        """The latest version (or ``version``) in ``language``, falling back to the default
        language when the template has no such variant."""
        wanted = language or self._settings.default_language
        try:
            return await self._ports.templates.get_template(name, language=wanted, version=version)
        except TemplateNotFound:
            if wanted == self._settings.default_language:
                raise
        return await self._ports.templates.get_template(
            name, language=self._settings.default_language, version=version
        )

    async def list(self) -> list[Template]:
        """The latest version of every template and language that is not retired."""
        return await self._ports.templates.list_templates()

    async def retire(self, actor: Actor, name: str) -> int:
        """Retire a template (all languages); its versions stay readable by number."""
        self._ports.permissions.check(actor, Permission.MANAGE_TEMPLATES)
        count = await self._ports.templates.retire_template(name)
        if not count:
            raise TemplateNotFound(name)
        return count

    async def variables(self, name: str, *, language: str | None = None) -> frozenset[str]:
        """The top-level variables the template uses (``client``, ``order``, ...)."""
        return (await self.get(name, language=language)).variables

    async def preview(
        self,
        name: str,
        variables: Mapping[str, Any] | None = None,
        *,
        links: Iterable[LinkedEntity] | LinkedEntity = (),
        language: str | None = None,
        version: int | None = None,
    ) -> RenderedParts:
        """Render without storing anything: linked records' variables plus ``variables``. The
        result is what a message would hold: HTML sanitised, SMS text after the template's SMS
        policy (else the messenger's) with its cost in ``sms``, whose ``policy`` says which."""
        template = await self.get(name, version=version, language=language)
        context = await ContextBuilder(self._ports, self._settings).build(
            as_links(links), variables
        )
        (result,) = await self._ports.renderer.render(template, [context])
        if isinstance(result, MessagingError):
            raise result
        settings = self._settings
        if template.channel is Channel.SMS:
            sms_policy = template.sms_policy or settings.sms_policy
            text = settings.sms_text(result.text or "", sms_policy)
            return attrs.evolve(result, text=text, sms=analyse_sms(text, sms_policy))
        policy = html_policy(settings)
        if result.html and result.safe_html != policy:
            clean = safe_html(result.html, remote_images=settings.remote_images)
            return attrs.evolve(result, html=clean, safe_html=policy)
        return result
