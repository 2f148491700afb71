"""Building a client from an entry's data, and checking that the account works."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CONF_API_URL,
    CONF_RATE_LIMIT,
    CREDENTIALS_PROBE_MSGID,
    DEFAULT_RATE_LIMIT,
)
from .twsms import (
    DEFAULT_BASE_URL,
    TwsmsError,
    TwsmsInvalidRequestError,
    TwsmsVoiceClient,
)


def create_client(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
    on_reply: Callable[[TwsmsError | None], None] | None = None,
) -> TwsmsVoiceClient:
    """Return a client for the account described by config entry data and options."""
    return TwsmsVoiceClient(
        async_get_clientsession(hass),
        data[CONF_USERNAME],
        data[CONF_PASSWORD],
        base_url=data.get(CONF_API_URL, DEFAULT_BASE_URL),
        max_requests_per_second=(options or {}).get(
            CONF_RATE_LIMIT, DEFAULT_RATE_LIMIT
        ),
        on_reply=on_reply,
    )


async def async_check_credentials(client: TwsmsVoiceClient) -> None:
    """Query a msgid nobody owns: "unknown msgid" proves the account works.

    This places no call and costs no points. Every other error propagates.
    """
    try:
        await client.query_voice(CREDENTIALS_PROBE_MSGID)
    except TwsmsInvalidRequestError:
        return
