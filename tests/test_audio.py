"""Tests of calls in any voice Home Assistant can speak, and of recordings from media.

End to end: a Home Assistant TTS engine renders the message, the integration converts
it and serves it, the simulator fetches it as TwSMS would and checks its format.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import io
from pathlib import Path
import time
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch
import wave

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_capture_events,
    mock_config_flow,
    mock_integration,
    mock_platform,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.twsms_voice import audio
from custom_components.twsms_voice.audio import to_phone_wav
from custom_components.twsms_voice.const import (
    CONF_STATUS_CALLBACK,
    CONF_TTS,
    DOMAIN,
    EVENT_CALL_FINISHED,
)
from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType
from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.setup import async_setup_component
from twsms_simulator import PhoneBehaviour, TwsmsSimulator, VoiceFormat

from .conftest import start_again, stop_home_assistant

PHONE = VoiceFormat(8000, 1, 1)


def make_wav(rate: int, width: int, channels: int, seconds: float = 0.5) -> bytes:
    """Return a rising tone in the given format."""
    frames = int(rate * seconds)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setframerate(rate)
        audio.setsampwidth(width)
        audio.setnchannels(channels)
        peak = 2 ** (8 * width - 1) - 1
        samples = b"".join(
            int((index % 100) / 100 * peak - peak // 2).to_bytes(
                width, "little", signed=width > 1
            )
            if width > 1
            else bytes([128 + (index % 100) - 50])
            for index in range(frames)
            for _ in range(channels)
        )
        audio.writeframes(samples)
    return buffer.getvalue()


def shape(wav: bytes) -> tuple[int, int, int, int]:
    """Return a WAV file's rate, sample width, channels and frame count."""
    with wave.open(io.BytesIO(wav)) as audio:
        return (
            audio.getframerate(),
            audio.getsampwidth(),
            audio.getnchannels(),
            audio.getnframes(),
        )


@pytest.mark.parametrize(
    ("rate", "width", "channels"),
    [(16000, 2, 2), (22050, 2, 1), (44100, 3, 2), (48000, 4, 1), (4000, 1, 1)],
)
def test_any_pcm_wav_becomes_phone_audio(rate: int, width: int, channels: int) -> None:
    """Whatever the rate, width and channels: 8000 Hz, 8-bit, mono, same length."""
    converted = to_phone_wav(make_wav(rate, width, channels, seconds=0.5))
    assert shape(converted) == (8000, 1, 1, 4000)


def test_phone_audio_stays_as_it_is() -> None:
    """Audio in the phone format already keeps its samples."""
    original = make_wav(8000, 1, 1)
    with wave.open(io.BytesIO(original)) as audio:
        frames = audio.readframes(audio.getnframes())
    with wave.open(io.BytesIO(to_phone_wav(original))) as audio:
        assert audio.readframes(audio.getnframes()) == frames


@pytest.mark.parametrize("data", [b"ID3 an mp3", b"", b"RIFF\x00\x00\x00\x00WAVE"])
def test_what_is_not_pcm_wav_is_refused(data: bytes) -> None:
    """MP3 or broken files are refused with a reason."""
    with pytest.raises(ValueError, match="not a PCM WAVE file"):
        to_phone_wav(data)


class SpeakingEntity(TextToSpeechEntity):
    """A TTS engine that speaks WAV at 16 kHz, 16-bit, as many real ones do."""

    _attr_name = "Test voice"
    _attr_unique_id = "test_voice"
    _attr_supported_languages = ["en", "zh-TW"]
    _attr_default_language = "en"
    _attr_supported_options = [
        "voice",
        "preferred_format",
        "preferred_sample_rate",
        "preferred_sample_channels",
        "preferred_sample_bytes",
    ]

    def __init__(self) -> None:
        """Remember what was asked."""
        self.asked: list[tuple[str, str, dict[str, Any]]] = []
        self.broken = False

    def get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """Speak ``message``."""
        self.asked.append((message, language, options))
        if self.broken:
            return None, None
        return "wav", make_wav(16000, 2, 1, seconds=1)


class _TestTtsFlow(ConfigFlow, domain="test_tts"):
    """The config flow a config entry of the test engine needs to exist."""


@pytest.fixture
async def engine(hass: HomeAssistant, tmp_path: Path) -> AsyncGenerator[SpeakingEntity]:
    """Set up Home Assistant's TTS with a test engine, tts.test_voice."""
    speaker = SpeakingEntity()

    async def setup_platform(
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        async_add_entities: AddEntitiesCallback,
    ) -> None:
        async_add_entities([speaker])

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry[Any]) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, ["tts"])
        return True

    mock_integration(hass, MockModule("test_tts", async_setup_entry=setup_entry))
    mock_platform(hass, "test_tts.config_flow")
    mock_platform(hass, "test_tts.tts", MockPlatform(async_setup_entry=setup_platform))
    with patch("homeassistant.components.tts.DEFAULT_CACHE_DIR", str(tmp_path)):
        assert await async_setup_component(hass, "tts", {})
    entry = MockConfigEntry(domain="test_tts")
    entry.add_to_hass(hass)
    with mock_config_flow("test_tts", _TestTtsFlow):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert hass.states.get("tts.test_voice") is not None
        yield speaker


@pytest.fixture
async def reachable(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    tmp_path: Path,
) -> str:
    """Make Home Assistant reachable from the simulator (its external URL).

    Its media and TTS are set up first: the web server takes no views once started.
    """
    hass.config.media_dirs = {"local": str(tmp_path)}
    assert await async_setup_component(hass, "media_source", {})
    client = await hass_client_no_auth()
    url = str(client.make_url("")).rstrip("/")
    await async_process_ha_core_config(hass, {"external_url": url})
    # Outcomes by polling only: status reports would settle calls at once.
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_STATUS_CALLBACK: False}
    )
    return url


async def call(hass: HomeAssistant, **data: Any) -> Any:
    """Run twsms_voice.call and return its response."""
    return await hass.services.async_call(
        DOMAIN,
        "call",
        {"target": "Mom", "message": "Smoke in the kitchen"} | data,
        blocking=True,
        return_response=True,
    )


@pytest.mark.usefixtures("reachable")
async def test_a_call_in_a_home_assistant_voice(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The engine speaks, TwSMS fetches a phone-format WAV; gone after the call."""
    response = await call(
        hass, tts="tts.test_voice", tts_language="zh-TW", tts_voice="Aoede"
    )
    assert response["calls"][0]["status"] == "placed", response
    ((message, language, options),) = engine.asked
    assert (message, language, options["voice"]) == (
        "Smoke in the kitchen",
        "zh-TW",
        "Aoede",
    )
    (placed,) = simulator.calls.values()
    assert placed.params["type"] == "2"
    assert placed.voice_format == PHONE
    url = placed.params["voice_url"]
    assert "/api/twsms_voice/audio/" in url
    assert len(url.rsplit("/", 1)[-1]) > 40  # an unguessable token

    client = await hass_client_no_auth()
    path = url.split("/api/", 1)[1]
    assert (await client.get(f"/api/{path}")).status == 200
    hours_later = SimpleNamespace(monotonic=lambda: time.monotonic() + 2 * 3600)
    with patch.object(audio, "time", hours_later):  # a long escalation, say
        assert (await client.get(f"/api/{path}")).status == 200  # its call holds it
    loaded_entry.runtime_data.tracker.async_report(
        placed_outcome(placed.msgid, placed.phone)
    )
    assert (await client.get(f"/api/{path}")).status == 200  # for a late fetch
    with patch.object(audio, "IDLE_KEPT", 0):  # ... a few minutes later
        assert (await client.get(f"/api/{path}")).status == 404
    assert (await client.get("/api/twsms_voice/audio/guessed.wav")).status == 404


def placed_outcome(msgid: int, phone: str) -> Any:
    """Return the outcome TwSMS would report for an answered call."""
    from custom_components.twsms_voice.twsms import CallOutcome, CallStatus  # noqa: PLC0415

    return CallOutcome(
        msgid=msgid, phone=phone, seconds=12, points=2, status=CallStatus.ANSWERED
    )


@pytest.mark.usefixtures("reachable")
async def test_the_account_option_speaks_every_message(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """With the option set, notify.twsms_voice uses the engine too."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_TTS: "tts.test_voice"}
    )
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Leak", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()
    (placed,) = simulator.calls.values()
    assert placed.voice_format == PHONE
    assert [message for message, _, _ in engine.asked] == ["Leak"]


@pytest.mark.usefixtures("reachable")
async def test_a_recording_from_home_assistant_media(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    tmp_path: Path,
) -> None:
    """A media-source:// recording (CD quality) is converted and served."""
    (tmp_path / "alarm.wav").write_bytes(make_wav(44100, 2, 2))
    response = await call(hass, voice_url="media-source://media_source/local/alarm.wav")
    assert response["calls"][0]["status"] == "placed"
    (placed,) = simulator.calls.values()
    assert placed.voice_format == PHONE


@pytest.mark.usefixtures("reachable")
async def test_a_recording_that_is_not_wav(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    tmp_path: Path,
) -> None:
    """A media file that is no WAV is refused before any request."""
    (tmp_path / "alarm.mp3").write_bytes(b"ID3 an mp3")
    with pytest.raises(HomeAssistantError, match="not a PCM WAVE file") as raised:
        await call(hass, voice_url="media-source://media_source/local/alarm.mp3")
    assert raised.value.translation_key == "audio_failed"
    assert simulator.requests_to("send_voice") == []


@pytest.mark.usefixtures("reachable")
async def test_an_engine_that_fails(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """An engine the action names that produces nothing fails the action, saying why.

    (No fallback to TwSMS's voice: the action chose this engine.)
    """
    engine.broken = True
    with pytest.raises(HomeAssistantError) as raised:
        await call(hass, tts="tts.test_voice")
    assert raised.value.translation_key == "audio_failed"
    assert simulator.requests_to("send_voice") == []


async def test_without_an_external_url_nothing_is_sent(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """TwSMS could not fetch the audio: the action says so before any request."""
    events = async_capture_events(hass, EVENT_CALL_FINISHED)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, tts="tts.test_voice")
    assert raised.value.translation_key == "audio_needs_external_url"
    assert "external URL" in str(raised.value)
    assert engine.asked == []
    assert simulator.requests_to("send_voice") == []
    assert events == []


@pytest.mark.usefixtures("reachable")
async def test_home_assistant_voice_through_an_escalation(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The second person of a sequential call hears the same audio, still there."""
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_STATUS_CALLBACK: True}
    )
    simulator.outcome_delay = 0.2  # reported to the webhook, on the real clock
    simulator.phones["0912000001"] = PhoneBehaviour(status="NoAnswer")
    response = await call(
        hass,
        target=["Mom", "Neighbour"],
        message="Fire!",
        mode="sequential",
        tts="tts.test_voice",
    )
    assert [call["status"] for call in response["calls"]] == ["no_answer", "answered"]
    assert [call.voice_format for call in simulator.calls.values()] == [PHONE, PHONE]
    assert len(engine.asked) == 1  # rendered once for the whole action


@pytest.mark.usefixtures("reachable")
async def test_the_cooldown_knows_home_assistant_voices(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """The same words in the same voice to the same number are placed once."""
    for _ in range(3):
        await hass.services.async_call(
            "notify",
            DOMAIN,
            {"message": "Fire!", "target": "Mom", "data": {"tts": "tts.test_voice"}},
            blocking=True,
        )
        await hass.async_block_till_done()
    assert len(simulator.calls) == 1
    assert loaded_entry.runtime_data.placer.suppressed_calls == 2


@pytest.mark.usefixtures("reachable")
async def test_the_same_voice_alarm_after_a_restart_joins_its_stored_call(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
) -> None:
    """A voice call waits across a restart (its file is gone); the alarm fires again.

    The stored call is read by TwSMS's voice now, but it says the same: one ring.
    """
    alarm = {"message": "Fire!", "target": "Mom", "data": {"tts": "tts.test_voice"}}
    simulator.down = 503
    await hass.services.async_call("notify", DOMAIN, alarm, blocking=True)
    await hass.async_block_till_done()
    await stop_home_assistant(loaded_entry)
    audio.audio_files(hass)._files.clear()  # noqa: SLF001 - memory lost in a restart
    await start_again(hass, loaded_entry)
    await hass.services.async_call("notify", DOMAIN, alarm, blocking=True)
    assert len(loaded_entry.runtime_data.queue.queued_calls) == 1
    simulator.down = None
    async with asyncio.timeout(10):  # the next try, on the real clock
        while not simulator.calls:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert len(simulator.calls) == 1


def test_audio_too_long_for_a_call_is_refused() -> None:
    """Over ten minutes is refused before any sample is read."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setframerate(8000)
        audio.setsampwidth(1)
        audio.setnchannels(1)
        audio.writeframes(b"\x80" * 8000 * 601)
    with pytest.raises(ValueError, match="longer than 600 s"):
        to_phone_wav(buffer.getvalue())


@pytest.mark.parametrize("trouble", ["engine broken", "no external URL"])
async def test_the_account_voice_failing_falls_back_to_twsms(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    trouble: str,
) -> None:
    """An alarm in TwSMS's own voice beats no alarm: the account's voice failed."""
    if trouble == "engine broken":
        engine.broken = True
        hass.config.external_url = "https://ha.example.com"
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_TTS: "tts.test_voice"}
    )
    await hass.services.async_call(
        "notify", DOMAIN, {"message": "Leak", "target": "Mom"}, blocking=True
    )
    await hass.async_block_till_done()
    (placed,) = simulator.calls.values()
    assert placed.params["type"] == "1"
    assert bool(engine.asked) == (trouble == "engine broken")


@pytest.mark.parametrize("tuning", [{"tts_voice": "alto"}, {"tts_language": "en"}])
@pytest.mark.usefixtures("reachable")
async def test_tuning_the_account_engine_keeps_its_fallback(
    hass: HomeAssistant,
    engine: SpeakingEntity,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    tuning: dict[str, str],
) -> None:
    """A language or a voice for the account's engine: still TwSMS's voice if it fails.

    The action did not choose the engine; an alarm in another voice beats none.
    """
    engine.broken = True
    hass.config_entries.async_update_entry(
        loaded_entry, options={**loaded_entry.options, CONF_TTS: "tts.test_voice"}
    )
    await call(hass, **tuning)
    (placed,) = simulator.calls.values()
    assert placed.params["type"] == "1"
    assert engine.asked


@pytest.mark.usefixtures("reachable")
async def test_a_recording_that_is_gone(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: TwsmsSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A deleted media file is a clear error, not a traceback."""
    with pytest.raises(HomeAssistantError) as raised:
        await call(hass, voice_url="media-source://media_source/local/gone.wav")
    assert raised.value.translation_key == "audio_failed"
    assert "Traceback" not in caplog.text
    assert simulator.requests_to("send_voice") == []
