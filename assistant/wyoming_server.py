"""The Wyoming port (default 10600): satellites and Home Assistant talk to the assistant here.

One TCP server, one asyncio loop in its own thread. What a connection is depends on what it sends:

* ``describe`` -> ``info``: our ASR (faster-whisper + the pipeline's clean-up), TTS (Piper) and intent
  handling, as Home Assistant's Wyoming integration expects.
* ``transcribe`` + ``audio-start/chunk/stop`` -> ``transcript`` (speech to text, as HA drives it).
* ``synthesize`` -> ``audio-start/chunk/stop`` (text to speech).
* ``transcript`` (text to handle) -> ``handled`` / ``not-handled`` (a conversation agent for HA).
* ``info`` with a ``satellite`` part, or ``run-pipeline``: the connection is a satellite (e.g.
  ``assistant satellite``) and gets a session in the SatelliteHub.

Satellites that wait to be called (an unmodified ``wyoming-satellite``, as HA uses it) are listed in
the config with ``uri``; we connect to them, send ``describe`` and ``run-satellite``, and reconnect
whenever the connection is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    Describe,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
)
from wyoming.ping import Ping, Pong
from wyoming.pipeline import RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize

from intents.noise import is_noise

from .satellites import LinkClosed, SatelliteHub, SatelliteSession
from .wyoming_settings import SatelliteEntry, WyomingSettings

_LOGGER = logging.getLogger(__name__)

PROJECT_URL = "https://github.com/home-assistant-voice"
VERSION = "0.1.0"
SEND_TIMEOUT_S = 10.0


class WyomingError(RuntimeError):
    """The Wyoming port cannot be served (e.g. the port is taken)."""


def _keepalive(writer: asyncio.StreamWriter) -> None:
    """Notice a box that vanished (power cut, Wi-Fi gone) in ~30 s instead of never."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for opt, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 4)):
        if hasattr(socket, opt):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)


class _Link:
    """Sends events to one connection from any thread (the session's worker)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, writer: asyncio.StreamWriter):
        self.loop = loop
        self.writer = writer
        self.closed = False

    def send(self, event: Event) -> None:
        if self.closed:
            raise LinkClosed("connection closed")
        fut = asyncio.run_coroutine_threadsafe(async_write_event(event, self.writer), self.loop)
        try:
            fut.result(SEND_TIMEOUT_S)
        except (OSError, RuntimeError, FutureTimeout) as exc:
            self.closed = True
            raise LinkClosed(str(exc)) from exc


class _Connection(AsyncEventHandler):
    """One TCP connection, from either side: HA services, or a satellite session."""

    def __init__(
        self,
        server: WyomingServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        satellite: SatelliteEntry | None = None,
    ):
        super().__init__(reader, writer)
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.link = _Link(self.loop, writer)
        self.entry = satellite  # set when we dialled a configured satellite
        self.session: SatelliteSession | None = None
        self._asr: list[bytes] | None = None  # audio of a transcribe request
        self._converter = AudioChunkConverter(rate=16000, width=2, channels=1)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        _keepalive(writer)

    @property
    def hub(self) -> SatelliteHub:
        return self.server.hub

    async def handle_event(self, event: Event) -> bool:
        t = event.type
        if AudioChunk.is_type(t):
            pcm = self._converter.convert(AudioChunk.from_event(event)).audio
            if self.session is not None:
                self.session.audio(pcm)
            elif self._asr is not None:
                self._asr.append(pcm)
        elif Describe.is_type(t):
            await self.write_event(self.server.info().event())
        elif Ping.is_type(t):
            await self.write_event(Pong(text=Ping.from_event(event).text).event())
        elif Info.is_type(t):
            satellite = Info.from_event(event).satellite
            if satellite is not None:  # a satellite that dialled us announces itself
                self.attach(satellite.name, satellite.area)
        elif RunPipeline.is_type(t):
            if self.session is None:
                self.attach(f"satellite@{self.peer}", None)
            assert self.session is not None
            self.session.run_pipeline(RunPipeline.from_event(event).start_stage.value)
        elif AudioStop.is_type(t):
            if self.session is not None:
                self.session.audio_stop()
            elif self._asr is not None:
                audio, self._asr = b"".join(self._asr), None
                text = await self.loop.run_in_executor(None, self.server.transcribe, audio)
                await self.write_event(Transcript(text=text, language=self.server.voice.asr.language).event())
        elif AudioStart.is_type(t):
            self._converter = AudioChunkConverter(rate=16000, width=2, channels=1)
        elif Transcribe.is_type(t):
            self._asr = []
        elif Synthesize.is_type(t):
            await self._synthesize(Synthesize.from_event(event).text)
        elif Transcript.is_type(t):  # text for the conversation agent
            tr = Transcript.from_event(event)
            area = (tr.context or {}).get("area") or (self.session.area if self.session else None)
            result = await self.loop.run_in_executor(
                None, lambda: self.server.assistant.ask(tr.text, area=area)
            )
            reply = Handled if result.intent else NotHandled
            await self.write_event(reply(text=result.response, context=tr.context).event())
        elif PauseSatellite.is_type(t):
            if self.session is not None:
                self.session.pause()
        else:
            _LOGGER.debug("ignored event %s from %s", t, self.peer)
        return True

    def attach(self, name: str, area: str | None) -> None:
        if self.session is None:
            self.session = self.hub.attach(name, area, self.link)

    async def _synthesize(self, text: str) -> None:
        tts = await self.loop.run_in_executor(None, lambda: self.hub.engines().tts)
        chunks = iter(tts.stream(text))
        await self.write_event(AudioStart(rate=tts.sample_rate, width=2, channels=1).event())
        while True:
            chunk = await self.loop.run_in_executor(None, next, chunks, None)
            if chunk is None:
                break
            await self.write_event(
                AudioChunk(
                    rate=tts.sample_rate, width=2, channels=1, audio=np.asarray(chunk, np.int16).tobytes()
                ).event()
            )
        await self.write_event(AudioStop().event())

    async def disconnect(self) -> None:
        self.link.closed = True
        if self.session is not None:
            self.hub.detach(self.session)
            self.session = None


class WyomingServer:
    """Serves the Wyoming port and dials the configured satellites, in a background thread."""

    def __init__(self, assistant: Any, settings: WyomingSettings | None = None):
        self.assistant = assistant
        self.settings = settings or assistant.config.wyoming
        self.voice = assistant.config.voice
        self.hub = SatelliteHub(assistant, self.settings, self.voice)
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._conns: set[_Connection] = set()
        self._refused: set[str] = set()  # addresses refused (each logged once)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, warm_up: bool | None = None) -> int:
        """Listen and start dialling; returns the port. Raises WyomingError if the port is taken, or
        if it would be open beyond this machine to anyone (``WyomingSettings.check_bind``)."""
        try:
            self.settings.check_bind()
        except ValueError as exc:
            raise WyomingError(str(exc)) from None
        self._thread = threading.Thread(target=self._thread_main, name="wyoming", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise WyomingError(
                f"cannot serve the Wyoming port {self.settings.host}:{self.settings.port}: {self._error}. "
                "Set wyoming.port (or ASSISTANT_WYOMING_PORT) to a free port, or wyoming.enabled: false."
            ) from self._error
        if warm_up if warm_up is not None else bool(self.settings.satellites):
            threading.Thread(target=self.hub.engines, name="wyoming-warm-up", daemon=True).start()
        assert self.port is not None
        return self.port

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)
        self.hub.close()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._accept, self.settings.host, self.settings.port)
        self.port = server.sockets[0].getsockname()[1]
        _LOGGER.info("Wyoming port %s:%s", self.settings.host, self.port)
        tasks = [asyncio.create_task(self._dial(e)) for e in self.settings.satellites if e.uri]
        tasks.append(asyncio.create_task(self._ticker()))
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            server.close()
            for conn in list(self._conns):  # end open connections cleanly (EOF), not by cancellation
                await conn.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else ""
        if not self.settings.allows(address):  # not listed in wyoming.allow: not a word read
            if address not in self._refused:
                self._refused.add(address)
                _LOGGER.warning(
                    "Wyoming: refused a connection from %s (not in wyoming.allow; further ones are not logged)",
                    address or "an unknown address",
                )
            writer.close()
            return
        conn = _Connection(self, reader, writer)
        self._conns.add(conn)
        try:
            await conn.run()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            _LOGGER.info("connection from %s lost: %s", conn.peer, exc)
        finally:
            self._conns.discard(conn)

    async def _ticker(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            await loop.run_in_executor(None, self.hub.tick)

    async def _dial(self, entry: SatelliteEntry) -> None:
        """Keep a connection to a satellite that waits to be called (wyoming-satellite --uri tcp://...)."""
        url = urlparse(entry.uri or "")
        warned = False
        while True:
            writer: asyncio.StreamWriter | None = None
            try:
                reader, opened = await asyncio.wait_for(asyncio.open_connection(url.hostname, url.port), 10)
                writer = opened
                conn = _Connection(self, reader, opened, satellite=entry)
                await conn.write_event(Describe().event())
                announced = None
                while True:  # its info says which area it thinks it is in
                    event = await asyncio.wait_for(async_read_event(reader), 10)
                    if event is None:
                        raise ConnectionError("closed before describing itself")
                    if Info.is_type(event.type):
                        announced = Info.from_event(event).satellite
                        break
                conn.attach(entry.name, announced.area if announced else None)
                await conn.write_event(RunSatellite().event())
                warned = False
                await conn.run()  # until the connection ends; then detaches the session
            except asyncio.CancelledError:
                if writer is not None:
                    writer.close()
                raise
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
                (_LOGGER.debug if warned else _LOGGER.warning)(
                    "satellite %s at %s unreachable (%s); retrying every %.0f s",
                    entry.name,
                    entry.uri,
                    exc or type(exc).__name__,
                    self.settings.reconnect_s,
                )
                warned = True
                if writer is not None:
                    writer.close()
            await asyncio.sleep(self.settings.reconnect_s)

    # -- the services HA uses ------------------------------------------------------------------
    def info(self) -> Info:
        asr, tts = self.voice.asr, self.voice.tts
        ours = Attribution(name="home-assistant-voice", url=PROJECT_URL)
        voice_name = Path(tts.voice).name.removesuffix(".onnx")
        return Info(
            asr=[
                AsrProgram(
                    name="assistant-asr",
                    attribution=ours,
                    installed=True,
                    version=VERSION,
                    description="faster-whisper with the assistant's clean-up of Whisper's slips",
                    models=[
                        AsrModel(
                            name=Path(asr.model).name,
                            attribution=Attribution(
                                "OpenAI Whisper (CTranslate2)", "https://github.com/SYSTRAN/faster-whisper"
                            ),
                            installed=True,
                            description="Whisper",
                            version=None,
                            languages=[asr.language],
                        )
                    ],
                )
            ],
            tts=[
                TtsProgram(
                    name="assistant-tts",
                    attribution=ours,
                    installed=True,
                    version=VERSION,
                    description="Piper text to speech",
                    voices=[
                        TtsVoice(
                            name=voice_name,
                            attribution=Attribution("Piper", "https://github.com/OHF-Voice/piper1-gpl"),
                            installed=True,
                            description=voice_name,
                            version=None,
                            languages=[_voice_language(tts.voice)],
                        )
                    ],
                )
            ],
            handle=[
                HandleProgram(
                    name="assistant",
                    attribution=ours,
                    installed=True,
                    version=VERSION,
                    description="Timers, alarms, music, weather and devices, from intent templates (and the LLM tier)",
                    models=[
                        HandleModel(
                            name="assistant-intents",
                            attribution=ours,
                            installed=True,
                            description="intent templates",
                            version=VERSION,
                            languages=[self.assistant.config.language],
                        )
                    ],
                    supports_home_control=True,
                )
            ],
        )

    def transcribe(self, pcm: bytes) -> str:
        """Speech to text for HA: Whisper, then the same clean-up and drops as the voice pipeline."""
        engines = self.hub.engines()
        result = engines.asr.transcribe(np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16))
        text = result.text.strip()
        if is_noise(text) or engines.asr.is_noise(result):
            return ""
        return text


def _voice_language(voice_path: str) -> str:
    """The language a Piper voice speaks (from its .onnx.json), e.g. en_US."""
    try:
        config = json.loads(Path(voice_path + ".json").read_text(encoding="utf-8"))
        return str(config.get("language", {}).get("code") or config.get("espeak", {}).get("voice") or "en")
    except (OSError, ValueError):
        return "en"


def start_wyoming(assistant: Any) -> WyomingServer | None:
    """For `assistant serve`: the Wyoming port when enabled, else None. Raises WyomingError."""
    if not assistant.config.wyoming.enabled:
        return None
    server = WyomingServer(assistant)
    server.start()
    return server
