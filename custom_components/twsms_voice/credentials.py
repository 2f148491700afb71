"""Building a client from an account's data, and checking that the account works."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import CONF_API_URL, CREDENTIALS_PROBE_MSGID
from .twsms import (
    DEFAULT_BASE_URL,
    RateLimiter,
    TwsmsError,
    TwsmsInvalidRequestError,
    TwsmsVoiceClient,
)


def create_client(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    rate_limiter: RateLimiter | None = None,
    on_reply: Callable[[TwsmsError | None], None] | None = None,
) -> TwsmsVoiceClient:
    """Return a client for the account described by config entry data."""
    return TwsmsVoiceClient(
        async_get_clientsession(hass),
        data[CONF_USERNAME],
        data[CONF_PASSWORD],
        base_url=data.get(CONF_API_URL, DEFAULT_BASE_URL),
        rate_limiter=rate_limiter,
        on_reply=on_reply,
    )


async def async_check_credentials(
    client: TwsmsVoiceClient, timeout: float | None = None
) -> None:
    """Query a msgid nobody owns: "unknown msgid" proves the account works.

    This places no call and costs no points. Every other error propagates.
    """
    try:
        await client.query_voice(CREDENTIALS_PROBE_MSGID, timeout=timeout)
    except TwsmsInvalidRequestError:
        return
