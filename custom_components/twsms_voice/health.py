"""How an account is doing, learnt from the requests it makes anyway.

Whether TwSMS can be reached (logged once when it cannot, once when it is back), and
repair issues for account problems the user must fix outside Home Assistant: each is
raised when the provider says so and removed by the next request that shows the
account works again. A wrong password is not an issue here: it starts the
re-authentication flow instead. Issue ids carry the entry id, so two accounts never
share or overwrite an issue.
"""

from __future__ import annotations

from typing import Final

from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, LOGGER
from .twsms import (
    TwsmsAccountDisabledError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsInsufficientPointsError,
    TwsmsInvalidRequestError,
    TwsmsIpNotAllowedError,
    TwsmsProviderError,
)
from .typedefs import TwsmsVoiceConfigEntry

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
# Issues that a request the provider accepts proves solved.
_SOLVED_BY_A_REPLY: Final = (
    *(issue for _, issue in _ACCOUNT_ISSUES),
    ISSUE_PROVIDER_ERRORS,
)
ALL_ISSUES: Final = (*_SOLVED_BY_A_REPLY, ISSUE_CALL_CAP_REACHED)


def issue_id(kind: str, entry_id: str) -> str:
    """Return the id of one account's issue of a kind."""
    return f"{kind}_{entry_id}"


class AccountHealth:
    """Follow one account's requests: reachability and repair issues."""

    def __init__(self, hass: HomeAssistant, entry: TwsmsVoiceConfigEntry) -> None:
        """Watch one account."""
        self._hass = hass
        self._entry = entry
        self._provider_errors_in_a_row = 0
        self._listeners: list[CALLBACK_TYPE] = []
        self.reachable = True

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever the health changes; return the way to stop."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @property
    def open_issues(self) -> list[str]:
        """Return the kinds of this account's repair issues open and not dismissed."""
        registry = ir.async_get(self._hass)
        return [
            kind
            for kind in ALL_ISSUES
            if (
                issue := registry.async_get_issue(
                    DOMAIN, issue_id(kind, self._entry.entry_id)
                )
            )
            and issue.dismissed_version is None
        ]

    @callback
    def async_track_issues(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever an issue of this account changes, whoever did it.

        A repair's fix flow or the user dismissing an issue changes it too.
        """

        @callback
        def mine(data: ir.EventIssueRegistryUpdatedData) -> bool:
            return data["domain"] == DOMAIN and data["issue_id"].endswith(
                self._entry.entry_id
            )

        @callback  # in the event loop: a plain function would run in the executor
        def changed(_: Event[ir.EventIssueRegistryUpdatedData]) -> None:
            update()

        return self._hass.bus.async_listen(
            ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED, changed, event_filter=mine
        )

    @callback
    def on_reply(self, error: TwsmsError | None) -> None:
        """Take one request's end: None when it succeeded, else its error."""
        self._set_reachable(error)
        if isinstance(error, TwsmsConnectionError):
            return  # says nothing about the account
        if isinstance(error, TwsmsProviderError):
            self._provider_errors_in_a_row += 1
            if self._provider_errors_in_a_row >= PROVIDER_ERRORS_THRESHOLD:
                self._create(ISSUE_PROVIDER_ERRORS, ir.IssueSeverity.WARNING)
            return
        for kind, issue in _ACCOUNT_ISSUES:
            if isinstance(error, kind):
                self._create(issue, ir.IssueSeverity.ERROR)
                return
        if error is None or isinstance(error, TwsmsInvalidRequestError):
            # The provider accepted the account (a rejected parameter proves it too).
            self._provider_errors_in_a_row = 0
            for issue in _SOLVED_BY_A_REPLY:
                self._delete(issue)

    def _set_reachable(self, error: TwsmsError | None) -> None:
        """Log once when TwSMS cannot be reached, and once when it is back."""
        reachable = not isinstance(error, TwsmsConnectionError)
        if reachable == self.reachable:
            return
        self.reachable = reachable
        if reachable:
            LOGGER.info("TwSMS can be reached again (%s)", self._entry.title)
        else:
            LOGGER.warning(
                "TwSMS cannot be reached (%s); calls wait in the queue until it is "
                "back: %s",
                self._entry.title,
                error,
            )
        self._changed()

    @callback
    def async_clear(self) -> None:
        """Remove every issue of this account."""
        for issue in ALL_ISSUES:
            self._delete(issue)

    @callback
    def async_call_cap_reached(self, cap: int, caller: str) -> None:
        """Say that calls are being refused, and which automation asked for them."""
        self._create(
            ISSUE_CALL_CAP_REACHED,
            ir.IssueSeverity.WARNING,
            {"cap": str(cap), "caller": caller},
            is_fixable=True,
        )

    @callback
    def async_clear_call_cap(self) -> None:
        """Withdraw the cap issue: calls are allowed again."""
        self._delete(ISSUE_CALL_CAP_REACHED)

    def _create(
        self,
        kind: str,
        severity: ir.IssueSeverity,
        placeholders: dict[str, str] | None = None,
        *,
        is_fixable: bool = False,
    ) -> None:
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id(kind, self._entry.entry_id),
            is_fixable=is_fixable,
            severity=severity,
            translation_key=kind,
            translation_placeholders={"account": self._entry.title}
            | (placeholders or {}),
            data={"entry_id": self._entry.entry_id},
        )

    def _delete(self, kind: str) -> None:
        # The registry's update event tells the sensors (`async_track_issues`).
        ir.async_delete_issue(self._hass, DOMAIN, issue_id(kind, self._entry.entry_id))

    def _changed(self) -> None:
        for update in list(self._listeners):
            update()
