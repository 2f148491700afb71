"""The password must not leak through any failure path of the client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import logging
import traceback
from typing import cast
from urllib.parse import quote

import aiohttp
from hypothesis import given, strategies as st
import pytest
from yarl import URL

from custom_components.twsms_voice.twsms import (
    TwsmsError,
    TwsmsVoiceClient,
    client as client_module,
)
from custom_components.twsms_voice.twsms.replies import parse_send_reply
from twsms_simulator import Account, FaultKind, TwsmsSimulator

# Characters that URL encoding spells in several ways, plus Chinese text.
SECRET = "s3cr3t/+&=密碼 ~*"
USER = "leaky"
# A call's response URL is a secret too: whoever knows it can post reports.
WEBHOOK_ID = "4f1c0a9b7e2d4c1f8a6b3e5d7c9f1a2b"
WEBHOOK_URL = f"https://home.example/api/webhook/{WEBHOOK_ID}"

type Breaker = Callable[[TwsmsSimulator, pytest.MonkeyPatch], str | None]


def _fault(kind: FaultKind) -> Breaker:
    def apply(simulator: TwsmsSimulator, _: pytest.MonkeyPatch) -> str | None:
        simulator.add_fault(kind, times=4, seconds=2)
        return None

    return apply


def _timeout(simulator: TwsmsSimulator, monkeypatch: pytest.MonkeyPatch) -> str | None:
    monkeypatch.setattr(client_module, "MIN_TIMEOUT", 0.1)
    simulator.add_fault(FaultKind.DELAY, times=2, seconds=2)
    return None


def _refused(simulator: TwsmsSimulator, _: pytest.MonkeyPatch) -> str | None:
    return f"{simulator.url.rsplit(':', 1)[0]}:1"  # port 1: nothing listens there


def _wrong_password(simulator: TwsmsSimulator, _: pytest.MonkeyPatch) -> str | None:
    simulator.accounts[USER].password = "something else"
    return None


def _not_found(simulator: TwsmsSimulator, _: pytest.MonkeyPatch) -> str | None:
    return f"{simulator.url}/missing"


@pytest.mark.parametrize(
    "breaker",
    [
        _fault(FaultKind.HTTP_500),
        _fault(FaultKind.DROP),
        _fault(FaultKind.GARBAGE),
        _timeout,
        _refused,
        _wrong_password,
        _not_found,
    ],
    ids=["http_500", "drop", "garbage", "timeout", "refused", "auth", "404"],
)
async def test_no_password_in_errors_logs_or_repr(
    simulator: TwsmsSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    breaker: Breaker,
) -> None:
    """Errors, tracebacks, reprs and logs never hold the password or webhook id.

    Nor the full number dialled: logs show it masked.
    """
    caplog.set_level(logging.DEBUG)
    simulator.accounts[USER] = Account(password=SECRET)
    base_url = breaker(simulator, monkeypatch) or simulator.url
    timeout = max(client_module.MIN_TIMEOUT, 0.2)
    client = TwsmsVoiceClient(session, USER, SECRET, base_url=base_url, timeout=timeout)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: client.send_voice("0912123456", "測試", response_url=WEBHOOK_URL),
        lambda: client.query_voice(8692325),
    ]
    texts = [repr(client)]
    for call in calls:
        with pytest.raises(TwsmsError) as raised:
            await call()
        texts += [
            str(raised.value),
            repr(raised.value),
            "".join(traceback.format_exception(raised.value)),
        ]
    texts += [record.getMessage() for record in caplog.records]
    texts.append(caplog.text)
    assert any("Sending a call to 09*****456" in text for text in texts)  # logs seen
    forms = {SECRET, "s3cr3t", "%E5%AF%86%E7%A2%BC", WEBHOOK_ID, "0912123456"}
    for text in texts:
        for form in forms:
            assert form not in text, text


@pytest.mark.parametrize("password", ["2", "resp", "86"])
async def test_short_password_does_not_garble_replies(
    simulator: TwsmsSimulator, session: aiohttp.ClientSession, password: str
) -> None:
    """Redaction is for messages only: a password inside a reply leaves it intact."""
    simulator.accounts[USER] = Account(password=password)
    client = TwsmsVoiceClient(session, USER, password, base_url=simulator.url)
    sent = await client.send_voice("0912123456", "測試")
    assert (sent.msgid, sent.points) == (8692325, 2)
    outcome = await client.query_voice(sent.msgid)
    assert outcome.msgid == 8692325


@given(
    password=st.text(min_size=4, max_size=24).filter(lambda text: text.strip()),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    spelling=st.sampled_from(["plain", "url", "form"]),
)
def test_malformed_replies_never_show_the_password(
    password: str, before: str, after: str, spelling: str
) -> None:
    """Whatever a reply echoes around the password, the error shows none of it."""
    client = TwsmsVoiceClient(cast("aiohttp.ClientSession", None), USER, password)
    echoed = {
        "plain": password,
        "url": quote(password, safe=""),
        "form": URL.build(query={"p": password}).raw_query_string[2:],
    }[spelling]
    body = f"{before}{echoed}{after}"
    shown = ""
    try:
        client._parse(parse_send_reply, body, client._secrets)  # noqa: SLF001
    except TwsmsError as err:
        shown = str(err)
    assert echoed not in shown
