"""`assistant satellite`: a small box with a microphone, a wake word and a speaker, speaking Wyoming
to an assistant server (`assistant serve`, Wyoming port 10600).

The wake word runs here (cheap: microWakeWord takes ~0.5 % of a core) and only the command is
streamed, so one server carries many boxes (bench/load.py). ``--server-wake`` streams everything and
lets the server listen for the wake word instead. The connection is kept: lost, it is tried again
every few seconds, and what the server says (replies, ringing alarms) is played whenever it comes.
Audio can come from a file and go to a WAV file, to run without a sound card.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Attribution, Describe, Info, Satellite
from wyoming.pipeline import PipelineStage, RunPipeline

from devices.media.sinks import AudioSink

from .audio import IDLE_HOLD_S, SAMPLE_RATE, MicSource
from .voice_settings import VoiceSettings
from .wake import make_wake

_LOGGER = logging.getLogger(__name__)


class SatelliteError(RuntimeError):
    """The satellite cannot run (bad server address)."""


def parse_server(uri: str) -> tuple[str, int]:
    url = urlparse(uri if "://" in uri else f"tcp://{uri}")
    if url.scheme != "tcp" or not url.hostname:
        raise SatelliteError(f"--server must look like tcp://HOST:PORT (got {uri!r})")
    return url.hostname, url.port or 10600


class _Player:
    """Plays what the server sends, in its own thread (a speaker blocks while it plays)."""

    def __init__(self, sink: AudioSink):
        self.sink = sink
        self._q: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue()
        self._busy = threading.Event()
        self.last_audio = 0.0
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)
        self._thread.start()

    def play(self, samples: np.ndarray, rate: int) -> None:
        self.last_audio = time.monotonic()
        self._busy.set()
        self._q.put((samples, rate))

    @property
    def idle(self) -> bool:
        return self._q.empty() and not self._busy.is_set()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            try:
                self.sink.play(*item)
            except Exception:
                _LOGGER.exception("playback failed")
            finally:
                if self._q.empty():
                    self._busy.clear()

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(5)
        self.sink.close()


class SatelliteClient:
    def __init__(
        self,
        server: str,
        name: str,
        area: str | None,
        voice: VoiceSettings,
        source: Iterable[np.ndarray],
        sink: AudioSink,
        *,
        server_wake: bool = False,
        reconnect_s: float = 3.0,
        linger_s: float = 3.0,
    ):
        self.host, self.port = parse_server(server)
        self.name, self.area = name, area
        self.voice = voice
        self.source = source
        self.player = _Player(sink)
        self.server_wake = server_wake
        self.reconnect_s = reconnect_s
        self.linger_s = linger_s
        self.wake = None if server_wake else make_wake(voice.wake)
        # the last blocks before a detection: the command may follow the wake word without a pause,
        # and the detector fires a little after the word (wake.PEAK_WAIT_S, CONFIRM_WAIT_S)
        self._recent: deque[np.ndarray] = deque(
            maxlen=(voice.wake.preroll_ms + 1500) * SAMPLE_RATE // 1000 // 512 + 1
        )
        self.streaming = server_wake
        self.connected = threading.Event()
        self.turns = 0  # commands sent (wake words heard here)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._source_done = threading.Event()
        self._stream_until = 0.0
        self._reply_due = 0.0  # while a reply is awaited (input from a file waits for it before exiting)

    # -- events to the server (from the microphone thread) ---------------------------------------
    def _send(self, event: Event) -> bool:
        writer, loop = self._writer, self._loop
        if writer is None or loop is None:
            return False
        try:
            asyncio.run_coroutine_threadsafe(async_write_event(event, writer), loop).result(10)
            return True
        except Exception as exc:  # the reader notices and reconnects
            _LOGGER.debug("send failed: %s", exc)
            return False

    def _mic(self) -> None:
        try:
            for block in self.source:
                self._on_block(np.asarray(block, dtype=np.int16))
                if isinstance(self.source, MicSource):  # bursts while only the wake word counts
                    awaiting_wake = self.wake is not None and not self.streaming
                    self.source.hold_s = IDLE_HOLD_S if awaiting_wake else 0.0
        except Exception:
            _LOGGER.exception("microphone failed")
        finally:
            self._source_done.set()

    def _on_block(self, block: np.ndarray) -> None:
        if self.wake is not None and not self.streaming:  # no engine here: the server listens for it
            det = self.wake.process(block)
            self._recent.append(block)
            if det is None:
                return
            recent = np.concatenate(list(self._recent))
            self._recent.clear()
            if not self.connected.is_set():
                _LOGGER.warning(
                    "Wake word heard, but the server %s:%s is not reachable", self.host, self.port
                )
                return
            _LOGGER.info("Wake word %s", det.word)
            self.turns += 1
            self.streaming = True
            self._reply_due = time.monotonic() + 30.0
            # stop on the transcript; give up after listen timeout + longest utterance
            self._stream_until = (
                time.monotonic() + self.voice.wake.listen_timeout_s + self.voice.vad.max_utterance_s
            )
            self._send(
                RunPipeline(
                    start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS, wake_word_name=det.word
                ).event()
            )
            # from preroll_ms before the wake probability's peak (the server strips a heard "Nabu")
            keep = int((self.voice.wake.preroll_ms / 1000 + det.since_peak_s) * SAMPLE_RATE)
            if self.voice.wake.preroll_ms > 0:
                pre = recent[-keep:]
                self._send(AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=pre.tobytes()).event())
            return
        if not self.streaming:
            return
        if not self.server_wake and time.monotonic() > self._stream_until:
            self.streaming = False
            self._send(AudioStop().event())
            return
        self._send(AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=block.tobytes()).event())

    # -- the connection --------------------------------------------------------------------------
    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 10)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        info = Info(
            satellite=Satellite(
                name=self.name,
                area=self.area,
                attribution=Attribution("home-assistant-voice", ""),
                installed=True,
                description="assistant satellite",
                version=None,
                has_vad=False,
                active_wake_words=None if self.wake is None else list(self.wake.words),
            )
        )
        await async_write_event(info.event(), writer)
        if self.server_wake:
            await async_write_event(
                RunPipeline(
                    start_stage=PipelineStage.WAKE, end_stage=PipelineStage.TTS, restart_on_end=True
                ).event(),
                writer,
            )
        self._writer = writer
        self.connected.set()
        _LOGGER.info("Connected to %s:%s as %s (%s)", self.host, self.port, self.name, self.area or "no area")
        converter = AudioChunkConverter(width=2, channels=1)
        try:
            while True:
                event = await async_read_event(reader)
                if event is None:
                    raise ConnectionError("server closed the connection")
                if AudioChunk.is_type(event.type):
                    chunk = converter.convert(AudioChunk.from_event(event))
                    self.player.play(np.frombuffer(chunk.audio, dtype=np.int16), chunk.rate)
                elif Transcript.is_type(event.type):
                    text = Transcript.from_event(event).text
                    _LOGGER.info("Heard: %r", text)
                    if not self.server_wake:
                        self.streaming = False
                    if not text:
                        self._reply_due = 0.0  # nothing heard: no reply comes
                elif AudioStop.is_type(event.type):
                    self._reply_due = 0.0
                elif AudioStart.is_type(event.type):
                    pass
                elif Describe.is_type(event.type):
                    await async_write_event(info.event(), writer)
                else:
                    _LOGGER.debug("server: %s", event.type)
        finally:
            self.connected.clear()
            self._writer = None
            if not self.server_wake:
                self.streaming = False
            writer.close()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._mic, name="mic", daemon=True).start()
        task = asyncio.create_task(self._connect_forever())
        try:
            while not self._source_done.is_set():
                await asyncio.sleep(0.1)
            # input ended (a file): let the last reply arrive and play out
            while not self._settled():
                await asyncio.sleep(0.1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _settled(self) -> bool:
        now = time.monotonic()
        quiet = now - self.player.last_audio > self.linger_s and now > self._reply_due
        return quiet and self.player.idle and (self.server_wake or not self.streaming)

    async def _connect_forever(self) -> None:
        warned = False
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
                (_LOGGER.debug if warned else _LOGGER.warning)(
                    "Server %s:%s: %s; trying again every %.0f s",
                    self.host,
                    self.port,
                    exc or type(exc).__name__,
                    self.reconnect_s,
                )
                warned = True
            await asyncio.sleep(self.reconnect_s)

    def run(self) -> None:
        """Until the source ends (a file) or Ctrl-C (a microphone)."""
        try:
            asyncio.run(self._main())
        finally:
            self.player.close()


def run_satellite(
    server: str,
    name: str,
    area: str | None,
    voice: VoiceSettings,
    *,
    input_path: str | None = None,
    output_path: str | None = None,
    server_wake: bool = False,
    linger_s: float = 3.0,
) -> Any:
    """Build the source and sink (microphone/speaker, or files) and run until done."""
    from devices.media.sinks import WavSink

    from .audio import FileSource, MicSource, RawPcmSource, SpeakerSink

    parse_server(server)  # a bad address fails before the microphone is opened
    if input_path == "-":
        import sys

        source: Any = RawPcmSource(sys.stdin.buffer)
    elif input_path:
        source = FileSource(input_path, realtime=True)
    else:
        source = MicSource(voice.audio.input_device)
        source.start()
    sink: AudioSink = WavSink(output_path, 22050) if output_path else SpeakerSink(voice.audio.output_device)
    client = SatelliteClient(
        server, name, area, voice, source, sink, server_wake=server_wake, linger_s=linger_s
    )
    try:
        client.run()
    finally:
        source.close()
    return client
