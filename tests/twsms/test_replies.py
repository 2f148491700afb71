"""Tests of the reply parsers on bodies the simulator never sends."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.twsms_voice.twsms import (
    CallPending,
    SendResult,
    TwsmsError,
    TwsmsMalformedReplyError,
)
from custom_components.twsms_voice.twsms.replies import (
    parse_query_reply,
    parse_send_reply,
)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "resp=",
        "resp=abc,2",
        "resp=0,2",
        "resp=+5,2",
        "resp=1_000,2",
        "8692325,2",
        "<html>resp=1,2</html>",
    ],
)
def test_malformed_send_replies(body: str) -> None:
    """Anything but `resp=<msgid>,<points>` or `resp=<code>` is malformed."""
    with pytest.raises(TwsmsMalformedReplyError):
        parse_send_reply(body)


@pytest.mark.parametrize(
    ("body", "points"),
    [
        ("resp=8692325", 0),
        ("resp=8692325,", 0),
        ("resp=8692325,-2", 0),
        ("resp=8692325,two", 0),
        ("resp=8692325,2,3", 2),
        ("resp=8692325,2,extra,fields", 2),
        (" resp=8692325 , 2 \r\n", 2),
        ("\ufeffresp=8692325,2", 2),  # a PHP file saved with a byte-order mark
        ("RESP=8692325,2", 2),
    ],
)
def test_any_positive_msgid_means_the_call_was_placed(body: str, points: int) -> None:
    """A reply that starts with a msgid is a placed call, whatever follows it.

    Reading it as malformed would retry it, and the retry would call again.
    """
    assert parse_send_reply(body) == SendResult(msgid=8692325, points=points)


def test_send_reply_tolerates_whitespace() -> None:
    """Trailing newlines, as PHP scripts often print, are not an error."""
    assert parse_send_reply("resp=8692325,2\r\n") == SendResult(msgid=8692325, points=2)


@pytest.mark.parametrize(
    "body",
    [
        "resp=",
        "resp=8692325,0912123456,12,2",
        "resp=8692325,0912123456,12,2,Answered",
        "resp=8692325,0912123456,-1,2,FarEnd",
        "resp=8692325,0912123456,12,x,FarEnd",
        "resp=8692325,,12,2,FarEnd",
        "resp=1111111,0912123456,12,2,FarEnd",
        "resp=8692325,0912123456,12,2,FarEnd,extra",
    ],
)
def test_malformed_query_replies(body: str) -> None:
    """Outcomes with missing, extra, negative or unknown fields are malformed."""
    with pytest.raises(TwsmsMalformedReplyError):
        parse_query_reply(body, 8692325)


def test_query_pending() -> None:
    """Code -5 means the call is still under way."""
    assert parse_query_reply("resp=-5", 7) == CallPending(msgid=7)


def test_malformed_reply_text_is_short_and_printable() -> None:
    """A huge or binary body is cut and escaped in the error message."""
    with pytest.raises(TwsmsMalformedReplyError) as raised:
        parse_send_reply("\x00\x1b[31m" + "x" * 10_000)
    assert len(str(raised.value)) < 200
    assert "\x1b" not in str(raised.value)


@given(st.text(max_size=200))
def test_any_send_reply_parses_or_raises_a_client_error(body: str) -> None:
    """No body crashes the send parser with anything but the client's errors."""
    try:
        result = parse_send_reply(body)
    except TwsmsError:
        return
    assert result.msgid > 0
    assert result.points >= 0


@given(msgid=st.integers(min_value=1, max_value=10**18 - 1), rest=st.text(max_size=80))
def test_a_positive_first_field_is_always_a_placed_call(msgid: int, rest: str) -> None:
    """Whatever follows a msgid, the reply says the call was placed."""
    sent = parse_send_reply(f"resp={msgid},{rest}")
    assert sent.msgid == msgid
    assert sent.points >= 0


@given(
    st.one_of(
        st.text(max_size=200),
        st.builds(
            lambda fields: "resp=" + ",".join(fields),
            st.lists(st.text(alphabet="-0123456789FarEndNoAnswerBusy", max_size=9)),
        ),
    )
)
def test_any_query_reply_parses_or_raises_a_client_error(body: str) -> None:
    """No body crashes the query parser with anything but the client's errors."""
    try:
        parse_query_reply(body, 8692325)
    except TwsmsError:
        return
