"""Async client for the TwSMS Voice API (``send_voice.php`` and ``query_voice.php``).

The provider takes the password in the query string, so every URL this client builds
carries it. aiohttp puts the URL into its exception messages; this client therefore
never lets an aiohttp exception escape or chain: it re-raises its own exceptions with
the password redacted and ``from None``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import re
from typing import Final
from urllib.parse import quote, quote_plus

import aiohttp
from yarl import URL

from .exceptions import (
    TwsmsConnectionError,
    TwsmsError,
    TwsmsInvalidRequestError,
    TwsmsMalformedReplyError,
)
from .models import CallOutcome, CallPending, SendResult, SpeechSettings, Voice
from .ratelimit import RateLimiter
from .replies import malformed_reply, parse_query_reply, parse_send_reply

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.twsms.com"
MIN_TIMEOUT: Final = 60.0  # The spec asks clients to wait at least 60 s.
SPEED_RANGE: Final = range(-10, 11)
VOLUME_RANGE: Final = range(101)
_PHONE = re.compile(r"\+?[0-9]{3,20}")
_REDACTED: Final = "**REDACTED**"


def _invalid(parameter: str, message: str) -> TwsmsInvalidRequestError:
    return TwsmsInvalidRequestError(None, message, parameter)


def _check_http_url(parameter: str, value: str) -> None:
    url = URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise _invalid(parameter, f"{parameter} must be an http(s) URL")


def _check_speech(speech: SpeechSettings) -> None:
    if speech.voice not in tuple(Voice):
        raise _invalid("voice", "voice must be 1, 2, 3 or 4")
    if speech.speed not in SPEED_RANGE:
        raise _invalid("speed", "speed must be between -10 and 10")
    if speech.volume not in VOLUME_RANGE:
        raise _invalid("vol", "vol must be between 0 and 100")


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
        max_requests_per_second: int | None = None,
        on_reply: Callable[[TwsmsError | None], None] | None = None,
    ) -> None:
        """Use the caller's session; nothing is opened until the first request.

        ``max_requests_per_second`` spaces requests out (sends and queries alike).
        ``on_reply`` hears how every request ended: None, or the error it raised.
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
        self._limiter = (
            RateLimiter(max_requests_per_second) if max_requests_per_second else None
        )
        # Every spelling of the password that can turn up in a URL or an error text.
        encoded = URL.build(query={"p": password}).raw_query_string.removeprefix("p=")
        self._secrets = tuple(
            sorted(
                {password, encoded, quote(password, safe=""), quote_plus(password)}
                - {""},
                key=len,
                reverse=True,
            )
        )

    def __repr__(self) -> str:
        """Show the account and endpoint, never the password."""
        return (
            f"{type(self).__name__}(username={self._username!r}, "
            f"base_url={str(self._base_url)!r})"
        )

    @property
    def username(self) -> str:
        """Return the account this client acts for."""
        return self._username

    async def send_voice(
        self,
        phone: str,
        message: str,
        *,
        speech: SpeechSettings | None = None,
        voice_url: str | None = None,
        response_url: str | None = None,
    ) -> SendResult:
        """Place a call reading ``message`` (type 1), or playing ``voice_url`` (type 2).

        ``response_url`` asks the provider to report the outcome there.
        """
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
            params["response"] = response_url
        return await self._request("send_voice.php", params, parse_send_reply)

    async def query_voice(self, msgid: int) -> CallOutcome | CallPending:
        """Ask what became of the call ``msgid``."""
        if msgid <= 0:
            raise _invalid("msgid", "msgid must be a positive number")
        return await self._request(
            "query_voice.php",
            {"msgid": str(msgid)},
            lambda reply: parse_query_reply(reply, msgid),
        )

    async def _request[T](
        self, endpoint: str, params: dict[str, str], parse: Callable[[str], T]
    ) -> T:
        """Make the request, parse the reply and tell ``on_reply`` how it went."""
        try:
            result = self._parse(parse, await self._get(endpoint, params))
        except TwsmsError as err:
            if self._on_reply is not None:
                self._on_reply(err)
            raise
        if self._on_reply is not None:
            self._on_reply(None)
        return result

    def _parse[T](self, parse: Callable[[str], T], body: str) -> T:
        """Parse the unaltered reply; redact only what a malformed one shows.

        A proxy's error page may echo the URL, password and all. Redacting before
        parsing would be wrong: a short password can occur in any reply.
        """
        try:
            return parse(body)
        except TwsmsMalformedReplyError:
            raise malformed_reply(self._redact(body)) from None

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    async def _get(self, endpoint: str, params: dict[str, str]) -> str:
        """Send one GET and return the reply body, mapping every failure."""
        url = (self._base_url / endpoint).with_query(
            {"username": self._username, "password": self._password} | params
        )
        if self._limiter is not None:
            await self._limiter.acquire()
        _LOGGER.debug("GET %s", self._redact(str(url)))
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._session.get(url) as response,
            ):
                raw = await response.read()
                status = response.status
        except TimeoutError:
            msg = f"No reply from {self._base_url.host} within {self._timeout:.0f} s"
            raise TwsmsConnectionError(msg) from None
        except (aiohttp.ClientError, OSError) as err:
            detail = self._redact(f"{type(err).__name__}: {err}")
            msg = f"Cannot reach {self._base_url.host}: {detail}"
            raise TwsmsConnectionError(msg) from None
        if status >= 500:
            msg = f"{self._base_url.host} answered HTTP {status}"
            raise TwsmsConnectionError(msg)
        if status != 200:
            msg = f"{self._base_url.host} answered HTTP {status}"
            raise TwsmsMalformedReplyError(msg)
        body = raw.decode("utf-8", errors="replace")
        _LOGGER.debug("Reply from %s: %r", endpoint, self._redact(body))
        return body
