"""The text core: one object that turns an utterance into an intent, runs it and says what it did.

    normalize -> answer a pending question? -> recognise (tiers, first that fits wins; the previous
    turn's context; compound splits; the LLM behind a scope gate) -> intent schema -> handler -> answer

A conversation (an id; the box's own by default) keeps recent turns and the question asked back
(``intents.conversation``) in the data dir.

Everything the voice pipeline, the CLI and the HTTP API do with words goes through ``ask``.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from intents import delayed, fallback
from intents.completeness import ends_open
from intents.compound import splits
from intents.conversation import DEFAULT_ID, Conversations, Question, Turn
from intents.events import Event, TimerFinished
from intents.followup import adjust, rephrase
from intents.normalize import normalize
from intents.pending import answer
from intents.preferences import Preferences
from intents.recognizer import Candidate, Recognizer, TemplateRecognizer
from intents.registry import intents
from intents.scheduler import Scheduler
from intents.schema import Context, Intent, Outcome, Refusal, SlotError
from intents.scope import IntentRanker, KeywordGate, ScopeGate
from intents.services import Services
from intents.store import Store

from .config import Config
from .services import build_services

if TYPE_CHECKING:
    from devices.hub import DeviceHub

    from .llm import LlmRecognizer

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
    conversation_id: str = DEFAULT_ID
    expects_answer: bool = False  # a question was asked back: listen for the answer without the wake word

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


GC_YOUNG = 10_000  # container allocations between two young collections (Python's default: 700)


def settle_memory() -> None:
    """Call once the Assistant is built: what start-up made (parsed templates, models, thousands of
    discovered entities) lives as long as the process, so the garbage collector stops walking it
    (``gc.freeze``). Otherwise a full collection, every few hundred requests, walked ~160 000 objects
    (~100-200 ms) inside whichever request happened to trigger it. And young objects are collected
    every ``GC_YOUNG`` allocations, not 700: a request's objects are freed by their reference counts
    (cycles are rare), so at 700 the collector ran ~1 200 times in 1 500 fuzzed requests, 1.3 s of CPU
    and up to 22 ms inside one request; at 10 000, 6 times (0.02 s, at most 7 ms), the memory the same."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


class Assistant:
    def __init__(self, config: Config, *, service: bool = False):
        """``service``: this is the long-running process (``serve``/``run``), see ``build_services``."""
        self.config = config
        self.service = service
        self.tz = config.tz
        self.store = Store(config.data_dir / "assistant.db")
        self.schemas: dict[str, type[Intent]] = intents()
        self.recognizers: list[Recognizer] = [
            TemplateRecognizer(self.schemas, config.language, areas=[config.area] if config.area else [])
        ]
        learned = None
        if config.learned.enabled:  # tier "learned": phrasing no template foresaw
            from intents.learned import LearnedRecognizer

            learned = LearnedRecognizer(self.schemas, config.learned.model, config.learned.threshold)
            self.recognizers.append(learned)
        if config.llm.url:  # tier "llm": asked only when the templates find nothing
            from .llm import LlmRecognizer

            self.recognizers.append(LlmRecognizer(self.schemas, config.llm))
        self.conversations = Conversations(config.data_dir / "conversations.db")
        self.preferences = Preferences(config.data_dir / "preferences.db")
        # The LLM tier's tool calls run only for requests the gate finds in scope: the learned tier's
        # score (1 - P(none)) when that tier is on, else the template-vocabulary keyword gate.
        self.gate: ScopeGate = learned or KeywordGate.from_templates(self.schemas, config.language)
        self.gate_threshold = config.llm.scope_threshold
        self.scheduler = Scheduler(self.store, config.intents)
        self.services: Services = build_services(config, service=service)
        self.services.preferences = self.preferences
        self.listeners: list[Callable[[Event], None]] = []
        self.ask_listeners: list[Callable[[AskResult], None]] = []  # e.g. the HA publisher
        self._lock = threading.RLock()
        self._lists_stale = False
        self._refresh_guard = threading.Lock()
        self._refresh_timer: threading.Timer | None = None
        self._refresh_lists()
        self.services.watch_slot_lists(self._lists_changed)

    def use_devices(self, hub: DeviceHub) -> None:
        """Act on this device hub from now on (a test's or a bench's fixture home): its names and areas
        become the slot lists, and they follow its changes."""
        self.services.devices = hub
        self._refresh_lists()
        hub.watch_slot_lists(self._lists_changed)

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
        lists = self.services.slot_lists()
        lists.setdefault("area", []).extend([self.config.area] if self.config.area else [])
        for name, values in lists.items():
            items = [(normalize(v[0]), *v[1:]) if isinstance(v, tuple) else (normalize(v), v) for v in values]
            for recognizer in dict.fromkeys([*self.recognizers, self.gate]):
                if hasattr(recognizer, "set_list"):
                    recognizer.set_list(name, [i for i in items if i[0]])

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)

    def localize(self, moment: dt.datetime) -> dt.datetime:
        """A --now value: naive means the configured zone; aware is converted to it."""
        return moment.replace(tzinfo=self.tz) if moment.tzinfo is None else moment.astimezone(self.tz)

    def plan(self, text: str, *, now: dt.datetime | None = None, area: str | None = None) -> delayed.Plan:
        """What ``text`` would do if said now: a dry run through the local tiers (templates, learned; not
        the LLM, whose reading may differ when a delayed command is carried out)."""
        # _ask, not ask: a check is not a request, so the ask listeners (e.g. HA's "last transcript") don't hear it
        r = self._ask(text, now=now, dry_run=True, area=area, conversation="__check__", llm=False)
        names = [p["intent"] for p in r.slots.get("parts", [])] if r.intent == "Compound" else [r.intent]
        kinds = [self.schemas.get(n) for n in names if n]
        return delayed.Plan(
            [n for n in names if n],
            bool(kinds) and all(k is not None and k.delayable for k in kinds),
            r.response,
            r.actions,
            r.expects_answer,
        )

    def reply_heads(self) -> list[str]:
        """Fixed openings and whole fixed answers of the intents (``Intent.reply_heads``), for the
        voice to keep synthesised (``Tts.keep``)."""
        from intents.replies import reply_heads

        return reply_heads()

    def vocabulary(self) -> list[str]:
        """Names a speech recogniser should expect: devices (and aliases), areas, players, radio
        stations; for Whisper's hotwords (``Transcriber.set_vocabulary``)."""
        words: list[str] = []
        for values in self.services.slot_lists().values():
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
        ctx = Context(
            now=self.now(),
            store=self.store,
            settings=self.config.intents,
            dry_run=True,
            area=self.config.area,
            services=self.services,
            plan=self.plan,
            service=self.service,
        )
        with self._lock:
            for recognizer in self.recognizers:
                if getattr(recognizer, "confident", False):
                    intent = self._fitting(recognizer, normalized, ctx)
                    if intent is not None:
                        return not intent.needs_more()
        return False

    def tick(self, now: dt.datetime | None = None) -> list[Event]:
        """Fire what fell due; run delayed commands; tell the listeners."""
        with self._lock:
            events = self.scheduler.tick(now or self.now())
        for event in events:
            if getattr(event, "command", None):
                self._carry_out(cast("TimerFinished", event), now)
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception:  # a broken listener must not stop alarms
                    log.exception("event listener failed on %s", event)
        return events

    def _carry_out(self, event: TimerFinished, now: dt.datetime | None) -> None:
        """A delayed command fell due: run it as if said now, where it was said. Not when it is far past
        its time (the service was down), nor when it would ask anything (nobody asked it to answer)."""
        command = event.command or ""
        if event.late_s > delayed.MAX_LATE_S:
            log.warning(
                "delayed command %r not carried out: it was due %.0f min ago and is too late now",
                command,
                event.late_s / 60,
            )
            return
        result = self.ask(command, now=now, area=event.area, conversation=delayed.CONVERSATION)
        if result.expects_answer:
            self.conversations.drop_question(delayed.CONVERSATION)
            log.warning("delayed command %r not carried out: %s", command, result.response)
        else:
            log.info("delayed command %r: %s", command, result.response)

    def ask(
        self,
        text: str,
        *,
        now: dt.datetime | None = None,
        dry_run: bool = False,
        area: str | None = None,
        conversation: str | None = None,
        on_sentence: Callable[[str], None] | None = None,
    ) -> AskResult:
        """Understand and carry out ``text``. ``on_sentence`` (a voice pipeline's speaker) gets each
        sentence of the LLM's streamed final answer (``llm.final_answer``) as soon as it is written,
        before ``ask`` returns; the result's ``response`` is then those sentences joined."""
        result = self._ask(
            text, now=now, dry_run=dry_run, area=area, conversation=conversation, on_sentence=on_sentence
        )
        for listener in self.ask_listeners:
            try:
                listener(result)
            except Exception:
                log.exception("ask listener failed")
        return result

    def _ask(
        self,
        text: str,
        *,
        now: dt.datetime | None,
        dry_run: bool,
        area: str | None,
        conversation: str | None = None,
        on_sentence: Callable[[str], None] | None = None,
        llm: bool = True,
    ) -> AskResult:
        """An answer to a question asked back, else: a device command said with a time (stored for
        later), templates, then the previous turn's context ("make it brighter"), then a compound split,
        then the LLM (unless not ``llm``); the turn is kept (not in a dry run)."""
        started = time.perf_counter()
        cid = conversation or DEFAULT_ID
        moment = self.localize(now) if now else self.now()
        if not isinstance(text, str):
            text = str(text)
        if len(text) > MAX_TEXT:
            if not dry_run:  # no answer to a question asked: like any other request, it drops it
                self.conversations.drop_question(cid)
            return AskResult(text[:MAX_TEXT], None, {}, None, TOO_LONG, [], {"total": _ms(started)}, cid)
        timings: dict[str, float] = {}
        # The one place where a request's typed errors become an answer: whatever one request does
        # wrong (a slot no handler expected, a number too big for a date), it gets one sentence and
        # the process, and every later request, carries on.
        with self._lock:
            try:
                if self._lists_stale:
                    self._refresh_lists()
                normalized = normalize(text)
                ctx = Context(
                    now=moment,
                    store=self.store,
                    settings=self.config.intents,
                    dry_run=dry_run,
                    area=area or self.config.area,
                    services=self.services,
                    text=normalized,
                    plan=functools.lru_cache(maxsize=4)(lambda c: self.plan(c, now=moment, area=area)),
                    service=self.service,
                )
                timings["normalize"] = _ms(started)
                done = (
                    self._answer(cid, text, ctx)
                    or self._later(normalized, ctx)
                    or self._compound(text, ctx, timings)
                    or self._understand(cid, normalized, ctx, timings, on_sentence, llm)
                )
            except Refusal as exc:  # understood, and cannot be done as said
                done = _failed(text, exc.intent, exc.recognizer, str(exc))
            except (ValueError, ArithmeticError, LookupError, TypeError) as exc:
                log.warning("request %r failed: %s: %s", text[:200], type(exc).__name__, exc)
                done = _failed(text, None, None, "Sorry, I could not do that: " + _sentence(exc))
            except Exception as exc:  # noqa: BLE001 - a bug must cost one answer, never the process
                log.exception("request %r failed", text[:200])
                done = _failed(
                    text,
                    None,
                    None,
                    f"Sorry, something went wrong with that request "
                    f"({type(exc).__name__}); nothing more was done.",
                )
            if done is None:
                result = AskResult(text, None, {}, None, fallback.answer(normalized, text), [], timings)
            else:
                result = AskResult(
                    text,
                    done.intent,
                    done.slots,
                    done.recognizer,
                    done.outcome.response,
                    done.outcome.actions,
                    timings,
                )
                result.expects_answer = done.outcome.question is not None
            result.conversation_id = cid
            if not dry_run:
                if done is not None and done.outcome.question is not None:
                    self.conversations.ask(cid, done.outcome.question)
                for turn in done.turns if done is not None else [Turn(text, None, {}, result.response)]:
                    self.conversations.add(cid, turn)
        timings["total"] = _ms(started)
        return result

    def _answer(self, cid: str, text: str, ctx: Context) -> _Done | None:
        """The reply to the question this conversation is waiting on, if ``text`` answers it."""
        question = self.conversations.question(cid)
        if question is None:
            return None
        if not ctx.dry_run:
            self.conversations.drop_question(cid)  # answered, or dropped by another request
        found: list[_Done] = []

        def understand(request: str) -> Outcome | None:
            # a bare answer filled into a request: the templates only, as the learned tier would find
            # an intent in any noise once "set an alarm for" stands before it
            done = self._run_tiers(normalize(request), ctx, {}, llm=False, confident_only=True)
            if done is not None:
                found.append(done)
            return done.outcome if done is not None else None

        outcome = answer(question, text, ctx, understand)
        if outcome is None:
            return None
        if found and found[-1].outcome is outcome:
            return found[-1]
        kind = "Confirm" if question.kind == "confirm" or outcome.slots == {"answer": "no"} else "Answer"
        return _Done(
            kind,
            outcome.slots or {},
            "conversation",
            outcome,
            [Turn(text, kind, outcome.slots or {}, outcome.response, outcome.actions)],
        )

    def _understand(
        self,
        cid: str,
        normalized: str,
        ctx: Context,
        timings: dict[str, float],
        on_sentence: Callable[[str], None] | None = None,
        llm: bool = True,
    ) -> _Done | None:
        history = self.conversations.history(cid)
        template = self.recognizers[0]
        for request, subject in rephrase(normalized, history):  # "make it brighter": the lamp just turned on
            intent = self._fitting(template, request, ctx)
            said = {
                str(v).lower() for k, v in (intent.slots() if intent else {}).items() if k in ("name", "area")
            }
            if intent is not None and said & subject:  # "it" became what the request acts on
                return _combine([(request, intent, intent.run(ctx))], f"{template.name}+context")
        done = self._run_tiers(normalized, ctx, timings, llm=False)
        if done is not None:
            return done
        adjusted = adjust(normalized, history, ctx)  # "make it 10"
        if isinstance(adjusted, Outcome):  # the turn keeps the previous one's intent: "make it 15" works next
            last = history[-1]
            return _Done(
                last.intent or "Adjust",
                adjusted.slots or last.slots,
                "conversation",
                adjusted,
                [Turn(normalized, last.intent, last.slots, adjusted.response, last.actions)],
            )
        if adjusted:
            done = self._run_tiers(adjusted, ctx, timings, llm=False)
            if done is not None:
                done.recognizer = f"{done.recognizer}+context"
                return done
        if not llm:
            return None
        return self._run_tiers(normalized, ctx, timings, llm=True, history=history, on_sentence=on_sentence)

    def _later(self, normalized: str, ctx: Context) -> _Done | None:
        """ "Turn off the kitchen light in 10 minutes": a device command said with a time is stored and
        carried out when due (``intents.delayed``); anything else said with a time goes on as usual."""
        intent = self._later_intent(normalized, ctx)
        if intent is None:
            return None
        return _combine([(normalized, intent, intent.run(ctx))], "template+later")

    def _later_intent(self, normalized: str, ctx: Context) -> Intent | None:
        """The timer that carries a device command said with a time, or None when there is none; raises
        ``Refusal`` for one that cannot be done later (with the reason)."""
        found = delayed.split(normalized)
        if found is None:
            return None
        command, when = found
        refused: Refusal | None = None
        try:
            at = delayed.due(when, ctx.now)
        except Refusal as exc:  # "at 25:99", "today at 7 am" at 9 pm: said of a device command, the answer
            at, refused = ctx.now, exc
        except SlotError:
            return None
        plan = ctx.plan(command) if ctx.plan is not None else None
        if plan is None or not plan.delayable:  # "set an alarm at 7 am": not a device command
            return None
        if refused is not None:
            raise refused
        seconds = max(1, round((at - ctx.now).total_seconds()))
        timer = self.schemas["HassStartTimer"]
        slots = {"seconds": seconds, "conversation_command": command}
        return timer.from_slots(slots, normalized, ctx)  # its check refuses what cannot wait

    def _compound(self, text: str, ctx: Context, timings: dict[str, float]) -> _Done | None:
        """ "Turn off the lights and lock the door": taken only when every part is understood alone."""
        template = self.recognizers[0]
        t0 = time.perf_counter()
        for parts in splits(text):
            timings["compound"] = 0.0
            parts = [normalize(p) for p in parts]
            found: dict[int, Intent] = {}
            refused: dict[int, Refusal] = {}
            # the shortest part first: most splits fail on a part that is no request ("... and 0
            # seconds"), and a short text is the quickest to try
            for i in sorted(range(len(parts)), key=lambda i: len(parts[i])):
                try:
                    intent = (
                        (self._later_intent(parts[i], ctx) or self._fitting(template, parts[i], ctx))
                        if parts[i]
                        else None
                    )
                except Refusal as exc:  # said (the first part's) only if every other part is understood
                    refused[i] = exc
                    continue
                if intent is None:
                    break
                found[i] = intent
            else:
                if refused:
                    raise refused[min(refused)]
            if len(found) == len(parts):
                intents = [found[i] for i in range(len(parts))]
                timings["compound"] = _ms(t0)
                outcomes = [
                    (part, intent, intent.run(ctx)) for part, intent in zip(parts, intents, strict=True)
                ]
                return _combine(outcomes, f"{template.name}+compound")
        if "compound" in timings:
            timings["compound"] = _ms(t0)
        return None

    def _run_tiers(
        self,
        normalized: str,
        ctx: Context,
        timings: dict[str, float],
        *,
        llm: bool,
        history: list[Turn] | None = None,
        on_sentence: Callable[[str], None] | None = None,
        confident_only: bool = False,
    ) -> _Done | None:
        """The local tiers (templates, learned), or (``llm``) the tool-calling tiers behind the scope
        gate (their final answer's sentences go to ``on_sentence`` as they come); ``confident_only``:
        only tiers whose match is sure (``confident``: the templates)."""
        for recognizer in self.recognizers:
            tool_args = getattr(recognizer, "gives_tool_args", False)
            if tool_args != llm or (confident_only and not getattr(recognizer, "confident", False)):
                continue
            if tool_args and not self.gate.in_scope(normalized) >= self.gate_threshold:
                timings[f"{recognizer.name}_gated"] = 0.0
                log.info("%s tier not asked: %r is out of scope", recognizer.name, normalized)
                continue
            t0 = time.perf_counter()
            if tool_args:
                found = self._all_fitting(recognizer, normalized, ctx, history or [])
            else:
                one = self._first_fitting(recognizer, normalized, ctx)
                if isinstance(one, Refusal):  # understood, and cannot be done as said
                    raise one
                found = [one] if one else []
            timings[recognizer.name] = _ms(t0)
            if found:
                t0 = time.perf_counter()
                outcomes = [
                    (
                        normalized,
                        intent,
                        (tool_args and self._confirm_bulk(intent, ctx)) or intent.run(ctx),
                    )
                    for intent in found
                ]
                timings["handle"] = _ms(t0)
                done = _combine(outcomes, recognizer.name)
                if tool_args and self.config.llm.final_answer and done.outcome.question is None:
                    said = cast("LlmRecognizer", recognizer).final_answer(
                        [(i.intent, i.slots(), o.response) for _, i, o in outcomes],
                        self.config.llm.timeout_s,
                        on_sentence,
                    )
                    done.outcome.response = said or done.outcome.response
                return done
        return None

    def _confirm_bulk(self, intent: Intent, ctx: Context) -> Outcome | None:
        """The LLM chose an intent that removes several things at once: ask "Are you sure?" first (a
        ``confirm`` question; "yes" runs the intent, see ``intents.pending``). None: go ahead."""
        if not intent.bulk_destructive or ctx.dry_run:
            return None
        planned = intent.run(replace(ctx, dry_run=True)).actions
        if len(planned) < 2:
            return None
        kinds = {str(a.get("type", "")).split("_")[0] for a in planned}
        what = f"cancel {len(planned)} {kinds.pop() + 's' if len(kinds) == 1 else 'items'}"
        say = f"Are you sure you want to {what}?"
        return Outcome(
            say,
            [
                {
                    "type": "confirmation_required",
                    "intent": intent.intent,
                    "count": len(planned),
                    "sent": False,
                }
            ],
            question=Question(
                say,
                "confirm",
                "intent.run",
                {"intent": intent.intent, "slots": intent.model_dump(mode="json")},
                declined=f"Okay, I won't {what}.",
            ),
        )

    def _first_fitting(
        self, recognizer: Recognizer, normalized: str, ctx: Context
    ) -> Intent | Refusal | None:
        """The first candidate its schema accepts; else the first refusal (with its reason); else None."""
        refusal: Refusal | None = None
        not_now = delayed.not_now(normalized)
        for candidate in recognizer.candidates(normalized, {"area": ctx.area} if ctx.area else None):
            schema = candidate.schema or self.schemas[candidate.intent]
            try:
                intent = schema.from_slots(dict(candidate.slots), normalized, ctx)
                if not_now and schema.delayable:  # a device command said with a time is never done now
                    raise Refusal(not_now)
                return intent
            except Refusal as exc:
                refusal = refusal or _tagged(exc, candidate, recognizer)
            except (SlotError, ValidationError, ValueError, ArithmeticError) as exc:
                _rejected(logging.DEBUG, recognizer, candidate, exc)
        return refusal

    def _fitting(self, recognizer: Recognizer, normalized: str, ctx: Context) -> Intent | None:
        """``_first_fitting`` where a refusal only means "not this" (a compound's part, a rephrasing)."""
        found = self._first_fitting(recognizer, normalized, ctx)
        return None if isinstance(found, Refusal) else found

    def _all_fitting(
        self, recognizer: Recognizer, normalized: str, ctx: Context, history: list[Turn]
    ) -> list[Intent]:
        """Every valid tool call of one LLM turn ("turn off the lights and lock the door": two)."""
        context: dict[str, Any] = {
            "history": [(t.text, t.response) for t in history],
            "preferences": self.preferences.all(),
            "now": ctx.now,
        }
        if ctx.area:
            context["area"] = ctx.area
        if isinstance(self.gate, IntentRanker):  # for llm.tools_top_k: the likeliest intents' tools
            context["intent_scores"] = self.gate.intent_scores(normalized)
        hub = self.services.devices
        if hub is not None:
            context["entities"] = [
                {
                    "name": e.name,
                    "aliases": e.aliases,
                    "area": e.area,
                    "domain": e.component,
                    "state": e.state,
                }
                for e in hub.registry.exposed()
            ]
        out: list[Intent] = []
        refusal: Refusal | None = None
        not_now = delayed.not_now(normalized)
        for candidate in recognizer.candidates(normalized, context):
            schema = getattr(candidate, "schema", None) or self.schemas.get(candidate.intent)
            if schema is None:
                continue
            try:
                args = schema.lenient_tool_args(dict(candidate.slots), ctx)  # "today", "five", ""
                schema.check_said(args, normalized)  # no invented list items, messages, searches
                intent = schema.from_tool_args(args, ctx, normalized)
                if not_now and schema.delayable:  # a device command said with a time is never done now
                    raise Refusal(not_now)
                out.append(intent)
            except Refusal as exc:
                refusal = refusal or _tagged(exc, candidate, recognizer)
            except (SlotError, ValidationError, ValueError, ArithmeticError) as exc:
                _rejected(logging.WARNING, recognizer, candidate, exc)
        if not out and refusal is not None:
            raise refusal  # understood, and cannot be done as said: its reason is the answer
        return out

    def device_problems(self) -> list[str]:
        """Why the device list may be wrong (broker unreachable, discovery incomplete, a refused
        token): the ``warnings`` of ``ask --json`` and ``POST /api/ask``."""
        hub = self.services.devices
        return list(hub.errors) if hub is not None else []

    def close(self) -> None:
        with self._refresh_guard:
            if self._refresh_timer is not None:
                self._refresh_timer.cancel()
        self.services.close()  # the preferences too
        self.store.close()
        self.conversations.close()


@dataclass
class _Done:
    """What understanding one utterance came to: the intent(s) run and their combined outcome."""

    intent: str | None
    slots: dict[str, Any]
    recognizer: str | None
    outcome: Outcome
    turns: list[Turn]


def _combine(outcomes: list[tuple[str, Intent, Outcome]], recognizer: str) -> _Done:
    """One answer for one or more intents run: the sentences joined, the actions in order, the
    last question asked (a compound's risky part is still confirmed)."""
    first = outcomes[0][1]
    question = next((o.question for _, _, o in reversed(outcomes) if o.question is not None), None)
    outcome = Outcome(
        " ".join(o.response for _, _, o in outcomes),
        [a for _, _, o in outcomes for a in o.actions],
        question=question,
    )
    slots = outcomes[0][2].slots or first.slots()
    if len(outcomes) > 1:
        slots = {"parts": [{"intent": i.intent, "slots": o.slots or i.slots()} for _, i, o in outcomes]}
    turns = [Turn(text, i.intent, o.slots or i.slots(), o.response, o.actions) for text, i, o in outcomes]
    return _Done(first.intent if len(outcomes) == 1 else "Compound", slots, recognizer, outcome, turns)


def _tagged(refusal: Refusal, candidate: Candidate, recognizer: Recognizer) -> Refusal:
    """A refusal with the intent and the tier that understood the request (they go into the answer)."""
    refusal.intent, refusal.recognizer = candidate.intent, recognizer.name
    return refusal


def _rejected(level: int, recognizer: Recognizer, candidate: Candidate, exc: Exception) -> None:
    """Log a candidate its schema did not accept (the next one is tried)."""
    log.log(
        level,
        "%s rejected %s %s: %s",
        recognizer.name,
        candidate.intent,
        str(candidate.slots)[:300],
        " ".join(str(exc).split())[:300],
    )


def _failed(text: str, intent: str | None, recognizer: str | None, response: str) -> _Done:
    """A request that ended in a typed error: its one sentence, no action, no question."""
    return _Done(intent, {}, recognizer, Outcome(response), [Turn(text, intent, {}, response)])


def _sentence(exc: BaseException) -> str:
    """An exception's message as the end of a spoken sentence (short, one line, a full stop)."""
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return text if text.endswith((".", "?", "!")) else text + "."


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
