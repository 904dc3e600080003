"""What the voice pipeline reports as it works (``on_event``, and each result's ``trace``): typed
events, each with its time on the audio clock (seconds of audio since the start)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class WakeDetected:
    t: float
    word: str
    probability: float


@dataclass
class SpeechStarted:
    t: float


@dataclass
class SpeechEnded:
    t: float  # when the endpoint was decided
    speech_end: float  # last speech in the audio
    audio_s: float
    early: bool = False  # ended after vad.early_endpoint_ms: the transcript in the pause was complete


@dataclass
class Transcript:
    t: float
    text: str
    asr_ms: float
    speculative: bool
    dropped: str = ""  # why it was dropped ("hallucination", "no_speech"), "" if kept


@dataclass
class IntentResult:
    t: float
    intent: str | None
    nlu_ms: float


@dataclass
class ActionDone:
    t: float


@dataclass
class AudioOut:
    t: float  # first sample ready
    kind: str  # "speech" | "awake" | "done" | "error"
    seconds: float
    text: str = ""


def event_dict(ev: Any) -> dict:
    """The event as a dict for a trace, with its type under ``event``."""
    d = asdict(ev)
    d["event"] = type(ev).__name__
    return d
