"""Voice pipeline: audio -> wake -> VAD -> ASR -> understand(text) -> TTS, as small stages and typed events.

Timing: every event carries a time on the *audio clock* (seconds of audio since the start). The loop
is single-threaded like the live loop; each block is processed no earlier than its audio time, and
real processing time is added (``busy``), so feeding a file faster than real time still gives the
latency a live user would see: end of speech -> action / first audio, counting real work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np

from devices.media.sinks import AudioSink, NullSink
from intents.noise import is_noise
from intents.normalize import is_stop, strip_wake_word

from .asr import AsrResult, Encoded
from .audio import SAMPLE_RATE
from .engines import Engines
from .speaker import Speaker
from .tts import feedback_sound
from .vad import Endpointer, VadEvent
from .voice_events import (
    ActionDone,
    AudioOut,
    IntentResult,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    WakeDetected,
    event_dict,
)
from .voice_settings import VoiceSettings
from .wake import Detection, make_wake

_LOGGER = logging.getLogger(__name__)

Understand = Callable[[str], dict]
# With ``stream_replies``, understand(text, say=...) may pass sentences of its answer to ``say`` before it
# returns (``Assistant.ask``'s ``on_sentence``: the LLM's streamed final answer); each is spoken at once
Say = Callable[[str], None]


class SpeakingUnderstand(Protocol):
    def __call__(self, text: str, *, say: Say) -> Any: ...


# "Is this transcript a whole command?" for early endpointing (e.g. ``Assistant.is_complete``); any
# callable str -> bool will do, so another recogniser can supply it
IsComplete = Callable[[str], bool]
# audio after a peek below this share of the utterance's peak is silence (digital silence in the
# benches; quiet room noise, about -40 dB below the speech, at a microphone)
_QUIET = 0.01


def as_dict(result: Any) -> dict:
    """understand() may return a dict, a dataclass (to_dict/asdict) or a pydantic model."""
    if isinstance(result, dict):
        return dict(result)
    if hasattr(result, "to_dict"):
        return dict(result.to_dict())
    if hasattr(result, "model_dump"):
        return dict(result.model_dump())
    import dataclasses

    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    raise TypeError(f"understand() must return a dict, got {type(result).__name__}")


class Pipeline:
    """Feed 16 kHz int16 blocks with `feed`; completed utterances come back as dicts."""

    # A peek's decode runs in two steps, the encoder at once and the decoder once the loop has caught
    # up with the microphone, so a dip between words (the user spoke on meanwhile) costs no decoder
    # pass. False: one step, as before (a benchmark's baseline).
    split_peeks = True

    def __init__(
        self,
        understand: Understand | SpeakingUnderstand,
        settings: VoiceSettings,
        *,
        no_wake: bool = False,
        sink: AudioSink | None = None,
        engines: Engines | None = None,
        live: bool = False,
        on_barge_in: Callable[[str], None] | None = None,
        on_event: Callable[[Any], None] | None = None,
        is_complete: IsComplete | None = None,
        remote_wake: bool = False,
        muted: threading.Event | None = None,
        stream_replies: bool = False,
        reply_heads: Iterable[str] = (),
        clock: Callable[[], float] = time.perf_counter,
    ):
        """``remote_wake``: the wake word is heard elsewhere (a satellite): no local detector; ``trigger()``
        starts listening, with the usual listen timeout, and each utterance ends the turn. ``clock``
        times the processing (seconds); a benchmark on a shared machine may pass ``time.process_time``
        (CPU time, which other processes' load barely changes) with single-threaded engines.
        ``stream_replies``: ``understand`` takes a ``say`` keyword (see ``Say``); the sentences it says
        are spoken while it still works, and the response's sentences already said are not repeated.
        ``reply_heads`` (e.g. ``Assistant.reply_heads()``): fixed openings and whole fixed answers,
        synthesised now (once per voice, ``Tts.keep``), so an answer opening with one plays at once."""
        self.understand = understand
        self.stream_replies = stream_replies
        self.clock = clock
        self.is_complete = is_complete  # None: no early endpointing
        self.muted = muted  # set: the microphone is ignored (HA's Mute switch); speech still plays
        self.s = settings
        self.engines = engines or Engines.load(settings)
        if reply_heads and settings.tts.reply_heads:
            self.engines.tts.keep(list(reply_heads))  # once per voice: a second call costs nothing
        self.no_wake = no_wake or (settings.wake.engine == "none" and not remote_wake)
        self.wake = make_wake(settings.wake, force_none=no_wake or remote_wake)
        self.endpointer = Endpointer(settings.vad)
        self.sink = sink or NullSink()
        self.live = live
        self.on_barge_in = on_barge_in
        self.on_event = on_event
        self.samples = 0
        self.busy = 0.0  # processing clock (audio seconds)
        self.listening = self.no_wake
        self._listen_deadline = float("inf")
        self._wake_event: WakeDetected | None = None
        self._trace: list[dict] = []
        # (speech_end, result, ms on the processing clock) of the last speculative decode
        self._spec: tuple[float, AsrResult, float] | None = None
        # (speech_end, encoder output, ms on the processing clock) of a peek awaiting its decoder
        self._pending: tuple[float, Encoded, float] | None = None
        # pre-roll plus the time a detector may take after the peak (wake.PEAK_WAIT_S, CONFIRM_WAIT_S)
        self._preroll: deque = deque(
            maxlen=(settings.wake.preroll_ms + 1500) * SAMPLE_RATE // 1000 // 512 + 1
        )
        self._speaker = Speaker(self.engines.tts, self.sink) if live else None
        self._triggered: str | None = None
        self._following = False  # listening for the answer to a question, without the wake word
        self._reply_s = 0.0  # how long the last spoken reply lasts
        self._early = _EarlyReply()  # what understand() said before it returned, this utterance
        self._late_ms = 0.0  # how late a later chunk of this reply was (see ``_synthesise``)

    # -- clock ------------------------------------------------------------------------------
    @property
    def t(self) -> float:
        return self.samples / SAMPLE_RATE

    def _work(self, fn: Callable[[], Any]) -> tuple[Any, float]:
        """Run fn on the processing clock; returns (result, duration ms)."""
        t0 = self.clock()
        result = fn()
        dt = self.clock() - t0
        self.busy += dt
        return result, dt * 1000

    def _emit(self, ev: Any) -> None:
        self._trace.append(event_dict(ev))
        if self.on_event is not None:
            self.on_event(ev)

    # -- input ------------------------------------------------------------------------------
    def trigger(self, word: str = "push_to_talk") -> None:
        """Start listening as if the wake word was heard (push-to-talk, button); thread-safe."""
        self._triggered = word

    def feed(self, block: np.ndarray) -> list[dict]:
        self.samples += len(block)
        self.busy = max(self.busy, self.t)
        results: list[dict] = []
        if self.muted is not None and self.muted.is_set():
            if self.endpointer.in_speech or (
                self.listening and not self.no_wake
            ):  # drop a half-heard request
                self.endpointer.reset(t0=self.t)
                self._wake_event = None
                self._idle()
            self._triggered = None
            self._preroll.clear()
            return results
        det, _ = self._work(lambda: self.wake.process(block))
        if det is None and self._triggered:
            det, self._triggered = Detection(self._triggered, 1.0, self.t), None
        if det is not None:
            if self.speaking:
                self._barge_in(f"wake:{det.word}")
            if not self.listening or not self.endpointer.in_speech:
                if not self.listening:
                    self._preroll.append(block)  # the pre-roll ends where the detection does
                return self._on_wake(det)
        if not self.listening:
            self._preroll.append(block)
            return results
        if self.speaking and (self.no_wake or self._following):
            return results  # do not listen to ourselves (no echo cancellation)
        events, _ = self._work(lambda: self.endpointer.process(block))
        for ev in events:
            results.extend(self._on_vad(ev))
        if self._pending is not None:
            ep = self.endpointer
            if not ep.in_speech or abs(ep.last_speech_s - self._pending[0]) > 1e-6:
                self._pending = None  # the user spoke on: the peek heard a dip between words
            elif self.t + len(block) / SAMPLE_RATE > self.busy:  # caught up: the next block is not here yet
                self._settle()
        if (
            not self.no_wake
            and self.listening
            and not self.endpointer.in_speech
            and self.t > self._listen_deadline
        ):
            _LOGGER.info(
                "No %s; back to idle",
                "answer to the question" if self._following else "command after wake word",
            )
            self._emit(AudioOut(self.busy, "timeout", 0.0))
            self._idle()
        return results

    def flush(self) -> list[dict]:
        """End of input: close an utterance still open with silence."""
        results = []
        n = int((self.s.vad.trailing_silence_ms + 200) / 1000 * SAMPLE_RATE / 512) + 1
        for _ in range(n):
            results.extend(self.feed(np.zeros(512, np.int16)))
        return results

    def end_turn(self) -> None:
        """Stop listening for a command now (the satellite that heard the wake word gave up)."""
        self._wake_event = None
        self._idle()

    @property
    def speaking(self) -> bool:
        return self._speaker is not None and self._speaker.active

    @property
    def awaiting_wake(self) -> bool:
        """Only the wake word is listened for (no command or answer awaited, nothing being said): the
        microphone may be read in bursts (``MicSource.hold_s``)."""
        return not self.no_wake and not self.listening and not self.speaking

    # -- stages -----------------------------------------------------------------------------
    def _on_wake(self, det: Detection) -> list[dict]:
        ev = WakeDetected(self.busy, det.word, det.probability)
        self._trace = []
        self._wake_event = ev
        self._emit(ev)
        self.listening = True
        self._listen_deadline = self.t + self.s.wake.listen_timeout_s
        self.endpointer.reset(t0=self.t)
        self._spec = self._pending = None
        events: list[VadEvent] = []
        if self.s.wake.preroll_ms > 0 and self._preroll:
            # from preroll_ms before the probability's peak: the command may follow the word at once
            keep = int((self.s.wake.preroll_ms / 1000 + det.since_peak_s) * SAMPLE_RATE)
            pre = np.concatenate(list(self._preroll))[-keep:]
            self.endpointer.reset(t0=self.t - len(pre) / SAMPLE_RATE)
            events = self.endpointer.process(pre)
        self._preroll.clear()
        if self.s.tts.feedback_sounds:
            self._play_sound("awake")
        return [r for ev in events for r in self._on_vad(ev)]  # the command may have started already

    def _idle(self) -> None:
        self._following = False
        if not self.no_wake:
            self.listening = False
            self._listen_deadline = float("inf")
        self._spec = self._pending = None

    def _on_vad(self, ev: VadEvent) -> list[dict]:
        if ev.kind == "start":
            if self.no_wake and self._wake_event is None:
                self._trace = []
            self._emit(SpeechStarted(ev.t))
            return []
        if ev.kind == "peek":  # early endpointing: decode at the first silence, to end a whole command soon
            if self.s.asr.speculative and self.is_complete is not None:
                self._speculate(ev, split=self.split_peeks)
            return []
        if ev.kind == "pause":  # decode, unless the peek already heard all there is to hear
            self._settle(ev.speech_end)
            if self.s.asr.speculative and not self.endpointer.ends_early and not self._peek_holds(ev):
                self._speculate(ev)
            return []
        if ev.kind == "resume":
            return []
        if ev.kind == "drop":
            self._spec = self._pending = None
            return []
        # end of utterance
        ended = SpeechEnded(self.busy, ev.speech_end, len(ev.audio) / SAMPLE_RATE, ev.early)
        self._emit(ended)
        result = self._finish(ev, ended)
        self._wake_event = None
        if result is not None and result.get("expects_answer"):
            self._await_answer()
        else:
            self._idle()
        return [result] if result is not None else []

    def _await_answer(self) -> None:
        """The reply asked a question ("Which room?"): keep listening for the answer, no wake word
        needed, until the reply has been spoken and listen_timeout_s more have passed."""
        self._following = True
        self.listening = True
        self._wake_event = WakeDetected(self.busy, "follow_up", 1.0)
        self._listen_deadline = self.t + self._reply_s + self.s.wake.listen_timeout_s
        self.endpointer.reset(t0=self.t)
        self._spec = self._pending = None

    def _peek_holds(self, ev: VadEvent) -> bool:
        """The peek decoded this silence (its audio padded with zeros to the pause's length) and the
        real audio since is quiet: decoding again would hear the same. A sound there (a soft final
        consonant the VAD took for silence, room noise) is decoded again."""
        if self._spec is None or abs(self._spec[0] - ev.speech_end) > 1e-6:
            return False
        since = (self.s.vad.pause_ms - self.s.vad.early_decode_ms) * SAMPLE_RATE // 1000
        audio = np.abs(ev.audio.astype(np.int32))
        return len(audio) > since and int(audio[-since:].max()) < _QUIET * int(audio.max())

    def _speculate(self, ev: VadEvent, split: bool = False) -> None:
        """Decode the utterance so far while the user may still speak on; the endpoint reuses it when
        no speech came after (``_transcribe``), and a whole command ends the turn early. ``split``:
        only the encoder now; ``feed`` runs the decoder (``_settle``) once the loop has caught up with
        the microphone and the user has not spoken on."""
        if split:
            enc, ms = self._work(lambda: self.engines.asr.encode(ev.audio))
            self._pending = (ev.speech_end, enc, ms)
            return
        res, ms = self._work(lambda: self.engines.asr.transcribe(ev.audio))
        self._spec = (ev.speech_end, res, ms)
        self._check_complete(res)

    def _settle(self, speech_end: float | None = None) -> None:
        """Finish a peek's split decode (decoder, then the completeness check); with ``speech_end``,
        only if it is that silence's (another one's is stale and dropped)."""
        pending, self._pending = self._pending, None
        if pending is None or (speech_end is not None and abs(pending[0] - speech_end) > 1e-6):
            return
        end, enc, enc_ms = pending
        res, ms = self._work(lambda: self.engines.asr.decode(enc))
        self._spec = (end, res, enc_ms + ms)
        self._check_complete(res)

    def _check_complete(self, res: AsrResult) -> None:
        """Early endpointing: if the transcript heard in this pause is a whole command, end the turn
        after vad.early_endpoint_ms of silence instead of vad.trailing_silence_ms."""
        is_complete = self.is_complete
        if is_complete is None or not self.s.vad.early_endpoint_ms:
            return
        text = strip_wake_word(res.text.strip(), self.wake.words)
        if is_noise(text) or self.engines.asr.is_noise(res):
            return
        try:
            complete, _ = self._work(lambda: is_complete(text))
        except Exception:  # a failing check must not stop listening: wait the full timeout
            _LOGGER.exception("is_complete(%r) failed", text)
            return
        if complete:
            self.endpointer.end_early()

    def _finish(self, ev: VadEvent, ended: SpeechEnded) -> dict | None:
        """One utterance heard to its end: transcribe, drop noise, understand, answer, report."""
        asr, asr_ms, speculative = self._transcribe(ev)
        text = self._keep(asr, asr_ms, speculative)
        if text is None:
            return None
        result, nlu_ms, error = self._understand(text)
        t_action = self.busy
        self._emit(IntentResult(t_action, result.get("intent"), nlu_ms))
        self._emit(ActionDone(t_action))
        self._late_ms = 0.0
        t_first_audio, tts_first_ms, tts_total_ms = self._answer(result, error)
        timings = {
            "asr": round(asr_ms, 1),
            "nlu": round(nlu_ms, 1),
            "tts_first_audio": round(tts_first_ms, 1),
            "tts_total": round(tts_total_ms, 1),
            "tts_late": round(self._late_ms, 1),  # a later chunk not ready when the one before ended
            "endpoint_delay": round((ended.t - ev.speech_end) * 1000, 1),
            "endpoint_silence": round((ev.t - ev.speech_end) * 1000, 1),  # silence waited, on the audio clock
            "end_of_speech_to_action": round((t_action - ev.speech_end) * 1000, 1),
            "end_of_speech_to_first_audio": round((t_first_audio - ev.speech_end) * 1000, 1),
        }
        return self._report(result, text, timings, speculative, ended.early, ev.speech_end, error)

    def _transcribe(self, ev: VadEvent) -> tuple[AsrResult, float, bool]:
        """The utterance's transcript: the one decoded in the last pause if the speech ended there
        (speculative), else a decode now. Returns (result, ms, speculative)."""
        self._settle(ev.speech_end)
        spec, self._spec = self._spec, None
        if spec is not None and abs(spec[0] - ev.speech_end) < 1e-6:
            return spec[1], spec[2], True
        asr, asr_ms = self._work(lambda: self.engines.asr.transcribe(ev.audio))
        return asr, asr_ms, False

    def _keep(self, asr: AsrResult, asr_ms: float, speculative: bool) -> str | None:
        """The words to act on (wake word stripped), or None for noise; "stop" silences the reply."""
        text = strip_wake_word(asr.text.strip(), self.wake.words)
        dropped = ""
        if is_noise(text):
            dropped = "hallucination"
        elif self.engines.asr.is_noise(asr):
            dropped = "no_speech"
        self._emit(Transcript(self.busy, text, asr_ms, speculative, dropped))
        if dropped:
            _LOGGER.info("Dropped transcript %r (%s)", text, dropped)
            return None
        if self.speaking and is_stop(text):
            self._barge_in("stop")
        return text

    def _understand(self, text: str) -> tuple[dict, float, str | None]:
        """understand(text) on the processing clock: (result, ms, error). A failing core answers
        "Sorry, something went wrong." and the pipeline keeps listening."""
        self._early = _EarlyReply(self.busy, self.clock())
        try:
            if self.stream_replies:
                speaking = cast(SpeakingUnderstand, self.understand)
                result, nlu_ms = self._work(lambda: as_dict(speaking(text, say=self._say_early)))
            else:
                plain = cast(Understand, self.understand)
                result, nlu_ms = self._work(lambda: as_dict(plain(text)))
            return result, nlu_ms - self._early.tts_ms, None  # speaking is not understanding
        except Exception as exc:
            _LOGGER.exception("understand(%r) failed", text)
            failed: dict[str, Any] = {
                "text": text,
                "intent": None,
                "slots": {},
                "recognizer": None,
                "response": "Sorry, something went wrong.",
                "actions": [],
                "timings_ms": {},
            }
            return failed, 0.0, str(exc)

    def _say_early(self, sentence: str) -> None:
        """``say`` for understand(): a sentence of the answer, spoken now, while understand() still
        works (the model writes the next one). On the audio clock it starts where understand() began
        plus the real time since."""
        sentence = sentence.strip()
        early = self._early
        if not sentence:
            return
        at = early.started + (self.clock() - early.t0)
        first_ms, total_ms, seconds = self._synthesise(sentence, wait=not early.said)
        if not early.said:
            early.first_audio, early.first_ms = at + first_ms / 1000, first_ms
        early.said.append(sentence)
        early.tts_ms += total_ms
        early.seconds += seconds
        self._emit(AudioOut(at + first_ms / 1000, "speech", seconds, sentence))

    def _answer(self, result: dict, error: str | None) -> tuple[float, float, float]:
        """Speak the response (or, without one, play the done/error sound). Returns (audio time of
        the first sample, TTS ms to the first audio, TTS ms in all)."""
        response = (result.get("response") or "").strip()
        early = self._early
        if early.said:  # spoken while understand() worked: only what it did not say yet
            rest = early.rest_of(response)
            total_ms, self._reply_s = early.tts_ms, early.seconds
            if rest:
                _, rest_ms, _, rest_s = self._speak(rest)
                total_ms, self._reply_s = total_ms + rest_ms, self._reply_s + rest_s
            return early.first_audio, early.first_ms, total_ms
        if response:
            t_first, first_ms, total_ms, self._reply_s = self._speak(response)
            return t_first, first_ms, total_ms
        self._reply_s = 0.0
        if self.s.tts.feedback_sounds:
            self._play_sound("error" if error or not result.get("intent") else "done")
        return self.busy, 0.0, 0.0

    def _report(
        self,
        result: dict,
        text: str,
        timings: dict[str, float],
        speculative: bool,
        early: bool,
        speech_end: float,
        error: str | None,
    ) -> dict:
        """The utterance's result: understand()'s keys, the pipeline's timings and its event trace."""
        out = dict(result)
        out["transcript"] = text
        out["core_timings_ms"] = result.get("timings_ms") or {}
        out["timings_ms"] = timings
        out["asr_speculative"] = speculative
        out["early_endpoint"] = early
        out["speech_end_s"] = round(speech_end, 3)
        out["wake_word"] = self._wake_event.word if self._wake_event else None
        if error:
            out["error"] = error
        out["trace"] = list(self._trace)
        self._trace = []
        return out

    # -- output -----------------------------------------------------------------------------
    def _play_sound(self, kind: str) -> None:
        audio = feedback_sound(kind, self.engines.tts.sample_rate)
        self._emit(AudioOut(self.busy, kind, len(audio) / self.engines.tts.sample_rate))
        if self._speaker is not None:
            self._speaker.say_audio(audio)
        else:
            self.sink.play(audio, self.engines.tts.sample_rate)

    def _speak(self, text: str) -> tuple[float, float, float, float]:
        """Synthesise `text`; returns (audio time of first audio, first ms, total ms, seconds)."""
        first_ms, total_ms, seconds = self._synthesise(text)
        # later sentences are synthesised while the first one plays: only the first blocks the loop
        self.busy += first_ms / 1000
        self._emit(AudioOut(self.busy, "speech", seconds, text))
        return self.busy, first_ms, total_ms, seconds

    def _synthesise(self, text: str, wait: bool = True) -> tuple[float, float, float]:
        """Speak `text`: live, through the speaker thread (which plays it; ``wait``: until its first
        chunk is ready), else here into the sink. Returns (ms to the first audio, ms in all, seconds
        of audio; live: 0, the speaker plays it later)."""
        tts = self.engines.tts
        t0 = self.clock()
        if self._speaker is not None:
            self._speaker.say_text(text, wait=wait)
            first_ms = (self.clock() - t0) * 1000
            return first_ms, first_ms, 0.0
        first: float | None = None
        seconds = 0.0
        for chunk in tts.stream(text):
            ready = (self.clock() - t0) * 1000
            if first is None:
                first = ready
            # played from the first chunk on without a pause: this one is due when those before end
            self._late_ms = max(self._late_ms, ready - first - seconds * 1000)
            self.sink.play(chunk, tts.sample_rate)
            seconds += len(chunk) / tts.sample_rate
        total_ms = (self.clock() - t0) * 1000
        return (first if first is not None else total_ms), total_ms, seconds

    def announce(self, text: str) -> None:
        """Chime and speak text now (live mode), e.g. an alarm ringing."""
        self._play_sound("awake")
        if self._speaker is not None:
            self._speaker.say_text(text)

    def _barge_in(self, reason: str) -> None:
        _LOGGER.info("Barge-in (%s): stopping speech", reason)
        if self._speaker is not None:
            self._speaker.stop()
        self.sink.stop()
        if self.on_barge_in is not None:
            self.on_barge_in(reason)

    def close(self) -> None:
        if self._speaker is not None:
            self._speaker.close()
        self.sink.close()


@dataclass
class _EarlyReply:
    """The sentences understand() said (``Pipeline._say_early``) before it returned, for one utterance."""

    started: float = 0.0  # audio clock when understand() began
    t0: float = 0.0  # the pipeline clock then
    said: list[str] = field(default_factory=list)
    first_audio: float = 0.0  # audio clock of the first sample
    first_ms: float = 0.0  # ms to the first chunk of the first sentence
    tts_ms: float = 0.0  # ms spent synthesising them (inside understand's time)
    seconds: float = 0.0  # audio length

    def rest_of(self, response: str) -> str:
        """What ``response`` says beyond the sentences already said: normally nothing (the response
        is those sentences joined); all of it if it is another answer (understand() failed after)."""
        spoken = " ".join(self.said)
        return response[len(spoken) :].strip() if response.startswith(spoken) else response
