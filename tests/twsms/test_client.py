"""Tests of the TwSMS Voice client against the simulator over a real socket."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from custom_components.twsms_voice.twsms import (
    CallOutcome,
    CallPending,
    CallStatus,
    RateLimiter,
    SendResult,
    SpeechSettings,
    TwsmsAccountDisabledError,
    TwsmsApiError,
    TwsmsAuthenticationError,
    TwsmsConnectionError,
    TwsmsError,
    TwsmsHttpError,
    TwsmsInsufficientPointsError,
    TwsmsInvalidRequestError,
    TwsmsIpNotAllowedError,
    TwsmsMalformedReplyError,
    TwsmsProviderError,
    TwsmsVoiceClient,
    Voice,
    client as client_module,
)
from twsms_simulator import Account, FaultKind, PhoneBehaviour, TwsmsSimulator

from ..conftest import PASSWORD, USERNAME

EXAMPLE_MESSAGE = "這是語音簡訊發送測試"


async def test_worked_example(
    client: TwsmsVoiceClient, simulator: TwsmsSimulator
) -> None:
    """Send and query exactly as the spec's worked example does."""
    result = await client.send_voice(
        "0912123456",
        EXAMPLE_MESSAGE,
        speech=SpeechSettings(voice=Voice.MALE_1),
        response_url="http://127.0.0.1/GetRes.php",
    )
    assert result == SendResult(msgid=8692325, points=2)
    (request,) = simulator.requests_to("send_voice")
    assert request.params == {
        "username": USERNAME,
        "password": PASSWORD,
        "type": "1",
        "phone": "0912123456",
        "message": EXAMPLE_MESSAGE,
        "voice": "4",
        "speed": "0",
        "vol": "100",
        "response": "http://127.0.0.1/GetRes.php",
    }
    outcome = await client.query_voice(8692325)
    assert outcome == CallOutcome(
        msgid=8692325,
        phone="0912123456",
        seconds=12,
        points=2,
        status=CallStatus.ANSWERED,
    )


async def test_the_report_url_gives_way_to_a_long_message(
    client: TwsmsVoiceClient, simulator: TwsmsSimulator
) -> None:
    """The longest message that fits goes without the optional report URL.

    The call is placed and followed by polling, rather than refused.
    """

    def fits(length: int) -> bool:
        try:
            client.check_send("0912123456", "a" * length)
        except TwsmsInvalidRequestError:
            return False
        return True

    longest = max(length for length in range(1500, 2100) if fits(length))
    report_url = "http://127.0.0.1/GetRes.php"
    await client.send_voice("0912123456", "a" * longest, response_url=report_url)
    await client.send_voice("0912123456", "a" * 100, response_url=report_url)
    long_call, short_call = simulator.requests_to("send_voice")
    assert len(long_call.params["message"]) == longest
    assert "response" not in long_call.params
    assert short_call.params["response"] == report_url


@pytest.mark.parametrize(
    "message",
    ["火警！請立即撤離 & 打 119 +886 100% a=b", "Line one\nline two  ", "漏水"],
)
async def test_message_round_trip(
    client: TwsmsVoiceClient, simulator: TwsmsSimulator, message: str
) -> None:
    """Characters that URL encoding must escape arrive unchanged."""
    await client.send_voice("0912123456", message)
    assert simulator.requests_to("send_voice")[0].params["message"] == message


async def test_recorded_voice_is_type_2(
    client: TwsmsVoiceClient, simulator: TwsmsSimulator, wav_url: str
) -> None:
    """A voice_url call is type 2 and carries no text-to-speech settings."""
    await client.send_voice("0912123456", "門鈴", voice_url=wav_url)
    params = simulator.requests_to("send_voice")[0].params
    assert params["type"] == "2"
    assert params["voice_url"] == wav_url
    assert not {"voice", "speed", "vol"} & params.keys()


@pytest.mark.parametrize(
    ("status", "seconds"),
    [(CallStatus.ANSWERED, 30), (CallStatus.NO_ANSWER, 0), (CallStatus.BUSY, 0)],
)
async def test_query_outcomes(
    client: TwsmsVoiceClient,
    simulator: TwsmsSimulator,
    status: CallStatus,
    seconds: int,
) -> None:
    """Each final status comes back typed, with the seconds listened."""
    simulator.phones["0933000000"] = PhoneBehaviour(status=str(status), playtime=30)
    sent = await client.send_voice("0933000000", "test")
    outcome = await client.query_voice(sent.msgid)
    assert isinstance(outcome, CallOutcome)
    assert (outcome.status, outcome.seconds) == (status, seconds)


async def test_query_before_the_call_ends(
    client: TwsmsVoiceClient, simulator: TwsmsSimulator
) -> None:
    """Query code -5 is a distinct answer, not an error."""
    simulator.outcome_delay = 3600
    sent = await client.send_voice("0912123456", "test")
    assert await client.query_voice(sent.msgid) == CallPending(msgid=sent.msgid)


SEND_ERRORS = [
    (-1, TwsmsIpNotAllowedError, None),
    (-2, TwsmsInsufficientPointsError, None),
    (-3, TwsmsAccountDisabledError, None),
    (-4, TwsmsAuthenticationError, None),
    (-5, TwsmsInvalidRequestError, "type"),
    (-6, TwsmsInvalidRequestError, "replay_method"),
    (-7, TwsmsInvalidRequestError, "replay_count"),
    (-8, TwsmsInvalidRequestError, "phone"),
    (-9, TwsmsInvalidRequestError, "message"),
    (-10, TwsmsInvalidRequestError, "voice_url"),
    (-11, TwsmsInvalidRequestError, "voice_url"),
    (-12, TwsmsInvalidRequestError, "voice_url"),
    (-13, TwsmsInvalidRequestError, "voice"),
    (-14, TwsmsInvalidRequestError, "speed"),
    (-15, TwsmsInvalidRequestError, "vol"),
    (-99, TwsmsProviderError, None),
]


@pytest.mark.parametrize(("code", "error", "parameter"), SEND_ERRORS)
async def test_send_error_codes(
    client: TwsmsVoiceClient,
    simulator: TwsmsSimulator,
    code: int,
    error: type[TwsmsApiError],
    parameter: str | None,
) -> None:
    """Every code of the send table raises its own exception carrying the code."""
    simulator.add_fault(FaultKind.CODE, code=code)
    with pytest.raises(error) as raised:
        await client.send_voice("0912123456", "test")
    assert raised.value.code == code
    assert getattr(raised.value, "parameter", None) == parameter


QUERY_ERRORS = [
    (-1, TwsmsIpNotAllowedError, None),
    (-2, TwsmsAccountDisabledError, None),
    (-3, TwsmsAuthenticationError, None),
    (-4, TwsmsInvalidRequestError, "msgid"),
]


@pytest.mark.parametrize(("code", "error", "parameter"), QUERY_ERRORS)
async def test_query_error_codes(
    client: TwsmsVoiceClient,
    simulator: TwsmsSimulator,
    code: int,
    error: type[TwsmsApiError],
    parameter: str | None,
) -> None:
    """The query table maps -2/-3/-4 differently from the send table."""
    simulator.add_fault(FaultKind.CODE, code=code)
    with pytest.raises(error) as raised:
        await client.query_voice(8692325)
    assert raised.value.code == code
    assert getattr(raised.value, "parameter", None) == parameter


async def test_unknown_error_code(
    client: TwsmsVoiceClient, simulator: TwsmsSimulator
) -> None:
    """A negative code the spec does not list is still an API error with its code."""
    simulator.add_fault(FaultKind.CODE, code=-42, times=2)
    with pytest.raises(TwsmsApiError) as sent:
        await client.send_voice("0912123456", "test")
    with pytest.raises(TwsmsApiError) as queried:
        await client.query_voice(1)
    for raised in (sent, queried):
        assert type(raised.value) is TwsmsApiError
        assert raised.value.code == -42


async def test_account_states_reached_for_real(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession
) -> None:
    """Wrong password, disabled account, foreign IP and no points, without faults."""

    def client_for(username: str, password: str) -> TwsmsVoiceClient:
        return TwsmsVoiceClient(session, username, password, base_url=simulator.url)

    simulator.accounts |= {
        "off": Account(password="pw", disabled=True),
        "abroad": Account(password="pw", allowed_ips=frozenset({"192.0.2.1"})),
        "broke": Account(password="pw", points=1),
    }
    cases: list[tuple[TwsmsVoiceClient, type[TwsmsError], type[TwsmsError]]] = [
        (
            client_for(USERNAME, "wrong"),
            TwsmsAuthenticationError,
            TwsmsAuthenticationError,
        ),
        (
            client_for("nobody", "pw"),
            TwsmsAuthenticationError,
            TwsmsAuthenticationError,
        ),
        (client_for("off", "pw"), TwsmsAccountDisabledError, TwsmsAccountDisabledError),
        (client_for("abroad", "pw"), TwsmsIpNotAllowedError, TwsmsIpNotAllowedError),
        (
            client_for("broke", "pw"),
            TwsmsInsufficientPointsError,
            TwsmsInvalidRequestError,
        ),
    ]
    for client, send_error, query_error in cases:
        with pytest.raises(send_error):
            await client.send_voice("0912123456", "test")
        with pytest.raises(query_error):
            await client.query_voice(8692325)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"phone": "0912-123-456"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"message": "  "}, "message"),
        ({"speech": SpeechSettings(speed=11)}, "speed"),
        ({"speech": SpeechSettings(speed=-11)}, "speed"),
        ({"speech": SpeechSettings(volume=101)}, "vol"),
        ({"speech": SpeechSettings(volume=-1)}, "vol"),
        ({"speech": SpeechSettings(voice=5)}, "voice"),  # type: ignore[arg-type]
        ({"voice_url": "ftp://example.com/a.wav"}, "voice_url"),
        ({"response_url": "not a url"}, "response"),
    ],
)
async def test_local_validation(
    client: TwsmsVoiceClient,
    simulator: TwsmsSimulator,
    kwargs: dict[str, object],
    parameter: str,
) -> None:
    """Values out of range are refused before any request is made."""
    arguments: dict[str, object] = {"phone": "0912123456", "message": "test"} | kwargs
    with pytest.raises(TwsmsInvalidRequestError) as raised:
        await client.send_voice(**arguments)  # type: ignore[arg-type]
    assert (raised.value.parameter, raised.value.code) == (parameter, None)
    with pytest.raises(TwsmsInvalidRequestError):
        await client.query_voice(0)
    assert simulator.requests == []


async def test_on_request_is_told_only_when_the_request_goes_out(
    client: TwsmsVoiceClient,
    session: aiohttp.ClientSession,
    simulator: TwsmsSimulator,
) -> None:
    """The hook tells a cancelled caller whether its call may have been placed.

    Not told for a request refused here, nor while it waits for its turn.
    """
    told: list[str] = []
    with pytest.raises(TwsmsInvalidRequestError):
        await client.send_voice("12", "test", on_request=lambda: told.append("bad"))
    limited = TwsmsVoiceClient(
        session,
        USERNAME,
        PASSWORD,
        base_url=simulator.url,
        rate_limiter=RateLimiter(1),
    )
    await limited.send_voice("0912123456", "first", on_request=lambda: told.append("1"))
    waiting = asyncio.create_task(
        limited.send_voice("0912123456", "next", on_request=lambda: told.append("2"))
    )
    for _ in range(5):  # it starts, and waits: its turn comes a second after the first
        await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert told == ["1"]
    assert len(simulator.requests_to("send_voice")) == 1


def test_timeout_below_the_spec_minimum(session: aiohttp.ClientSession) -> None:
    """The spec asks for at least 60 s; shorter timeouts are refused."""
    with pytest.raises(ValueError, match="at least 60"):
        TwsmsVoiceClient(session, USERNAME, PASSWORD, timeout=30)


def test_https_by_default(session: aiohttp.ClientSession) -> None:
    """Without a base URL the client talks HTTPS to the real provider."""
    client = TwsmsVoiceClient(session, USERNAME, PASSWORD)
    assert "base_url='https://api.twsms.com'" in repr(client)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (FaultKind.HTTP_500, TwsmsConnectionError),
        (FaultKind.DROP, TwsmsConnectionError),
        (FaultKind.GARBAGE, TwsmsMalformedReplyError),
    ],
)
async def test_faults(
    client: TwsmsVoiceClient,
    simulator: TwsmsSimulator,
    fault: FaultKind,
    error: type[TwsmsError],
) -> None:
    """Server errors and dropped connections are retryable; garbage is malformed."""
    simulator.add_fault(fault, times=4)  # aiohttp retries a dropped GET once
    with pytest.raises(error):
        await client.send_voice("0912123456", "test")
    with pytest.raises(error):
        await client.query_voice(1)


async def test_http_error_status(
    session: aiohttp.ClientSession, simulator: TwsmsSimulator
) -> None:
    """A 404 (a wrong API URL) is an HTTP error, not a connection problem."""
    client = TwsmsVoiceClient(
        session, USERNAME, PASSWORD, base_url=f"{simulator.url}/nothing-here"
    )
    with pytest.raises(TwsmsHttpError, match="refused the request with HTTP 404"):
        await client.query_voice(1)


async def test_connection_refused(
    session: aiohttp.ClientSession, refused_url: str
) -> None:
    """A closed port is a connection error."""
    client = TwsmsVoiceClient(session, USERNAME, PASSWORD, base_url=refused_url)
    with pytest.raises(TwsmsConnectionError, match="Cannot reach"):
        await client.send_voice("0912123456", "test")


async def test_timeout(
    session: aiohttp.ClientSession,
    simulator: TwsmsSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reply slower than the timeout is a connection error."""
    monkeypatch.setattr(client_module, "MIN_TIMEOUT", 0.1)
    client = TwsmsVoiceClient(
        session, USERNAME, PASSWORD, base_url=simulator.url, timeout=0.2
    )
    simulator.add_fault(FaultKind.DELAY, seconds=2)
    with pytest.raises(TwsmsConnectionError, match="No reply"):
        await client.send_voice("0912123456", "test")
