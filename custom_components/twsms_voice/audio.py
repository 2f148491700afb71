"""Any voice Home Assistant can speak, as the one audio format TwSMS plays.

TwSMS plays a recording (a type 2 call) only as WAV, 8000 Hz, 8-bit, mono, fetched
from a URL it can reach. A message is rendered by a text-to-speech engine of Home
Assistant (or a recording is taken from Home Assistant's media), converted to that
format here, and served by Home Assistant itself at an unguessable URL under its
external URL. The file is kept while a call (or an escalation) that plays it is
under way, however long, and removed a few minutes after the last one ended. It
lives in memory only, so a call still queued across a restart finds it gone and is
read by TwSMS's own voice instead.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
import io
import secrets
import time
from typing import Any, Final
import wave

from aiohttp import web
from yarl import URL

from homeassistant.components import media_source, tts
from homeassistant.components.http import HomeAssistantView
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.util.hass_dict import HassKey

from .const import (
    CONF_TTS,
    CONF_TTS_LANGUAGE,
    CONF_TTS_VOICE,
    CONF_VOICE_URL,
    DOMAIN,
    LOGGER,
)

# A voice an action names itself; its failure fails the action. (A language or a
# voice alone tunes the account's engine, which falls back to TwSMS's voice.)
ACTION_AUDIO: Final = (CONF_TTS, CONF_VOICE_URL)
PHONE_RATE: Final = 8000
LONGEST_AUDIO: Final = 600  # seconds: ten minutes of speech is no alarm call
AUDIO_PATH: Final = f"/api/{DOMAIN}/audio"
IDLE_KEPT: Final = 300.0  # seconds a file no call holds is kept
# A Home Assistant engine is asked for WAV only (Home Assistant turns an MP3 voice
# into WAV with ffmpeg). Rate, width and channels are converted here: asking for
# them makes Home Assistant run ffmpeg even for a WAV voice, and ffmpeg as Home
# Assistant runs it cannot write 8-bit samples anyway.
TTS_OPTIONS: Final = {tts.ATTR_PREFERRED_FORMAT: "wav"}
DATA_AUDIO: HassKey[AudioFiles] = HassKey(f"{DOMAIN}_audio")


def to_phone_wav(data: bytes) -> bytes:
    """Convert PCM WAV audio of any rate, width and channels to 8000 Hz, u8, mono.

    Raises ValueError for anything that is not PCM WAV.
    """
    out = bytearray()
    try:
        with wave.open(io.BytesIO(data)) as source:
            rate = source.getframerate()
            width = source.getsampwidth()
            channels = source.getnchannels()
            if source.getnframes() > LONGEST_AUDIO * rate:
                msg = f"longer than {LONGEST_AUDIO} s"
                raise ValueError(msg)
            # A second at a time: memory stays small whatever the file's length.
            while frames := source.readframes(rate):
                mono = _mono(_samples(frames, width), channels)
                out += bytes(
                    min(255, max(0, (sample >> 8) + 128))
                    for sample in _resampled(mono, rate)
                )
    except (wave.Error, EOFError) as err:
        msg = f"not a PCM WAVE file ({err})"
        raise ValueError(msg) from err
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as target:
        target.setframerate(PHONE_RATE)
        target.setsampwidth(1)
        target.setnchannels(1)
        target.writeframes(bytes(out))
    return buffer.getvalue()


def _samples(frames: bytes, width: int) -> list[int]:
    """Return the samples as 16-bit signed values."""
    if width == 1:  # unsigned
        return [(byte - 128) << 8 for byte in frames]
    if width == 2:
        return array("h", frames).tolist()
    if width in (3, 4):
        return [
            int.from_bytes(frames[at : at + width], "little", signed=True)
            >> (8 * (width - 2))
            for at in range(0, len(frames) - width + 1, width)
        ]
    msg = f"{8 * width}-bit samples"
    raise ValueError(msg)


def _mono(samples: list[int], channels: int) -> list[int]:
    if channels == 1:
        return samples
    return [
        sum(samples[at : at + channels]) // channels
        for at in range(0, len(samples) - channels + 1, channels)
    ]


def _resampled(samples: list[int], rate: int) -> list[int]:
    """Resample to the phone rate: averaged down (a simple low-pass), interpolated up."""
    if rate == PHONE_RATE or not samples:
        return samples
    count = len(samples) * PHONE_RATE // rate
    step = rate / PHONE_RATE
    if step > 1:
        out = []
        for index in range(count):
            start = int(index * step)
            window = samples[start : max(int((index + 1) * step), start + 1)]
            out.append(sum(window) // len(window))
        return out
    last = len(samples) - 1
    out = []
    for index in range(count):
        position = index * step
        left = int(position)
        right = min(left + 1, last)
        fraction = position - left
        out.append(round(samples[left] * (1 - fraction) + samples[right] * fraction))
    return out


@dataclass
class _File:
    wav: bytes
    source: str  # what it says: the same source is the same call for the cooldown
    idle_since: float = field(default_factory=time.monotonic)
    holds: int = 0


class AudioFiles:
    """The converted files Home Assistant serves to TwSMS, by unguessable token."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Serve files for every account of this Home Assistant."""
        self._hass = hass
        self._files: dict[str, _File] = {}

    @callback
    def add(self, wav: bytes, source: str) -> str:
        """Serve ``wav`` and return its URL; raise when TwSMS could reach none."""
        base = _external_url(self._hass)
        self._sweep()
        token = secrets.token_urlsafe(32)
        self._files[token] = _File(wav, source)
        return f"{base}{AUDIO_PATH}/{token}.wav"

    def source(self, url: str | None) -> str | None:
        """Return what a file served here says (its engine and text, or its media)."""
        token = self._token(url)
        return self._files[token].source if token is not None else None

    @callback
    def hold(self, url: str | None) -> None:
        """Keep the file while a call that plays it is under way."""
        if (token := self._token(url)) is not None:
            self._files[token].holds += 1

    @callback
    def release(self, url: str | None) -> None:
        """Let go of the file for a call that ended.

        A file nobody holds is kept a few minutes more (the next call of an
        escalation may still come, and TwSMS may fetch late), then forgotten.
        """
        if (token := self._token(url)) is not None:
            audio = self._files[token]
            audio.holds -= 1
            audio.idle_since = time.monotonic()
        self._sweep()

    def get(self, token: str) -> bytes | None:
        """Return a file still served, if the token names one."""
        self._sweep()
        audio = self._files.get(token)
        return audio.wav if audio else None

    def no_longer_served(self, url: str | None) -> bool:
        """Tell whether ``url`` named a file served here that is served no more.

        The files live in memory: a call queued before a restart has lost its file.
        """
        token = _audio_token(url)
        return token is not None and token not in self._files

    def _token(self, url: str | None) -> str | None:
        """Return the token of a URL of a file served here, if it is still served."""
        token = _audio_token(url)
        return token if token in self._files else None

    def _sweep(self) -> None:
        """Forget the files no call has held for a few minutes.

        A file is held as long as a call or an escalation may play it (five retries
        an hour apart, say), not for a fixed time; every hold ends with its call.
        (The calls of a disabled account hold theirs until it is enabled again or
        deleted, or Home Assistant restarts.)
        """
        now = time.monotonic()
        self._files = {
            token: audio
            for token, audio in self._files.items()
            if audio.holds > 0 or now - audio.idle_since < IDLE_KEPT
        }


class AudioView(HomeAssistantView):
    """Serve the files to TwSMS: no login, the token is the secret."""

    url = f"{AUDIO_PATH}/{{token}}.wav"
    name = f"api:{DOMAIN}:audio"
    requires_auth = False

    def __init__(self, files: AudioFiles) -> None:
        """Serve ``files``."""
        self._files = files

    async def get(self, request: web.Request, token: str) -> web.Response:
        """Return the file, or 404 for an unknown or expired token."""
        if (wav := self._files.get(token)) is None:
            return web.Response(status=404)
        return web.Response(body=wav, content_type="audio/wav")


def _audio_token(url: str | None) -> str | None:
    """Return the token if ``url`` points at the audio view (served or not)."""
    if not url:
        return None
    try:
        path = URL(url).path
    except ValueError:
        return None
    if not path.startswith(f"{AUDIO_PATH}/"):
        return None
    return path.removeprefix(f"{AUDIO_PATH}/").removesuffix(".wav")


@callback
def audio_files(hass: HomeAssistant) -> AudioFiles:
    """Return the file store of every account, making it the first time.

    Deleting an entry that was disabled at start needs it before (or without) the
    integration's own setup.
    """
    if (files := hass.data.get(DATA_AUDIO)) is None:
        files = hass.data[DATA_AUDIO] = AudioFiles(hass)
    return files


@callback
def async_setup_audio(hass: HomeAssistant) -> None:
    """Serve the files (once for every account)."""
    hass.http.register_view(AudioView(audio_files(hass)))


def _external_url(hass: HomeAssistant) -> str:
    try:
        return get_url(hass, allow_internal=False)
    except NoURLAvailableError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="audio_needs_external_url"
        ) from err


async def async_voice_url(
    hass: HomeAssistant,
    message: str,
    *,
    tts_entity: str | None,
    tts_options: dict[str, Any],
    voice_url: str | None,
) -> str | None:
    """Return the ``voice_url`` of a call: as given, or a file made and served here.

    A ``media-source://`` recording is read and converted; with ``tts_entity`` (and
    no recording) the message is rendered by that engine. Raises before any call
    when Home Assistant has no URL TwSMS could fetch from, or the audio cannot be
    made.
    """
    if voice_url is not None and not voice_url.startswith(media_source.URI_SCHEME):
        return voice_url
    if voice_url is None and tts_entity is None:
        return None
    _external_url(hass)  # before any work: say at once what is missing
    try:
        if voice_url is not None:
            data = await _async_media(hass, voice_url)
        else:
            assert tts_entity is not None
            data = await _async_speak(hass, tts_entity, tts_options, message)
        wav = await hass.async_add_executor_job(to_phone_wav, data)
    except Exception as err:  # noqa: BLE001 - engines, media and files fail many ways
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="audio_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    source = voice_url or f"tts {tts_entity} {sorted(tts_options.items())}\n{message}"
    return audio_files(hass).add(wav, source)


async def _async_speak(
    hass: HomeAssistant, engine: str, options: dict[str, Any], message: str
) -> bytes:
    language = options.get(tts.ATTR_LANGUAGE)
    stream = tts.async_create_stream(
        hass,
        engine,
        language,
        {key: value for key, value in options.items() if key != tts.ATTR_LANGUAGE}
        | TTS_OPTIONS,
    )
    stream.async_set_message(message)
    return b"".join([chunk async for chunk in stream.async_stream_result()])


async def _async_media(hass: HomeAssistant, media_id: str) -> bytes:
    """Return the bytes of a recording in Home Assistant's media (or its TTS cache)."""
    if media_source.is_media_source_id(media_id) and media_id.startswith(
        f"{media_source.URI_SCHEME}tts/"
    ):
        _, data = await tts.async_get_media_source_audio(hass, media_id)
        return data
    played = await media_source.async_resolve_media(hass, media_id, None)
    if played.path is None:
        msg = "only Home Assistant's own media can be played (a local file)"
        raise ValueError(msg)
    path = played.path
    return await hass.async_add_executor_job(path.read_bytes)


async def async_call_audio(
    hass: HomeAssistant,
    options: Mapping[str, Any],
    message: str,
    settings: Mapping[str, Any],
) -> str | None:
    """Return the ``voice_url`` for an action's calls, from its settings and options.

    The action's ``voice_url`` or ``tts`` engine, else the account's ``tts`` option;
    when that option's voice fails, TwSMS's own voice reads instead.
    """
    tts_options = {
        key: value
        for key, value in (
            (tts.ATTR_LANGUAGE, settings.get(CONF_TTS_LANGUAGE)),
            (tts.ATTR_VOICE, settings.get(CONF_TTS_VOICE)),
        )
        if value is not None
    }
    try:
        return await async_voice_url(
            hass,
            message,
            tts_entity=settings.get(CONF_TTS) or options.get(CONF_TTS) or None,
            tts_options=tts_options,
            voice_url=settings.get(CONF_VOICE_URL),
        )
    except HomeAssistantError as err:
        if any(settings.get(key) for key in ACTION_AUDIO):
            raise  # asked for by this action: say so
        # The account's default voice failed: an alarm in TwSMS's own voice beats
        # no alarm.
        LOGGER.warning("The account's voice failed (%s); TwSMS's own voice reads", err)
        return None
