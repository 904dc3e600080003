"""The voice models (Whisper, Piper), loaded once per process and shared by every pipeline."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .asr import Transcriber
from .tts import Tts
from .voice_settings import VoiceSettings

_LOGGER = logging.getLogger(__name__)


@dataclass
class Engines:
    """Loaded models, shared between runs (loading + one warm-up decode/synthesis takes ~1.5-2 s)."""

    asr: Transcriber
    tts: Tts

    @staticmethod
    def load(settings: VoiceSettings, reply_heads: Iterable[str] = ()) -> Engines:
        """The engines for ``settings``, loaded once per process; ``reply_heads`` (the text core's,
        ``Assistant.reply_heads()``) are synthesised and kept (``Tts.keep``) in a background thread
        (≈2-3 s of one core for 30; an answer before they are ready is synthesised whole)."""
        key = (settings.asr.model_dump_json(), settings.tts.model_dump_json(), str(settings.models_dir))
        with _ENGINE_LOCK:  # the first /api/audio, satellite and microphone may all ask at once: load once
            if key not in _ENGINE_CACHE:
                _ENGINE_CACHE.clear()  # keep one set in memory
                one_blas_thread()
                engines = Engines(Transcriber(settings.asr, settings.models_dir), Tts(settings.tts))
                # one throw-away decode and synthesis, so the first command is not slower than the rest
                asr_ms, tts_ms = engines.asr.warm_up(), engines.tts.warm_up()
                _LOGGER.debug("Warm-up: ASR %.0f ms, TTS %.0f ms", asr_ms, tts_ms)
                _ENGINE_CACHE[key] = engines
            engines = _ENGINE_CACHE[key]
            if settings.tts.reply_heads and reply_heads:
                # not a daemon: one stopped inside Piper's onnxruntime at exit aborts the process; this
                # one stops after the phrase it is on once the main thread has ended
                keep = engines.tts.keep
                heads, going = list(reply_heads), threading.main_thread().is_alive
                threading.Thread(target=keep, args=(heads, going), name="reply-heads").start()
            return engines


def one_blas_thread() -> None:
    """Run numpy's BLAS (OpenBLAS) on one thread in this process. Whisper's log-mel spectrogram is a
    small matrix product before every encoder pass; on several threads, OpenBLAS's workers spin on
    after it and take the cores CTranslate2's encoder needs next (the log-mel cost ≈15-20 ms of CPU
    instead of ≈2.5 ms here). The process's other numpy work (the learned tier) is as small."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


_ENGINE_CACHE: dict[tuple[str, str, str], Engines] = {}
_ENGINE_LOCK = threading.Lock()


def voice(settings: VoiceSettings) -> Tts:
    """The loaded engines' voice if any are cached, else just the voice (``say`` needs nothing else)."""
    return Engines.load(settings).tts if _ENGINE_CACHE else Tts(settings.tts)
