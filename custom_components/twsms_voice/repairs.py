"""Repair issues for account problems the user must fix outside Home Assistant.

Each issue is raised when the provider says so and removed by the next request that
shows the account works again. A wrong password is not an issue here: it starts the
re-authentication flow instead.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .twsms import (
    TwsmsAccountDisabledError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsInsufficientPointsError,
    TwsmsInvalidRequestError,
    TwsmsIpNotAllowedError,
    TwsmsProviderError,
)

ISSUE_IP_NOT_ALLOWED: Final = "ip_not_allowed"
ISSUE_INSUFFICIENT_POINTS: Final = "insufficient_points"
ISSUE_ACCOUNT_DISABLED: Final = "account_disabled"
ISSUE_PROVIDER_ERRORS: Final = "provider_errors"
ISSUE_CALL_CAP_REACHED: Final = "call_cap_reached"
PROVIDER_ERRORS_THRESHOLD: Final = 3  # system errors in a row before telling the user
_ACCOUNT_ISSUES: Final = (
    (TwsmsIpNotAllowedError, ISSUE_IP_NOT_ALLOWED),
    (TwsmsInsufficientPointsError, ISSUE_INSUFFICIENT_POINTS),
    (TwsmsAccountDisabledError, ISSUE_ACCOUNT_DISABLED),
)
ALL_ISSUES: Final = (
    *(issue for _, issue in _ACCOUNT_ISSUES),
    ISSUE_PROVIDER_ERRORS,
    ISSUE_CALL_CAP_REACHED,
)


class AccountIssues:
    """Raise and clear an account's repair issues from how requests end."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        """Watch one account."""
        self._hass = hass
        self._entry = entry
        self._provider_errors_in_a_row = 0

    @callback
    def on_reply(self, error: TwsmsError | None) -> None:
        """Take one request's end: None when it succeeded, else its error."""
        if isinstance(error, TwsmsConnectionError):
            return  # says nothing about the account
        if isinstance(error, TwsmsProviderError):
            self._provider_errors_in_a_row += 1
            if self._provider_errors_in_a_row >= PROVIDER_ERRORS_THRESHOLD:
                self._create(ISSUE_PROVIDER_ERRORS, ir.IssueSeverity.WARNING)
            return
        for kind, issue_id in _ACCOUNT_ISSUES:
            if isinstance(error, kind):
                self._create(issue_id, ir.IssueSeverity.ERROR)
                return
        if error is None or isinstance(error, TwsmsInvalidRequestError):
            # The provider accepted the account (a rejected parameter proves it too).
            self._provider_errors_in_a_row = 0
            for issue_id in ALL_ISSUES:
                if issue_id != ISSUE_CALL_CAP_REACHED:  # that one is about the cap
                    self._delete(issue_id)

    @callback
    def async_clear(self) -> None:
        """Remove every issue of this account."""
        for issue_id in ALL_ISSUES:
            self._delete(issue_id)

    @callback
    def async_call_cap_reached(self, cap: int, caller: str) -> None:
        """Say that calls are being refused, and which automation asked for them."""
        self._create(
            ISSUE_CALL_CAP_REACHED,
            ir.IssueSeverity.WARNING,
            {"cap": str(cap), "caller": caller},
        )

    @callback
    def async_clear_call_cap(self) -> None:
        """Withdraw the cap issue: calls are allowed again."""
        self._delete(ISSUE_CALL_CAP_REACHED)

    def _create(
        self,
        issue_id: str,
        severity: ir.IssueSeverity,
        placeholders: dict[str, str] | None = None,
    ) -> None:
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=severity,
            translation_key=issue_id,
            translation_placeholders={"account": self._entry.title}
            | (placeholders or {}),
            data={"entry_id": self._entry.entry_id},
        )

    def _delete(self, issue_id: str) -> None:
        """Remove the issue if it is this account's (several may share the domain)."""
        issue = ir.async_get(self._hass).async_get_issue(DOMAIN, issue_id)
        if (
            issue is not None
            and (issue.data or {}).get("entry_id") == self._entry.entry_id
        ):
            ir.async_delete_issue(self._hass, DOMAIN, issue_id)
