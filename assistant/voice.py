"""Entry points of the voice pipeline: a recording (``process_audio``, ``process_file``), one
sentence spoken (``say``), and the microphone loop (``run_live``)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from devices.media.sinks import AudioSink, NullSink, WavSink

from .audio import IDLE_HOLD_S, ArraySource, MicSource, SpeakerSink, read_audio_file
from .engines import Engines, voice
from .pipeline import IsComplete, Pipeline, SpeakingUnderstand, Understand
from .voice_settings import VoiceSettings

_LOGGER = logging.getLogger(__name__)


def process_audio(
    samples: np.ndarray,
    understand: Understand | SpeakingUnderstand,
    settings: VoiceSettings | None = None,
    no_wake: bool = False,
    output_wav: str | None = None,
    engines: Engines | None = None,
    is_complete: IsComplete | None = None,
    stream_replies: bool = False,
    clock: Callable[[], float] = time.perf_counter,
    reply_heads: Iterable[str] = (),
) -> list[dict]:
    """Feed 16 kHz int16 audio through the pipeline faster than real time. With ``is_complete``
    (e.g. ``Assistant.is_complete``), a complete command ends the turn early (vad.early_endpoint_ms).
    ``stream_replies``: understand takes ``say=`` (see ``pipeline.Say``), e.g.
    ``lambda text, say: assistant.ask(text, on_sentence=say)``: the LLM's answer is spoken as it comes.
    ``clock`` times the processing (see ``Pipeline``); ``reply_heads`` (e.g. ``Assistant.reply_heads()``)
    are kept synthesised (see ``Pipeline``)."""
    settings = settings or VoiceSettings()
    engines = engines or Engines.load(settings)
    sink = WavSink(output_wav, engines.tts.sample_rate) if output_wav else NullSink()
    pipe = Pipeline(
        understand,
        settings,
        no_wake=no_wake,
        sink=sink,
        engines=engines,
        is_complete=is_complete,
        stream_replies=stream_replies,
        clock=clock,
        reply_heads=reply_heads,
    )
    results: list[dict] = []
    try:
        for block in ArraySource(samples, block=512):
            results.extend(pipe.feed(block))
        results.extend(pipe.flush())
    finally:
        pipe.close()
    return results


def process_file(
    path: str,
    understand: Understand | SpeakingUnderstand,
    settings: VoiceSettings | None = None,
    no_wake: bool = False,
    output_wav: str | None = None,
    engines: Engines | None = None,
    is_complete: IsComplete | None = None,
    stream_replies: bool = False,
    reply_heads: Iterable[str] = (),
) -> list[dict]:
    """Feed an audio file through the whole pipeline as if spoken into the microphone.

    Returns one dict per utterance acted on: understand()'s keys plus `transcript`, `timings_ms`
    (asr, nlu, tts_first_audio, tts_total, endpoint_delay, end_of_speech_to_action,
    end_of_speech_to_first_audio), `asr_speculative`, `early_endpoint`, `speech_end_s`, `wake_word`,
    `trace`.
    """
    return process_audio(
        read_audio_file(path),
        understand,
        settings,
        no_wake,
        output_wav,
        engines,
        is_complete,
        stream_replies,
        reply_heads=reply_heads,
    )


def say(text: str, settings: VoiceSettings | None = None, output_wav: str | None = None) -> float:
    """Speak `text` to `output_wav` (or the speaker if None). Returns seconds of audio."""
    settings = settings or VoiceSettings()
    sink: AudioSink
    if output_wav:
        tts = voice(settings)
        sink = WavSink(output_wav, tts.sample_rate)
    else:
        sink = SpeakerSink(settings.audio.output_device)  # before the voice loads: no sound card fails fast
        tts = voice(settings)
    seconds = 0.0
    try:
        for chunk in tts.stream(text):
            sink.play(chunk, tts.sample_rate)
            seconds += len(chunk) / tts.sample_rate
    finally:
        sink.close()
    return seconds


def run_live(
    understand: Understand | SpeakingUnderstand,
    settings: VoiceSettings | None = None,
    no_wake: bool = False,
    on_barge_in: Callable[[str], None] | None = None,
    on_result: Callable[[dict], None] | None = None,
    announcements: queue.Queue[str] | None = None,
    is_complete: IsComplete | None = None,
    on_event: Callable[[Any], None] | None = None,
    muted: threading.Event | None = None,
    stream_replies: bool = False,
    reply_heads: Iterable[str] = (),
) -> None:
    """Microphone + speaker loop until Ctrl-C. Wake word or "stop" interrupts speech (on_barge_in hook).
    Texts put on ``announcements`` (alarms ringing, HA announce) are chimed and spoken between blocks,
    also while ``muted`` (HA's Mute switch) makes it ignore the microphone. ``stream_replies``: as in
    ``process_audio``; ``reply_heads`` are synthesised at start-up (see ``Pipeline``)."""
    settings = settings or VoiceSettings()
    mic = MicSource(settings.audio.input_device, block=512)
    mic.start()  # fails early with a clear AudioDeviceError if there is no microphone
    sink = SpeakerSink(settings.audio.output_device)
    engines = Engines.load(settings)
    pipe = Pipeline(
        understand,
        settings,
        no_wake=no_wake,
        sink=sink,
        engines=engines,
        live=True,
        on_barge_in=on_barge_in,
        is_complete=is_complete,
        muted=muted,
        on_event=on_event,
        stream_replies=stream_replies,
        reply_heads=reply_heads,
    )
    if settings.wake.push_to_talk:
        threading.Thread(target=_push_to_talk, args=(pipe,), daemon=True).start()
    _LOGGER.info("Listening (%s)", "no wake word" if pipe.no_wake else ", ".join(pipe.wake.words))
    try:
        for block in mic:
            while announcements is not None and not announcements.empty():
                pipe.announce(announcements.get_nowait())
            for result in pipe.feed(block):
                _LOGGER.info(
                    "%r -> %s (%s)", result["transcript"], result.get("intent"), result["timings_ms"]
                )
                if on_result is not None:
                    on_result(result)
            mic.hold_s = IDLE_HOLD_S if pipe.awaiting_wake else 0.0  # bursts while only the wake word counts
    except KeyboardInterrupt:
        _LOGGER.info("Stopped")
    finally:
        mic.close()
        pipe.close()


def _push_to_talk(pipe: Pipeline) -> None:
    import sys

    for _line in sys.stdin:
        pipe.trigger()
