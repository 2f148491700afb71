"""The TwSMS Voice integration: Home Assistant alerts as phone calls."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components import webhook
from homeassistant.const import CONF_NAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.discovery import async_load_platform
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import slugify
from homeassistant.util.hass_dict import HassKey

from .account import async_check_credentials, create_client
from .const import (
    CONF_GIVE_UP_AFTER,
    CONF_MAX_QUEUE_AGE,
    CONF_WEBHOOK_ID,
    DEFAULT_GIVE_UP_AFTER,
    DEFAULT_MAX_QUEUE_AGE,
    DOMAIN,
    LOGGER,
)
from .data import TwsmsVoiceConfigEntry, TwsmsVoiceData
from .entity import account_device_info
from .placer import CallPlacer
from .queue import TRANSIENT_ERRORS, CallQueue
from .repairs import AccountIssues
from .services import async_setup_services
from .status_report import async_register_status_webhook, async_status_report_url
from .tracker import CallTracker
from .twsms import TwsmsAuthenticationError, TwsmsError

PLATFORMS = [Platform.NOTIFY, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
HASS_CONFIG: HassKey[ConfigType] = HassKey(f"{DOMAIN}_hass_config")


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, which exist whether or not an account is loaded."""
    hass.data[HASS_CONFIG] = config
    async_setup_services(hass)
    return True


def notify_service_name(hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> str:
    """Name the legacy notify service: the oldest account keeps the domain's name."""
    entries = hass.config_entries.async_entries(DOMAIN)
    oldest = min(entries, key=lambda other: other.created_at)
    if oldest.entry_id == entry.entry_id:
        return DOMAIN
    return f"{DOMAIN}_{slugify(entry.title)}"


async def async_setup_entry(hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> bool:
    """Check the account, then follow its calls and set up its notify service.

    A rejected password fails setup (and asks for a new one); account problems the
    user must fix at TwSMS make it retry; a provider that cannot be reached does not
    stop it, since the queue holds calls until TwSMS is back.
    """
    issues = AccountIssues(hass, entry)
    client = create_client(hass, entry.data, entry.options, issues.on_reply)
    try:
        await async_check_credentials(client)
    except TwsmsAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="setup_authentication_failed"
        ) from err
    except TRANSIENT_ERRORS as err:
        # An alarm must not find notify.twsms_voice missing because the internet
        # blinked while Home Assistant started: set up, and let the queue wait.
        LOGGER.warning("TwSMS cannot be reached now; calls will be queued: %s", err)
    except TwsmsError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="setup_not_ready",
            translation_placeholders={"error": str(err)},
        ) from err

    if CONF_WEBHOOK_ID not in entry.data:
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_WEBHOOK_ID: webhook.async_generate_id()}
        )
    give_up_after = entry.options.get(CONF_GIVE_UP_AFTER, DEFAULT_GIVE_UP_AFTER)
    tracker = CallTracker(hass, entry, client, timedelta(minutes=give_up_after))
    await tracker.async_load()
    entry.async_on_unload(tracker.async_unload)
    async_register_status_webhook(hass, entry, tracker)
    max_age = entry.options.get(CONF_MAX_QUEUE_AGE, DEFAULT_MAX_QUEUE_AGE)
    queue = CallQueue(
        hass,
        entry,
        client,
        tracker,
        response_url=await async_status_report_url(hass, entry),
        max_age=timedelta(minutes=max_age),
    )
    await queue.async_load()
    entry.async_on_unload(queue.async_unload)
    entry.runtime_data = TwsmsVoiceData(
        placer=CallPlacer(hass, entry, queue, tracker, issues)
    )

    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **account_device_info(entry)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    hass.async_create_task(
        async_load_platform(
            hass,
            Platform.NOTIFY,
            DOMAIN,
            {CONF_NAME: notify_service_name(hass, entry), "entry_id": entry.entry_id},
            hass.data[HASS_CONFIG],
        ),
        eager_start=True,
    )
    entry.async_on_unload(entry.add_update_listener(async_reload_entry))
    return True


async def async_reload_entry(hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> None:
    """Reload when options, credentials or contacts change."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> bool:
    """Unload the entities; the tracker, webhook and notify service follow."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> None:
    """Forget the stored and queued calls of a deleted account."""
    client = create_client(hass, entry.data)
    tracker = CallTracker(hass, entry, client, timedelta())
    await tracker.async_remove()
    queue = CallQueue(
        hass, entry, client, tracker, response_url=None, max_age=timedelta()
    )
    await queue.async_remove()
    AccountIssues(hass, entry).async_clear()
