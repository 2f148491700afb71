"""Async client for the TwSMS Voice API (``send_voice.php`` and ``query_voice.php``).

The provider takes the password in the query string, so every URL this client builds
carries it (and a call's ``response`` URL, which is a secret of its own). aiohttp puts
the URL into its exception messages; this client therefore never lets an aiohttp
exception escape or chain: it re-raises its own exceptions with both redacted and
``from None``.

A send is not idempotent: the provider places a call for every request it receives.
So a send is made exactly once per call of `send_voice`: no redirect is followed and
aiohttp's own silent repeat of a request whose connection dropped is turned off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
import logging
import re
from typing import Final
from urllib.parse import quote, quote_plus

import aiohttp
from yarl import URL

from .exceptions import (
    TwsmsConnectionError,
    TwsmsError,
    TwsmsHttpError,
    TwsmsInvalidRequestError,
    TwsmsMalformedReplyError,
)
from .models import CallOutcome, CallPending, SendResult, SpeechSettings, Voice
from .ratelimit import RateLimiter
from .replies import malformed_reply, parse_query_reply, parse_send_reply

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.twsms.com"
MIN_TIMEOUT: Final = 60.0  # The spec asks clients to wait at least 60 s.
CONNECT_TIMEOUT: Final = 10.0  # to open a connection: nothing is sent before
# The spec sets no length; the smallest default limit of common web servers is IIS's
# 2,048 bytes of query string (Apache takes 8,190 bytes per request line, nginx 8 KB).
MAX_QUERY_LENGTH: Final = 2048
SPEED_RANGE: Final = range(-10, 11)
VOLUME_RANGE: Final = range(101)
_PHONE = re.compile(r"\+?[0-9]{3,20}")
_REDACTED: Final = "**REDACTED**"


class _ConnectionLostError(Exception):
    """A dropped connection, hidden from aiohttp's retry of idempotent requests."""

    def __init__(self, error: aiohttp.ClientError) -> None:
        """Carry the original error."""
        super().__init__(error)
        self.error = error


async def _no_silent_retry(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Stop aiohttp from sending a GET again when the connection dropped.

    aiohttp repeats an idempotent request once when the connection breaks; a send
    that the provider acted on before the break would place the call twice.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # no connection, nothing sent: aiohttp does not repeat these
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as err:
        raise _ConnectionLostError(err) from None


def mask_phone(phone: str) -> str:
    """Hide all but the prefix and the last three digits, for what is kept.

    Enough to tell numbers apart in logs, diagnostics and sensor attributes; next
    to a contact's name, too little to dial.
    """
    if len(phone) <= 6:
        return "*" * len(phone)
    shown = 3 if phone.startswith("+") else 2
    return f"{phone[:shown]}{'*' * (len(phone) - shown - 3)}{phone[-3:]}"


def _invalid(parameter: str, message: str) -> TwsmsInvalidRequestError:
    return TwsmsInvalidRequestError(None, message, parameter)


def _check_http_url(parameter: str, value: str) -> None:
    try:
        url = URL(value)
        valid = url.scheme in ("http", "https") and bool(url.host)
    except ValueError:
        valid = False
    if not valid:
        raise _invalid(parameter, f"{parameter} must be an http(s) URL")


def _check_speech(speech: SpeechSettings) -> None:
    if speech.voice not in tuple(Voice):
        raise _invalid("voice", "voice must be 1, 2, 3 or 4")
    if speech.speed not in SPEED_RANGE:
        raise _invalid("speed", "speed must be between -10 and 10")
    if speech.volume not in VOLUME_RANGE:
        raise _invalid("vol", "vol must be between 0 and 100")


@lru_cache(maxsize=16)  # the same response URL comes with every call
def _secret_spellings(secret: str) -> frozenset[str]:
    """Return every spelling of ``secret`` that can turn up in a URL or error."""
    encoded = URL.build(query={"p": secret}).raw_query_string.removeprefix("p=")
    return frozenset(
        {secret, encoded, quote(secret, safe=""), quote_plus(secret)} - {""}
    )


class TwsmsVoiceClient:
    """Place and query voice calls for one TwSMS account."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        username: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = MIN_TIMEOUT,
        rate_limiter: RateLimiter | None = None,
        on_reply: Callable[[TwsmsError | None], None] | None = None,
    ) -> None:
        """Use the caller's session; nothing is opened until the first request.

        ``rate_limiter`` spaces requests out (sends and queries alike); several
        clients of one account may share it. ``on_reply`` hears how every request
        ended: None, or the error it raised.
        """
        if timeout < MIN_TIMEOUT:
            msg = f"timeout must be at least {MIN_TIMEOUT:.0f} seconds"
            raise ValueError(msg)
        self._session = session
        self._username = username
        self._password = password
        self._base_url = URL(base_url.rstrip("/"))
        self._timeout = timeout
        self._on_reply = on_reply
        self._limiter = rate_limiter
        self._secrets = _secret_spellings(password)

    def __repr__(self) -> str:
        """Show the account and endpoint, never the password."""
        return (
            f"{type(self).__name__}(username={self._username!r}, "
            f"base_url={str(self._base_url)!r})"
        )

    def check_send(
        self,
        phone: str,
        message: str,
        *,
        speech: SpeechSettings | None = None,
        voice_url: str | None = None,
        response_url: str | None = None,
    ) -> None:
        """Raise what `send_voice` would refuse before sending anything."""
        self._send_url(phone, message, speech, voice_url, response_url)

    async def send_voice(
        self,
        phone: str,
        message: str,
        *,
        speech: SpeechSettings | None = None,
        voice_url: str | None = None,
        response_url: str | None = None,
        on_request: Callable[[], None] | None = None,
    ) -> SendResult:
        """Place a call reading ``message`` (type 1), or playing ``voice_url`` (type 2).

        ``response_url`` asks the provider to report the outcome there.
        ``on_request`` is told just before the request goes out (its turn at the rate
        limiter has come, the connection is not open yet): a caller cancelled after
        that cannot know whether the call was placed, one cancelled before knows it
        was not.
        """
        # The turn first, the work after: a burst waiting for the rate limiter must
        # not build all its URLs at once (and hold the event loop meanwhile).
        if self._limiter is not None:
            await self._limiter.acquire()
        url = self._send_url(phone, message, speech, voice_url, response_url)
        _LOGGER.debug(
            "Sending a call to %s (%s characters)", mask_phone(phone), len(message)
        )
        # An echoing proxy would show these in a malformed reply: hide them too.
        secrets = frozenset({phone}) | (
            _secret_spellings(response_url) if response_url else frozenset()
        )
        if on_request is not None:
            on_request()
        return await self._request(
            url,
            parse_send_reply,
            timeout=self._timeout,
            secrets=secrets,
            middlewares=(_no_silent_retry,),
        )

    async def query_voice(
        self, msgid: int, *, timeout: float | None = None
    ) -> CallOutcome | CallPending:
        """Ask what became of the call ``msgid``.

        A query places nothing, so a caller with a reason (a check while starting)
        may wait less than the spec's 60 s.
        """
        if msgid <= 0:
            raise _invalid("msgid", "msgid must be a positive number")
        _LOGGER.debug("Querying call %s", msgid)
        if self._limiter is not None:
            await self._limiter.acquire()
        return await self._request(
            self._url("query_voice.php", {"msgid": str(msgid)}),
            lambda reply: parse_query_reply(reply, msgid),
            timeout=timeout or self._timeout,
        )

    def _url(self, endpoint: str, params: dict[str, str]) -> URL:
        """Return the request URL, credentials first."""
        credentials = {"username": self._username, "password": self._password}
        return (self._base_url / endpoint).with_query(credentials | params)

    def _send_url(
        self,
        phone: str,
        message: str,
        speech: SpeechSettings | None,
        voice_url: str | None,
        response_url: str | None,
    ) -> URL:
        """Check a call's parameters and return its request URL."""
        if not _PHONE.fullmatch(phone):
            raise _invalid("phone", "phone must be digits, optionally after a +")
        if not message.strip():
            raise _invalid("message", "message must not be empty")
        params: dict[str, str] = {"phone": phone, "message": message}
        if voice_url is None:
            speech = speech or SpeechSettings()
            _check_speech(speech)
            params |= {
                "type": "1",
                "voice": str(int(speech.voice)),
                "speed": str(speech.speed),
                "vol": str(speech.volume),
            }
        else:
            _check_http_url("voice_url", voice_url)
            params |= {"type": "2", "voice_url": voice_url}
        if response_url is not None:
            _check_http_url("response", response_url)
            url = self._url("send_voice.php", params | {"response": response_url})
            if len(url.raw_query_string) <= MAX_QUERY_LENGTH:
                return url
            # The report URL is optional: better a call followed by polling.
            _LOGGER.debug("No report URL: the message leaves no room for it")
        url = self._url("send_voice.php", params)
        length = len(url.raw_query_string)
        if length > MAX_QUERY_LENGTH:
            rest = len(
                self._url("send_voice.php", params | {"message": ""}).raw_query_string
            )
            msg = (
                f"message is too long: {length - rest} bytes once URL-encoded, and a "
                f"request to TwSMS carries at most {MAX_QUERY_LENGTH} bytes in all "
                f"(room for about {(MAX_QUERY_LENGTH - rest) // 9} Chinese characters)"
            )
            raise _invalid("message", msg)
        return url

    async def _request[T](
        self,
        url: URL,
        parse: Callable[[str], T],
        *,
        timeout: float,
        secrets: frozenset[str] = frozenset(),
        middlewares: tuple[aiohttp.ClientMiddlewareType, ...] = (),
    ) -> T:
        """Make the request, parse the reply and tell ``on_reply`` how it went."""
        hidden = self._secrets | secrets
        try:
            body = await self._get(url, timeout, hidden, middlewares)
            result = self._parse(parse, body, hidden)
        except TwsmsError as err:
            if self._on_reply is not None:
                self._on_reply(err)
            raise
        if self._on_reply is not None:
            self._on_reply(None)
        return result

    @staticmethod
    def _parse[T](parse: Callable[[str], T], body: str, secrets: frozenset[str]) -> T:
        """Parse the unaltered reply; redact only what a malformed one shows.

        A proxy's error page may echo the URL, password and all. Redacting before
        parsing would be wrong: a short password can occur in any reply.
        """
        try:
            return parse(body)
        except TwsmsMalformedReplyError:
            raise malformed_reply(_redact(body, secrets)) from None

    async def _get(
        self,
        url: URL,
        timeout: float,
        secrets: frozenset[str],
        middlewares: tuple[aiohttp.ClientMiddlewareType, ...],
    ) -> str:
        """Send one GET and return the reply body, mapping every failure."""
        host = self._base_url.host
        try:
            async with (
                asyncio.timeout(timeout),
                self._session.get(
                    url,
                    allow_redirects=False,
                    middlewares=middlewares,
                    timeout=aiohttp.ClientTimeout(
                        total=None, sock_connect=CONNECT_TIMEOUT
                    ),
                ) as response,
            ):
                raw = await response.read()
                status = response.status
                location = response.headers.get("Location")
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as err:
            # Nothing was sent: no connection (refused, no route, DNS, TLS).
            detail = _redact(f"{type(err).__name__}: {err}", secrets)
            msg = f"Cannot reach {host}: {detail}"
            raise TwsmsConnectionError(msg) from None
        except TimeoutError:
            msg = f"No reply from {host} within {timeout:.0f} s"
            raise TwsmsConnectionError(msg, maybe_sent=True) from None
        except (_ConnectionLostError, aiohttp.ClientError, OSError) as err:
            error = err.error if isinstance(err, _ConnectionLostError) else err
            detail = _redact(f"{type(error).__name__}: {error}", secrets)
            msg = f"Lost the connection to {host}: {detail}"
            raise TwsmsConnectionError(msg, maybe_sent=True) from None
        if status in (429, 503):  # turned away before anything was done
            msg = f"{host} answered HTTP {status}"
            raise TwsmsConnectionError(msg)
        if status >= 500:  # a server's or gateway's error, maybe after TwSMS acted
            msg = f"{host} answered HTTP {status}"
            raise TwsmsConnectionError(msg, maybe_sent=True)
        if 300 <= status < 400:
            target = _location_host(url, location)
            msg = f"{host} answered HTTP {status}, a redirect to {target}"
            raise TwsmsHttpError(msg, status, target)
        if status >= 400:
            msg = f"{host} refused the request with HTTP {status}"
            raise TwsmsHttpError(msg, status)
        if status != 200:
            msg = f"{host} answered HTTP {status}"
            raise TwsmsMalformedReplyError(msg)
        return raw.decode("utf-8", errors="replace")


def _redact(text: str, secrets: frozenset[str]) -> str:
    """Replace every secret in ``text``, longest spelling first."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return text


def _location_host(request_url: URL, location: str | None) -> str:
    """Name where a redirect pointed: its host only, never its query string."""
    if not location:
        return "nowhere"
    try:
        target = request_url.join(URL(location))
    except ValueError:
        return "an invalid address"
    return target.host or "an invalid address"
