"""Satellites: many boxes (one per room) sharing one assistant.

Each connected box gets a ``SatelliteSession``: its own voice ``Pipeline`` (wake word, VAD, ASR,
understanding, TTS: the stages in pipeline.py) running in a worker thread, fed with the box's audio;
replies go back to the same box. Requests are asked in the box's area. The ``SatelliteHub`` keeps the
sessions by name, remembers which box set each timer and alarm, and rings them there (on every box
when that one is offline, and on it again when it comes back), repeating until someone says "stop".

The transport (Wyoming over TCP) lives in wyoming_server.py; a session only needs a ``Link``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.vad import VoiceStarted, VoiceStopped
from wyoming.wake import Detection

from devices.media.sinks import fit
from intents.events import AlarmFired, ReminderDue, TimerFinished

from .engines import Engines
from .pipeline import Pipeline, Say
from .tts import feedback_sound
from .voice_events import AudioOut, SpeechEnded, SpeechStarted, WakeDetected
from .voice_events import Transcript as PipelineTranscript
from .voice_settings import VoiceSettings
from .wyoming_settings import WyomingSettings

_LOGGER = logging.getLogger(__name__)

BLOCK = 512  # samples per pipeline block (32 ms at 16 kHz)
CHUNK = 2048  # samples per audio-chunk we send


class LinkClosed(ConnectionError):
    """The box is gone; nothing more can be sent to it."""


class Link(Protocol):
    """Sends Wyoming events to one box; thread-safe; raises LinkClosed when the connection is gone."""

    def send(self, event: Event) -> None: ...


# ----------------------------------------------------------------------------- one box


class _LinkSink:
    """The pipeline's ``AudioSink`` for one box: audio-start once, audio-chunks, audio-stop at `end()`."""

    sample_rate, channels = 22050, 1  # what it prefers; it sends any rate as it comes

    def __init__(self, link: Link):
        self.link = link
        self.rate: int | None = None

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        samples = fit(samples, sample_rate, sample_rate, 1).reshape(-1)
        if self.rate is None:
            self.rate = sample_rate
            self.link.send(AudioStart(rate=sample_rate, width=2, channels=1).event())
        for i in range(0, len(samples), CHUNK):
            self.link.send(
                AudioChunk(
                    rate=sample_rate, width=2, channels=1, audio=samples[i : i + CHUNK].tobytes()
                ).event()
            )

    def end(self) -> None:
        if self.rate is not None:
            self.rate = None
            self.link.send(AudioStop().event())

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class SatelliteSession:
    """One connected box: a worker thread owns its pipeline; the network side only queues work."""

    def __init__(self, hub: SatelliteHub, name: str, area: str | None, link: Link):
        self.hub = hub
        self.name = name
        self.area = area
        self.link = link
        self.sink = _LinkSink(link)
        self.stage: str | None = None  # "wake" (server hears the wake word) | "asr" (the box did)
        self.connected_at = time.time()
        self._pipe: Pipeline | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._q: queue.Queue[tuple | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"satellite-{name}", daemon=True)
        self._thread.start()

    # -- called from the network side (any thread) -------------------------------------------
    def run_pipeline(self, start_stage: str) -> None:
        self._q.put(("run", start_stage))

    def audio(self, pcm: bytes) -> None:
        """16 kHz mono s16le audio from the box's microphone."""
        self._q.put(("audio", pcm))

    def audio_stop(self) -> None:
        self._q.put(("audio_stop",))

    def pause(self) -> None:
        self._q.put(("pause",))

    def say(self, text: str, chime: bool = True) -> None:
        """Speak text on this box now (a ringing alarm, an announcement)."""
        self._q.put(("say", text, chime))

    def close(self) -> None:
        self._closed = True
        self._q.put(None)

    @property
    def online(self) -> bool:
        return not self._closed

    # -- worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                break
            try:
                getattr(self, "_do_" + item[0])(*item[1:])
            except LinkClosed:
                _LOGGER.info("satellite %s: connection lost", self.name)
                self._closed = True
                self.hub.detach(self)  # rings go to the other boxes until it is back
                break
            except Exception:
                _LOGGER.exception("satellite %s: %s failed", self.name, item[0])
        if self._pipe is not None:
            self._pipe.close()

    def _do_run(self, stage: str) -> None:
        stage = "asr" if stage != "wake" else "wake"
        if self._pipe is None or stage != self.stage:
            if self._pipe is not None:
                self._pipe.close()
            self._pipe = Pipeline(
                self._understand,
                self.hub.voice,
                engines=self.hub.engines(),
                sink=self.sink,
                on_event=self._on_event,
                remote_wake=stage == "asr",
                stream_replies=True,  # the LLM's answer goes to the box as it comes
            )
            self.stage = stage
            self._pending = np.zeros(0, dtype=np.int16)
        if stage == "asr":
            self._pipe.trigger("satellite")
        _LOGGER.info("satellite %s: pipeline from %s", self.name, stage)

    def _do_audio(self, pcm: bytes) -> None:
        if self._pipe is None:
            return  # audio before run-pipeline: nobody asked us to listen
        audio = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).copy()
        self._pending = np.concatenate([self._pending, audio]) if len(self._pending) else audio
        while len(self._pending) >= BLOCK:
            block, self._pending = self._pending[:BLOCK], self._pending[BLOCK:]
            for _result in self._pipe.feed(block):
                self.sink.end()

    def _do_audio_stop(self) -> None:
        """The box stopped streaming (its own timeout or VAD): close an open utterance."""
        if self._pipe is not None and self._pipe.listening and self.stage == "asr":
            for _result in self._pipe.flush():
                self.sink.end()
            if self._pipe.listening:  # still nothing: the turn is over
                self._pipe.end_turn()
                self.link.send(Transcript(text="").event())

    def _do_pause(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
        self._pipe, self.stage = None, None

    def _do_say(self, text: str, chime: bool) -> None:
        tts = self.hub.engines().tts
        if chime:
            self.sink.play(feedback_sound("awake", tts.sample_rate), tts.sample_rate)
        for chunk in tts.stream(text):
            self.sink.play(chunk, tts.sample_rate)
        self.sink.end()

    def _understand(self, text: str, *, say: Say) -> Any:
        return self.hub.ask(text, self, on_sentence=say)

    def _on_event(self, ev: Any) -> None:
        """Pipeline events -> Wyoming events the box (and Home Assistant-style satellites) expect."""
        if isinstance(ev, WakeDetected):
            if self.stage != "wake":
                return  # the box heard it itself (and played its own sound)
            self.link.send(Detection(name=ev.word, timestamp=int(ev.t * 1000)).event())
        elif isinstance(ev, SpeechStarted):
            self.link.send(VoiceStarted(timestamp=int(ev.t * 1000)).event())
        elif isinstance(ev, SpeechEnded):
            self.link.send(VoiceStopped(timestamp=int(ev.t * 1000)).event())
        elif isinstance(ev, PipelineTranscript):
            # a satellite that heard the wake word streams until it gets the transcript
            self.link.send(Transcript(text="" if ev.dropped else ev.text).event())
        elif isinstance(ev, AudioOut) and ev.kind == "timeout" and self.stage == "asr":
            self.link.send(Error(text="No speech after the wake word", code="stt-no-text-recognized").event())
            self.link.send(Transcript(text="").event())


# ----------------------------------------------------------------------------- all boxes


@dataclass
class _Ringing:
    text: str
    owner: str | None  # the box that set it (None: unknown, rings everywhere)
    area: str | None
    next_at: float
    heard_by: set[str] = field(default_factory=set)


class SatelliteHub:
    """Connected boxes by name; routes replies and rings."""

    def __init__(self, assistant: Any, settings: WyomingSettings, voice: VoiceSettings):
        self.assistant = assistant
        self.settings = settings
        self.engine_settings = voice  # as configured: the engines are shared with the rest of the process
        self.voice = voice.model_copy(deep=True)
        self.voice.tts.feedback_sounds = False  # boxes play their own awake/done sounds
        self.areas = {s.name: s.area for s in settings.satellites}
        self.sessions: dict[str, SatelliteSession] = {}
        self.origin: dict[tuple[str, int], str] = {}  # ("timer"|"alarm", id) -> box that set it
        self.ringing: dict[tuple[str, int], _Ringing] = {}
        self._engines: Engines | None = None
        self._lock = threading.RLock()
        assistant.listeners.append(self._on_due)

    def engines(self) -> Engines:
        with self._lock:
            if self._engines is None:
                self._engines = Engines.load(self.engine_settings, self.assistant.reply_heads())
            return self._engines

    # -- boxes come and go ---------------------------------------------------------------------
    def attach(self, name: str, area: str | None, link: Link) -> SatelliteSession:
        """A box connected (again). Its configured area wins over the one it announces."""
        with self._lock:
            area = self.areas.get(name) or area
            self.areas.setdefault(name, area)
            old = self.sessions.pop(name, None)
            if old is not None:
                old.close()  # a reconnect replaces the stale connection
            session = self.sessions[name] = SatelliteSession(self, name, area, link)
            owed = [r for r in self.ringing.values() if self._owner_box(r) == name and name not in r.heard_by]
        _LOGGER.info("satellite %s (%s) connected", name, area or "no area")
        for ring in owed:  # rang while it was away and nobody stopped it yet
            ring.heard_by.add(name)
            session.say(ring.text)
        return session

    def detach(self, session: SatelliteSession) -> None:
        with self._lock:
            if self.sessions.get(session.name) is session:
                del self.sessions[session.name]
                _LOGGER.info("satellite %s disconnected", session.name)
        session.close()

    def status(self) -> list[dict[str, Any]]:
        with self._lock:
            names = sorted(set(self.areas) | set(self.sessions))
            return [{"name": n, "area": self.areas.get(n), "connected": n in self.sessions} for n in names]

    # -- requests --------------------------------------------------------------------------------
    def ask(
        self, text: str, session: SatelliteSession, on_sentence: Callable[[str], None] | None = None
    ) -> Any:
        result = self.assistant.ask(text, area=session.area, on_sentence=on_sentence)
        for action in result.actions:
            kind = action.get("type", "")
            if kind == "timer_start" and action.get("timer_id"):
                self.origin[("timer", action["timer_id"])] = session.name
            elif kind == "alarm_set" and action.get("alarm_id"):
                self.origin[("alarm", action["alarm_id"])] = session.name
            elif kind == "reminder_set" and action.get("reminder_id"):  # a reminder is an alarm row
                self.origin[("alarm", action["reminder_id"])] = session.name
            elif kind in ("timer_stop", "alarm_stop", "alarm_snooze"):
                what = "timer" if kind == "timer_stop" else "alarm"
                with self._lock:
                    self.ringing.pop((what, action.get(f"{what}_id")), None)  # silenced on every box
        return result

    # -- ringing ---------------------------------------------------------------------------------
    def _on_due(self, event: Any) -> None:
        """Assistant listener (the tick thread): a timer finished or an alarm fired."""
        if getattr(event, "command", None):
            return  # a delayed command ran; nothing rings
        name = f"{event.name} " if event.name else ""
        if isinstance(event, TimerFinished):
            key, text = ("timer", event.timer_id), f"Your {name}timer is done."
            row = next((t for t in self.assistant.store.timers() if t.id == event.timer_id), None)
            area = row.area if row else None
        elif isinstance(event, AlarmFired):
            key, text, area = ("alarm", event.alarm_id), f"Your {name}alarm is ringing.", None
        elif isinstance(event, ReminderDue):
            key, text, area = ("alarm", event.reminder_id), event.spoken(), None
        else:
            return
        ring = _Ringing(text, self.origin.get(key), area, time.monotonic() + self.settings.ring_repeat_s)
        with self._lock:
            self.ringing[key] = ring
        self._ring(ring)

    def _owner_box(self, ring: _Ringing) -> str | None:
        if ring.owner:
            return ring.owner
        # set before a restart (or by text): the first box in the timer's area
        same_area = [n for n, a in self.areas.items() if ring.area and a == ring.area]
        return same_area[0] if same_area else None

    def _ring(self, ring: _Ringing) -> None:
        with self._lock:
            owner = self._owner_box(ring)
            online = dict(self.sessions)
        if owner in online:
            targets = [online[owner]]
        else:
            targets = list(
                online.values()
            )  # owner offline or unknown: every box; the owner hears it on return
        if not targets:
            _LOGGER.warning("%s (no satellite connected to ring on)", ring.text)
        for session in targets:
            ring.heard_by.add(session.name)
            session.say(ring.text)

    def tick(self) -> None:
        """Say again what still rings; forget what was stopped (on any box) or timed out."""
        if not self.ringing:
            return
        with self._lock:
            items = list(self.ringing.items())
        store = self.assistant.store
        still = {("timer", t.id) for t in store.timers() if t.state == "ringing"}
        still |= {("alarm", a.id) for a in store.alarms() if a.state == "ringing"}
        now = time.monotonic()
        for key, ring in items:
            if key not in still:
                with self._lock:
                    self.ringing.pop(key, None)
            elif now >= ring.next_at:
                ring.next_at = now + self.settings.ring_repeat_s
                self._ring(ring)

    def close(self) -> None:
        with self._lock:
            sessions = list(self.sessions.values())
            self.sessions.clear()
        for s in sessions:
            s.close()
        if self._on_due in self.assistant.listeners:
            self.assistant.listeners.remove(self._on_due)
