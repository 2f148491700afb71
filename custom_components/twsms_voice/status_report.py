"""The account's webhook: where TwSMS reports each call's outcome.

Every call carries the webhook's URL as its ``response`` parameter when Home Assistant
can be reached from the internet (an external URL, or a Home Assistant Cloud
cloudhook); otherwise the tracker learns outcomes by polling alone.
"""

from __future__ import annotations

from aiohttp import web

from homeassistant.components import cloud, webhook
from homeassistant.core import HomeAssistant
from homeassistant.helpers.network import NoURLAvailableError

from .const import (
    CONF_STATUS_CALLBACK,
    CONF_WEBHOOK_ID,
    DEFAULT_STATUS_CALLBACK,
    DOMAIN,
    LOGGER,
)
from .data import TwsmsVoiceConfigEntry
from .tracker import CallTracker
from .twsms import parse_status_report


async def async_status_report_url(
    hass: HomeAssistant, entry: TwsmsVoiceConfigEntry
) -> str | None:
    """Return the URL TwSMS should report outcomes to, if it can reach one."""
    if not entry.options.get(CONF_STATUS_CALLBACK, DEFAULT_STATUS_CALLBACK):
        return None
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    if "cloud" in hass.config.components and cloud.async_active_subscription(hass):
        return await cloud.async_get_or_create_cloudhook(hass, webhook_id)
    try:
        return webhook.async_generate_url(hass, webhook_id, allow_internal=False)
    except NoURLAvailableError:
        LOGGER.info(
            "Home Assistant has no external URL: call outcomes come from polling only"
        )
        return None


def async_register_status_webhook(
    hass: HomeAssistant, entry: TwsmsVoiceConfigEntry, tracker: CallTracker
) -> None:
    """Accept status reports (GET query or POST form) until the entry unloads."""

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        fields = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            fields |= {key: str(value) for key, value in form.items()}
        outcome = parse_status_report(fields)
        if outcome is None:
            LOGGER.debug("Ignoring a malformed status report: %s", sorted(fields))
        else:
            tracker.async_report(outcome)
        # The same answer whatever arrived: the URL tells a stranger nothing.
        return web.Response(text="OK")

    webhook_id = entry.data[CONF_WEBHOOK_ID]
    webhook.async_register(
        hass,
        DOMAIN,
        f"TwSMS Voice {entry.title}",
        webhook_id,
        handle,
        allowed_methods=("GET", "POST"),
    )
    entry.async_on_unload(lambda: webhook.async_unregister(hass, webhook_id))
