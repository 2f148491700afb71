"""Exceptions raised by the TwSMS Voice client.

Every exception that carries a provider error code keeps it in ``code`` so callers can
tell the send table from the query table without re-parsing messages. No exception
text ever contains the account password.
"""

from __future__ import annotations


class TwsmsError(Exception):
    """Base of everything the client raises."""


class TwsmsConnectionError(TwsmsError):
    """The provider could not be reached or did not answer in time.

    Covers DNS failures, refused and reset connections, timeouts, HTTP 5xx and 429:
    all are worth retrying later. ``maybe_sent`` says the request may have reached
    the provider and been acted on (it was sent, and its answer was lost): a call
    sent again then rings twice.
    """

    def __init__(self, message: str, *, maybe_sent: bool = False) -> None:
        """Say whether the provider may have acted on the request."""
        super().__init__(message)
        self.maybe_sent = maybe_sent


class TwsmsHttpError(TwsmsError):
    """The provider's address answered with an HTTP redirect or a client error (4xx).

    Nothing at that address will take the request as it is: a wrong API URL, a
    request too long for the server, or a proxy sending it elsewhere. Retrying does
    not help. ``location`` is the host a redirect pointed to.
    """

    def __init__(self, message: str, status: int, location: str | None = None) -> None:
        """Keep the HTTP status beside the readable message."""
        super().__init__(message)
        self.status = status
        self.location = location


class TwsmsMalformedReplyError(TwsmsError):
    """The provider answered with something that is not a ``resp=...`` reply.

    Whatever answered may have passed the request on first: a call may have been
    placed.
    """


class TwsmsApiError(TwsmsError):
    """The provider answered with a negative error code."""

    def __init__(self, code: int | None, message: str) -> None:
        """Keep the provider's code beside the readable message."""
        super().__init__(message)
        self.code = code


class TwsmsIpNotAllowedError(TwsmsApiError):
    """The source IP may not use the API (send -1, query -1)."""


class TwsmsInsufficientPointsError(TwsmsApiError):
    """The account has not enough points left for the call (send -2)."""


class TwsmsAccountDisabledError(TwsmsApiError):
    """The account is disabled (send -3, query -2)."""


class TwsmsAuthenticationError(TwsmsApiError):
    """Wrong account or password (send -4, query -3)."""


class TwsmsInvalidRequestError(TwsmsApiError):
    """A parameter was rejected, by the provider or before sending.

    ``parameter`` names the request tag at fault; ``code`` is ``None`` when the client
    rejected the value itself and nothing reached the provider.
    """

    def __init__(self, code: int | None, message: str, parameter: str) -> None:
        """Record which parameter was at fault."""
        super().__init__(code, message)
        self.parameter = parameter


class TwsmsProviderError(TwsmsApiError):
    """The provider reported an internal system error (send -99)."""
