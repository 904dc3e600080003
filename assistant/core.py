"""The text core: one object that turns an utterance into an intent, runs it and says what it did.

    normalize -> recognise (tiers, first that fits wins) -> intent schema -> handler -> answer

Everything the voice pipeline, the CLI and the HTTP API do with words goes through ``ask``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from pydantic import ValidationError

from intents import fallback
from intents.devices import answer_pending
from intents.events import Event
from intents.normalize import normalize
from intents.recognizer import TemplateRecognizer
from intents.registry import intents
from intents.scheduler import Scheduler
from intents.schema import Context, Intent, SlotError
from intents.store import Store

from .config import Config
from .services import build_services, close_services, slot_lists, watch_slot_lists

log = logging.getLogger(__name__)


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
        self._refresh_lists()
        watch_slot_lists(self.services, self._refresh_lists)

    def _refresh_lists(self) -> None:
        """Device names and areas from the services into the template recogniser's slot lists."""
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
        with self._lock:
            reply = answer_pending(text, ctx)  # "yes" / "no" to "Are you sure?"
            if reply is not None:
                return AskResult(text, "Confirm", reply.slots or {}, "confirmation", reply.response, reply.actions,
                                 {"total": _ms(started)})
            normalized = normalize(text)
            timings: dict[str, float] = {"normalize": _ms(started)}
            for recognizer in self.recognizers:
                t0 = time.perf_counter()
                found = self._first_fitting(recognizer, normalized, ctx)
                timings[recognizer.name] = _ms(t0)
                if found:
                    intent = found
                    t0 = time.perf_counter()
                    outcome = intent.handle(ctx)
                    timings["handle"] = _ms(t0)
                    timings["total"] = _ms(started)
                    return AskResult(
                        text, intent.intent, outcome.slots or intent.slots(), recognizer.name,
                        outcome.response, outcome.actions, timings,
                    )
        timings["total"] = _ms(started)
        return AskResult(text, None, {}, None, fallback.answer(normalized, text), [], timings)

    def _first_fitting(self, recognizer: Any, normalized: str, ctx: Context) -> Intent | None:
        tool_args = getattr(recognizer, "gives_tool_args", False)  # the LLM tier's typed arguments
        for candidate in recognizer.candidates(normalized, {"area": ctx.area} if ctx.area else None):
            schema = candidate.schema or self.schemas[candidate.intent]
            try:
                if tool_args:
                    return schema.from_tool_args(dict(candidate.slots), ctx)
                return schema.from_slots(dict(candidate.slots), normalized, ctx)
            except (SlotError, ValidationError, ValueError) as exc:
                (log.warning if tool_args else log.debug)(
                    "%s rejected %s %s: %s", recognizer.name, candidate.intent, candidate.slots,
                    " ".join(str(exc).split()))
        return None

    def close(self) -> None:
        close_services({k: v for k, v in self.services.items() if k != "understands"})
        self.store.close()


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)

