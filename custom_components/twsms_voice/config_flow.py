"""Config flow: the account, its options and its contacts (subentries)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import voluptuous as vol
from yarl import URL

from homeassistant.components import webhook
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    CONF_ADVANCED,
    CONF_API_URL,
    CONF_WEBHOOK_ID,
    DOMAIN,
    LOGGER,
    SUBENTRY_CONTACT,
)
from .contact_flow import ContactSubentryFlow
from .credentials import async_check_credentials, create_client
from .options_flow import TwsmsVoiceOptionsFlow
from .twsms import (
    DEFAULT_BASE_URL,
    TwsmsAccountDisabledError,
    TwsmsAuthenticationError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsHttpError,
    TwsmsIpNotAllowedError,
    TwsmsMalformedReplyError,
)
from .typedefs import TwsmsVoiceConfigEntry

PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_CHECK_ERRORS: tuple[tuple[type[TwsmsError], str], ...] = (
    (TwsmsAuthenticationError, "invalid_auth"),
    (TwsmsAccountDisabledError, "account_disabled"),
    (TwsmsIpNotAllowedError, "ip_not_allowed"),
    (TwsmsConnectionError, "cannot_connect"),
    (TwsmsHttpError, "unexpected_reply"),
    (TwsmsMalformedReplyError, "unexpected_reply"),
)
MAX_PORT = 65535


def _advanced_section(api_url: str) -> section:
    return section(
        vol.Schema(
            {
                vol.Required(CONF_API_URL, default=api_url): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.URL)
                )
            }
        ),
        {"collapsed": True},
    )


def _api_url(value: str) -> str | None:
    """Return the API base URL the user meant; HTTPS unless they typed http://."""
    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        url = URL(text)
        valid = (
            url.scheme in ("http", "https")
            and bool(url.host)
            and 0 < (url.port or 0) <= MAX_PORT
        )
    except ValueError:  # an unclosed [ipv6 or a port that is not a number
        return None
    return str(url).rstrip("/") if valid else None


class TwsmsVoiceConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a TwSMS account; re-authenticate or reconfigure it later."""

    VERSION = 1

    async def _async_check(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Check credentials without placing a call; return form errors."""
        try:
            await async_check_credentials(create_client(self.hass, data))
        except TwsmsError as err:
            reason = next(
                (reason for kind, reason in _CHECK_ERRORS if isinstance(err, kind)),
                "unknown",
            )
            return {"base": reason}
        except Exception:  # noqa: BLE001 - a form error, never an HTTP 500
            LOGGER.exception("Unexpected error while checking the TwSMS account")
            return {"base": "unknown"}
        return {}

    async def _async_account_step(
        self,
        step_id: str,
        user_input: dict[str, Any] | None,
        current: Mapping[str, Any],
        finish: Callable[[dict[str, Any]], ConfigFlowResult],
    ) -> ConfigFlowResult:
        """Check the account fields and ``finish`` with them, or show the form."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {
                CONF_USERNAME: str(
                    user_input.get(CONF_USERNAME, current.get(CONF_USERNAME))
                ).strip(),
                CONF_PASSWORD: user_input[CONF_PASSWORD],
                CONF_API_URL: _api_url(
                    user_input.get(CONF_ADVANCED, {}).get(
                        CONF_API_URL, current.get(CONF_API_URL, DEFAULT_BASE_URL)
                    )
                ),
            }
            if data[CONF_API_URL] is None:
                errors["base"] = "invalid_api_url"
            else:
                errors = await self._async_check(data)
            if not errors:
                return finish(data)
        fields: dict[vol.Marker, Any] = {}
        if CONF_USERNAME not in current:
            fields[vol.Required(CONF_USERNAME)] = str
        fields[vol.Required(CONF_PASSWORD)] = PASSWORD_SELECTOR
        if self.source != SOURCE_REAUTH:  # a new password is all reauth asks
            fields[vol.Required(CONF_ADVANCED)] = _advanced_section(
                current.get(CONF_API_URL, DEFAULT_BASE_URL)
            )
        schema = vol.Schema(fields)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(
            step_id=step_id,
            data_schema=schema,
            errors=errors,
            description_placeholders={
                CONF_USERNAME: str(current.get(CONF_USERNAME, ""))
            },
        )

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the account and check it."""
        if user_input is not None:
            await self.async_set_unique_id(user_input[CONF_USERNAME].strip())
            self._abort_if_unique_id_configured()
        return await self._async_account_step(
            "user",
            user_input,
            {},
            lambda data: self.async_create_entry(
                title=data[CONF_USERNAME],
                # Made once, for the life of the entry: TwSMS reports here.
                data=data | {CONF_WEBHOOK_ID: webhook.async_generate_id()},
            ),
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start re-authentication after the provider rejected the password."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new password."""
        return await self._async_update_account("reauth_confirm", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the password or the API URL."""
        return await self._async_update_account("reconfigure", user_input)

    async def _async_update_account(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        entry = (
            self._get_reauth_entry()
            if self.source == SOURCE_REAUTH
            else self._get_reconfigure_entry()
        )
        # Only the fields the form changed (the webhook id stays), then a reload,
        # which also brings back an entry whose setup failed.
        return await self._async_account_step(
            step_id,
            user_input,
            entry.data,
            lambda data: self.async_update_reload_and_abort(entry, data_updates=data),
        )

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: TwsmsVoiceConfigEntry,
    ) -> TwsmsVoiceOptionsFlow:
        """Return the options flow."""
        return TwsmsVoiceOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: TwsmsVoiceConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Contacts are subentries of the account."""
        return {SUBENTRY_CONTACT: ContactSubentryFlow}
