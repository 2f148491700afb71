"""The account's webhook: where TwSMS reports each call's outcome.

Every call carries the webhook's URL as its ``response`` parameter when Home Assistant
can be reached from the internet: through a Home Assistant Cloud cloudhook when the
cloud is connected, else through the external URL; otherwise the tracker learns
outcomes by polling alone. The cloud often connects after the integration has started
(at every boot): calls placed until then use the external URL or polling, and the
cloudhook is attached as soon as the cloud connects.

Whoever knows the URL can post to it; its webhook id (256 random bits) is the secret.
A report only settles a pending call whose msgid and number it names, so the worst a
forger who learnt the URL could do is settle such a call early (an escalation might
stop). Whatever arrives, the answer is the same and nothing is logged with the id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

from homeassistant.components import cloud, webhook
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError

from .const import (
    CONF_STATUS_CALLBACK,
    CONF_WEBHOOK_ID,
    DEFAULT_STATUS_CALLBACK,
    DOMAIN,
    LOGGER,
)
from .twsms import CallOutcome, parse_status_report
from .typedefs import TwsmsVoiceConfigEntry

MAX_REPORT_BYTES: Final = 4096  # a report is a few dozen bytes
# Every method Home Assistant routes to webhooks: it would log the id of a webhook
# for a method it does not accept, so this one takes them all and answers itself.
_METHODS: Final = webhook.SUPPORTED_METHODS


class StatusReports:
    """One account's webhook, and the URL its calls ask TwSMS to report to."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: TwsmsVoiceConfigEntry,
        on_report: Callable[[CallOutcome], None],
    ) -> None:
        """Prepare; nothing is registered until `register`."""
        self._hass = hass
        self._entry = entry
        self._on_report = on_report
        # Only an entry from before version 0.2 that never loaded since has none.
        self._webhook_id: str | None = entry.data.get(CONF_WEBHOOK_ID)
        self._cloudhook_url: str | None = None
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._attaching: asyncio.Task[None] | None = None

    @property
    def url(self) -> str | None:
        """Return the URL for a call's ``response`` parameter, if TwSMS can reach one.

        Worked out for every call: the external URL may change while running.
        """
        if not self._entry.options.get(CONF_STATUS_CALLBACK, DEFAULT_STATUS_CALLBACK):
            return None
        if self._cloudhook_url is not None:
            return self._cloudhook_url
        assert self._webhook_id is not None  # setup made one
        try:
            return webhook.async_generate_url(
                self._hass, self._webhook_id, allow_internal=False
            )
        except NoURLAvailableError:
            return None

    @callback
    def register(self) -> None:
        """Accept reports, and follow the cloud connection, until `unregister`."""
        if (webhook_id := self._webhook_id) is None:
            return
        webhook.async_register(
            self._hass,
            DOMAIN,
            f"TwSMS Voice {self._entry.title}",
            webhook_id,
            self._async_handle,
            allowed_methods=_METHODS,
        )
        self._unsubscribe.append(
            lambda: webhook.async_unregister(self._hass, webhook_id)
        )
        self._unsubscribe.append(
            cloud.async_listen_connection_change(self._hass, self._cloud_changed)
        )

    @callback
    def start(self) -> None:
        """Attach a cloudhook if the cloud is there already, or say how it stands."""
        if cloud.async_is_connected(self._hass):
            self._cloud_changed(cloud.CloudConnectionState.CLOUD_CONNECTED)
        elif self.url is None and self._entry.options.get(
            CONF_STATUS_CALLBACK, DEFAULT_STATUS_CALLBACK
        ):
            LOGGER.info(
                "Home Assistant has no external URL: call outcomes come from polling "
                "until Home Assistant Cloud connects"
            )

    @callback
    def unregister(self) -> None:
        """Stop accepting reports and following the cloud."""
        while self._unsubscribe:
            self._unsubscribe.pop()()
        if self._attaching is not None:
            self._attaching.cancel()

    async def async_remove(self) -> None:
        """Unregister and delete the cloudhook of an account that is deleted."""
        self.unregister()
        if self._webhook_id is not None and cloud.async_is_logged_in(self._hass):
            try:
                await cloud.async_delete_cloudhook(self._hass, self._webhook_id)
            except cloud.CloudNotAvailable, ValueError:
                return  # there was none

    @callback
    def _cloud_changed(self, state: cloud.CloudConnectionState) -> None:
        """Attach the cloudhook when the cloud connects; drop it while it is away."""
        if state is not cloud.CloudConnectionState.CLOUD_CONNECTED:
            self._cloudhook_url = None
        elif (
            self._cloudhook_url is None
            and self._attaching is None
            and cloud.async_active_subscription(self._hass)
        ):
            self._attaching = self._hass.async_create_background_task(
                self._async_attach_cloudhook(), f"{DOMAIN} cloudhook"
            )

    async def _async_attach_cloudhook(self) -> None:
        assert self._webhook_id is not None
        try:
            url = await cloud.async_get_or_create_cloudhook(
                self._hass, self._webhook_id
            )
            if cloud.async_is_connected(self._hass):  # not gone meanwhile
                self._cloudhook_url = url
        except Exception as err:  # noqa: BLE001 - polling covers whatever went wrong
            LOGGER.info("No Home Assistant Cloud webhook for status reports: %r", err)
        else:
            LOGGER.debug("Status reports come through Home Assistant Cloud")
        finally:
            self._attaching = None

    async def _async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Take a report from a GET query or a POST form.

        Never raise: Home Assistant would log the exception with the webhook id.
        """
        try:
            body = await _read_body(request) if request.method == "POST" else b""
            status, outcome = read_report(request.method, request.query, body)
            if outcome is not None:
                self._on_report(outcome)
        except Exception:  # noqa: BLE001 - whatever a stranger sends or breaks off
            LOGGER.debug("A status report could not be taken", exc_info=True)
            return web.Response(status=400)
        return web.Response(status=status, text="OK" if status == 200 else None)


async def _read_body(request: web.Request) -> bytes:
    """Read the body, but never more than one byte past what a report can be."""
    body = b""
    while len(body) <= MAX_REPORT_BYTES and (
        chunk := await request.content.read(MAX_REPORT_BYTES + 1 - len(body))
    ):
        body += chunk
    return body


def read_report(
    method: str, query: Mapping[str, str], body: bytes
) -> tuple[int, CallOutcome | None]:
    """Return the HTTP status to answer and the report a request carries, if any.

    Reports come as a GET query or a POST form and are a few dozen bytes; anything
    bigger is refused unread. The answer is the same for a malformed report as for
    a good one: the URL tells a stranger nothing.
    """
    if method not in ("GET", "POST"):
        return 405, None
    if len(body) > MAX_REPORT_BYTES:
        return 413, None
    fields = dict(query) | dict(parse_qsl(body.decode("utf-8", errors="replace")))
    outcome = parse_status_report(fields)
    if outcome is None:
        LOGGER.debug("Ignoring a malformed status report")
    return 200, outcome
