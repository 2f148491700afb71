"""The TwSMS Voice integration: Home Assistant alerts as phone calls."""

from __future__ import annotations

from homeassistant.components import webhook
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .account import TwsmsAccount
from .audio import async_setup_audio
from .const import CONF_WEBHOOK_ID, DOMAIN
from .entity import account_device_info
from .notify import HASS_CONFIG, async_load_legacy_service
from .services import async_setup_services
from .typedefs import TwsmsVoiceConfigEntry

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NOTIFY,
    Platform.SENSOR,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, which exist whether or not an account is loaded."""
    hass.data[HASS_CONFIG] = config
    async_setup_audio(hass)
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> bool:
    """Check the account, then place and follow its calls."""
    if CONF_WEBHOOK_ID not in entry.data:  # made before the config flow made one
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_WEBHOOK_ID: webhook.async_generate_id()}
        )
    account = await TwsmsAccount.async_get(hass, entry)
    account.configure()
    if not account.checked:  # a reload keeps its running account: no check again
        try:
            await account.async_check()
        except HomeAssistantError:
            # Not loaded: nothing of the account may run (a later setup starts anew).
            await account.async_stop()
            raise
    account.start()
    entry.runtime_data = account
    entry.async_on_unload(account.pause)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **account_device_info(entry)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    async_load_legacy_service(hass, entry)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> bool:
    """Unload the entities; calls go on unless the entry is being disabled."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded and entry.disabled_by is not None:
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> None:
    """End the calls of a deleted account and delete what it stored."""
    account = await TwsmsAccount.async_get(hass, entry)
    await account.async_remove()
