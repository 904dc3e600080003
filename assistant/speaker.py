"""The live speaker: a thread that synthesises a reply sentence by sentence and plays it, so the
pipeline keeps listening (and a wake word or "stop" can interrupt it)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from devices.media.sinks import AudioSink

from .tts import Tts

_LOGGER = logging.getLogger(__name__)


class Speaker:
    """Live output thread: synthesises sentence by sentence and plays; stop() interrupts."""

    def __init__(self, tts: Tts, sink: AudioSink):
        self.tts, self.sink = tts, sink
        self._q: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        return self._busy.is_set() or not self._q.empty()

    def say_audio(self, audio: np.ndarray) -> None:
        self._q.put(("audio", audio, None))

    def say_text(self, text: str, wait: bool = True) -> None:
        """Queue `text` to be spoken after what is queued already; ``wait``: return when its first
        chunk is ready to play (at most 5 s), else at once (a later sentence of a streamed answer)."""
        ready = threading.Event()
        self._q.put(("text", text, ready))
        if wait:
            ready.wait(timeout=5.0)

    def _run(self) -> None:
        tts = self.tts
        while True:
            item = self._q.get()
            if item is None:
                return
            kind, payload, ready = item
            self._busy.set()
            self._stop.clear()
            try:
                if kind == "audio":
                    self.sink.play(payload, tts.sample_rate)
                else:
                    for chunk in self._ahead(tts.stream(payload)):
                        if ready is not None:
                            ready.set()
                            ready = None
                        if self._stop.is_set():
                            break
                        self.sink.play(chunk, tts.sample_rate)
            except Exception:
                _LOGGER.exception("Playback failed")
            finally:
                if ready is not None:
                    ready.set()
                self._busy.clear()

    def _ahead(self, chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """The chunks of ``chunks``, synthesised one ahead in a helper thread: the next sentence (or
        the rest of a split first sentence) is ready when the one playing ends, so there is no gap."""
        ready: queue.Queue[np.ndarray | BaseException | None] = queue.Queue(maxsize=1)
        done = threading.Event()  # the player stopped (end, stop(), error): the helper ends too

        def put(item: np.ndarray | BaseException | None) -> None:
            while not done.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    return
                except queue.Full:
                    pass

        def produce() -> None:
            try:
                for chunk in chunks:
                    if done.is_set():
                        return
                    put(chunk)
                put(None)
            except BaseException as exc:  # handed to the player, which logs it
                put(exc)

        threading.Thread(target=produce, name="speaker-synth", daemon=True).start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            done.set()

    def stop(self) -> None:
        self._stop.set()
        while not self._q.empty():
            try:
                self._q.get_nowait()
            except queue.Empty:
                break

    def close(self) -> None:
        self.stop()
        self._q.put(None)
