"""The text core: one object that turns an utterance into an intent, runs it and says what it did.

    normalize -> recognise (tiers, first that fits wins) -> intent schema -> handler -> answer

Everything the voice pipeline, the CLI and the HTTP API do with words goes through ``ask``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from pydantic import ValidationError

from intents import fallback
from intents.completeness import ends_open
from intents.devices import answer_pending, save_pending
from intents.events import Event
from intents.normalize import normalize
from intents.recognizer import TemplateRecognizer
from intents.registry import intents
from intents.scheduler import Scheduler
from intents.schema import Context, Intent, Outcome, Refusal, SlotError
from intents.store import Store

from .config import Config
from .services import build_services, close_services, slot_lists, watch_slot_lists

log = logging.getLogger(__name__)

MAX_TEXT = 1000  # characters; a spoken request is far shorter, and longer text only costs time
TOO_LONG = f"That is too long for me. Please say it in fewer than {MAX_TEXT} characters."


@dataclass
class AskResult:
    text: str
    intent: str | None
    slots: dict[str, Any]
    recognizer: str | None
    response: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Assistant:
    def __init__(self, config: Config, *, service: bool = False):
        """``service``: this is the long-running process (``serve``/``run``), see ``build_services``."""
        self.config = config
        self.tz = config.tz
        self.store = Store(config.data_dir / "assistant.db")
        self.schemas: dict[str, type[Intent]] = intents()
        self.recognizers: list[Any] = [TemplateRecognizer(self.schemas, config.language, areas=[config.area] if config.area else [])]
        if config.learned.enabled:  # tier "learned": phrasing no template foresaw
            from intents.learned import LearnedRecognizer

            self.recognizers.append(LearnedRecognizer(self.schemas, config.learned.model, config.learned.threshold))
        if config.llm.url:  # tier "llm": asked only when the templates find nothing
            from .llm import LlmRecognizer

            self.recognizers.append(LlmRecognizer(self.schemas, config.llm))
        self.scheduler = Scheduler(self.store, config.intents)
        self.services: dict[str, Any] = build_services(config, service=service)
        self.services["understands"] = self.understands
        self.listeners: list[Callable[[Event], None]] = []
        self.ask_listeners: list[Callable[[AskResult], None]] = []  # e.g. the HA publisher
        self._lock = threading.RLock()
        self._lists_stale = False
        self._refresh_guard = threading.Lock()
        self._refresh_timer: threading.Timer | None = None
        self._refresh_lists()
        watch_slot_lists(self.services, self._lists_changed)

    def _lists_changed(self) -> None:
        """A device was discovered, renamed or removed: refresh the slot lists a moment later, or before
        the next request if that comes first (a burst of 10 000 discovery configs costs one refresh,
        not 10 000)."""
        self._lists_stale = True
        with self._refresh_guard:
            if self._refresh_timer is None:
                self._refresh_timer = threading.Timer(0.2, self._refresh_later)
                self._refresh_timer.daemon = True
                self._refresh_timer.start()

    def _refresh_later(self) -> None:
        with self._refresh_guard:
            self._refresh_timer = None
        with self._lock:
            if self._lists_stale:
                self._refresh_lists()

    def _refresh_lists(self) -> None:
        """Device names and areas from the services into the template recogniser's slot lists."""
        self._lists_stale = False
        lists = slot_lists(self.services)
        lists.setdefault("area", []).extend([self.config.area] if self.config.area else [])
        for name, values in lists.items():
            items = [(normalize(v[0]), *v[1:]) if isinstance(v, tuple) else (normalize(v), v) for v in values]
            for recognizer in self.recognizers:
                recognizer.set_list(name, [i for i in items if i[0]])

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)

    def localize(self, moment: dt.datetime) -> dt.datetime:
        """A --now value: naive means the configured zone; aware is converted to it."""
        return moment.replace(tzinfo=self.tz) if moment.tzinfo is None else moment.astimezone(self.tz)

    def understands(self, text: str) -> bool:
        """Would ``text`` do something (not just answer)? Checked with a dry run."""
        # _ask, not ask: a check is not a request, so the ask listeners (e.g. HA's "last transcript") don't hear it
        return bool(self._ask(text, now=None, dry_run=True, area=None).actions)

    def vocabulary(self) -> list[str]:
        """Names a speech recogniser should expect: devices (and aliases), areas, players, radio
        stations; for Whisper's hotwords (``Transcriber.set_vocabulary``)."""
        words: list[str] = []
        for values in slot_lists(self.services).values():
            words += [v[0] if isinstance(v, tuple) else v for v in values]
        media = self.config.media
        words += [p.name for p in media.players] + list(media.radio_stations)
        words += [self.config.area] if self.config.area else []
        return list(dict.fromkeys(w for w in words if isinstance(w, str) and w.strip()))

    def is_complete(self, text: str) -> bool:
        """Is ``text`` (a transcript heard in a pause) a whole command, so the voice pipeline may end
        the turn early? Yes when it does not stop on a word that usually goes on ("for", "the",
        "and", ...), and a confident tier (``confident = True``: the templates; a learned tier above
        its threshold may join) finds an intent whose schema takes the slots and needs nothing more.
        Runs no handler and changes nothing."""
        if ends_open(text):
            return False
        normalized = normalize(text)
        ctx = Context(now=self.now(), store=self.store, settings=self.config.intents, dry_run=True,
                      area=self.config.area, services=self.services)
        with self._lock:
            for recognizer in self.recognizers:
                if getattr(recognizer, "confident", False):
                    intent = self._first_fitting(recognizer, normalized, ctx)
                    if intent is not None:
                        return not intent.needs_more()
        return False

    def tick(self, now: dt.datetime | None = None) -> list[Event]:
        """Fire what fell due; run delayed commands; tell the listeners."""
        with self._lock:
            events = self.scheduler.tick(now or self.now())
        for event in events:
            command = getattr(event, "command", None)
            if command:
                result = self.ask(command, now=now)
                log.info("delayed command %r: %s", command, result.response)
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception:  # a broken listener must not stop alarms
                    log.exception("event listener failed on %s", event)
        return events

    def ask(
        self,
        text: str,
        *,
        now: dt.datetime | None = None,
        dry_run: bool = False,
        area: str | None = None,
    ) -> AskResult:
        result = self._ask(text, now=now, dry_run=dry_run, area=area)
        for listener in self.ask_listeners:
            try:
                listener(result)
            except Exception:
                log.exception("ask listener failed")
        return result

    def _ask(self, text: str, *, now: dt.datetime | None, dry_run: bool, area: str | None) -> AskResult:
        started = time.perf_counter()
        moment = self.localize(now) if now else self.now()
        ctx = Context(
            now=moment,
            store=self.store,
            settings=self.config.intents,
            dry_run=dry_run,
            area=area or self.config.area,
            services=self.services,
        )
        if not isinstance(text, str):
            text = str(text)
        if len(text) > MAX_TEXT:
            return AskResult(text[:MAX_TEXT], None, {}, None, TOO_LONG, [], {"total": _ms(started)})
        timings: dict[str, float] = {}
        intent_name: str | None = None
        recognizer_name: str | None = None
        # The one place where a request's typed errors become an answer: whatever one request does
        # wrong (a slot no handler expected, a number too big for a date), it gets one sentence and
        # the process, and every later request, carries on.
        try:
            with self._lock:
                if self._lists_stale:
                    self._refresh_lists()
                reply = answer_pending(text, ctx)  # "yes" / "no" to "Are you sure?", "the second one"
                if reply is not None:
                    return AskResult(text, "Confirm", reply.slots or {}, "confirmation", reply.response,
                                     reply.actions, {"total": _ms(started)})
                normalized = normalize(text)
                timings["normalize"] = _ms(started)
                for recognizer in self.recognizers:
                    t0 = time.perf_counter()
                    found = self._first_fitting(recognizer, normalized, ctx)
                    timings[recognizer.name] = _ms(t0)
                    if isinstance(found, Refusal):  # understood, and cannot be done as said
                        timings["total"] = _ms(started)
                        return AskResult(text, found.intent, {}, recognizer.name, str(found), [], timings)
                    if found:
                        intent, intent_name, recognizer_name = found, found.intent, recognizer.name
                        t0 = time.perf_counter()
                        outcome = self._confirm_bulk(intent, recognizer, ctx) or intent.handle(ctx)
                        timings["handle"] = _ms(t0)
                        timings["total"] = _ms(started)
                        return AskResult(
                            text, intent.intent, outcome.slots or intent.slots(), recognizer.name,
                            outcome.response, outcome.actions, timings,
                        )
        except Refusal as exc:
            response = str(exc)
        except (ValueError, ArithmeticError, LookupError, TypeError) as exc:
            log.warning("request %r failed in %s: %s: %s", text[:200], intent_name or "recognition",
                        type(exc).__name__, exc)
            response = "Sorry, I could not do that: " + _sentence(exc)
        except Exception as exc:  # noqa: BLE001 - a bug must cost one answer, never the process
            log.exception("request %r failed in %s", text[:200], intent_name or "recognition")
            response = f"Sorry, something went wrong with that request ({type(exc).__name__}); nothing more was done."
        else:
            timings["total"] = _ms(started)
            return AskResult(text, None, {}, None, fallback.answer(normalized, text), [], timings)
        timings["total"] = _ms(started)
        return AskResult(text, intent_name, {}, recognizer_name, response, [], timings)

    def _confirm_bulk(self, intent: Intent, recognizer: Any, ctx: Context) -> Outcome | None:
        """The LLM chose an intent that removes several things at once: ask first (the answer is read
        by ``answer_pending``, as for a door lock). None: go ahead."""
        if not (getattr(recognizer, "gives_tool_args", False) and intent.bulk_destructive) or ctx.dry_run:
            return None
        planned = intent.handle(replace(ctx, dry_run=True)).actions
        if len(planned) < 2:
            return None
        kinds = {str(a.get("type", "")).split("_")[0] for a in planned}
        what = f"cancel {len(planned)} {kinds.pop() + 's' if len(kinds) == 1 else 'items'}"
        save_pending(ctx, {"intent": intent.intent, "slots": intent.model_dump(mode="json"), "say": what})
        return Outcome(f"Are you sure you want to {what}?",
                       [{"type": "confirmation_required", "intent": intent.intent, "count": len(planned), "sent": False}])

    def _first_fitting(self, recognizer: Any, normalized: str, ctx: Context) -> Intent | Refusal | None:
        """The first candidate its schema accepts; else the first refusal (with its reason); else None."""
        tool_args = getattr(recognizer, "gives_tool_args", False)  # the LLM tier's typed arguments
        refusal: Refusal | None = None
        for candidate in recognizer.candidates(normalized, {"area": ctx.area} if ctx.area else None):
            schema = candidate.schema or self.schemas[candidate.intent]
            try:
                if tool_args:
                    return schema.from_tool_args(dict(candidate.slots), ctx)
                return schema.from_slots(dict(candidate.slots), normalized, ctx)
            except Refusal as exc:
                if refusal is None:
                    refusal = exc
                    refusal.intent = candidate.intent  # type: ignore[attr-defined]
            except (SlotError, ValidationError, ValueError, ArithmeticError) as exc:
                (log.warning if tool_args else log.debug)(
                    "%s rejected %s %s: %s", recognizer.name, candidate.intent, str(candidate.slots)[:300],
                    " ".join(str(exc).split())[:300])
        return refusal

    def close(self) -> None:
        with self._refresh_guard:
            if self._refresh_timer is not None:
                self._refresh_timer.cancel()
        close_services({k: v for k, v in self.services.items() if k != "understands"})
        self.store.close()


def _sentence(exc: BaseException) -> str:
    """An exception's message as the end of a spoken sentence (short, one line, a full stop)."""
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return text if text.endswith((".", "?", "!")) else text + "."


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)

