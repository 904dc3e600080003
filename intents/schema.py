"""The one base every intent derives from.

An intent is one pydantic model: its fields are the slots (HA slot names where HA has the intent),
its class variables name and describe it, ``from_slots`` turns what a recogniser found into the
model, ``handle`` does the work, and ``tool()`` is its LLM tool definition. Its sentence templates
live in ``intents/sentences/<language>/<Intent>.yaml`` and its tests in ``tests/intents/``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self, get_args

from pydantic import BaseModel, ConfigDict

from .conversation import Question
from .services import Services
from .settings import IntentSettings
from .store import Store

if TYPE_CHECKING:
    from .delayed import Plan


@dataclass
class Context:
    """Everything a handler may use. The outside world (devices, media, weather, lists,
    preferences) is in ``services`` (``intents.services.Services``), each one optional: a handler
    must cope with one being absent."""

    now: dt.datetime
    store: Store
    settings: IntentSettings = field(default_factory=IntentSettings)
    dry_run: bool = False
    area: str | None = None
    services: Services = field(default_factory=Services)
    text: str = ""  # the request as normalised (handlers that ask back rephrase it)
    # What would this request do? (a dry run through the core's local tiers; delayed commands check
    # theirs before they are stored: ``intents.delayed.check``). None: no core to ask (a handler alone).
    plan: Callable[[str], Plan] | None = None
    # This process is the service, whose tick carries out what falls due; False in a one-shot
    # ``assistant ask`` (a delayed command then says it needs the service).
    service: bool = True

    @property
    def tz(self) -> dt.tzinfo:
        return self.now.tzinfo or dt.UTC


@dataclass
class Outcome:
    """What a handler did: the sentence to speak and the effects (done, or planned when dry-run)."""

    response: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] | None = None  # resolved slots to report instead of the raw ones
    question: Question | None = None  # asked back ("Which room?"); the next utterance may answer it


@dataclass(frozen=True)
class Usage:
    """How an intent shows up in "what can you do" and "how do I ...": what it lets the user do, one
    example sentence, the words that name its topic, and the service it needs (a ``Services`` field,
    checked with ``available(ctx)``; None = always there)."""

    can: str  # "set alarms"
    example: str  # "Wake me up at 7 tomorrow."
    topics: tuple[str, ...] = ()  # "alarm", "wake"
    needs: str | None = None  # "media", "devices", "weather"


_EMPTY = {"", "none", "null", "nil", "n/a", "unknown", "unset", "unspecified", "default"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}$")


def _kinds(annotation: Any) -> set[Any]:
    """The types a field accepts: {dt.date, NoneType} for ``dt.date | None``."""
    args = get_args(annotation)
    return {a for arg in args for a in _kinds(arg)} if args else {annotation}


def _date_in_words(value: str, now: dt.datetime) -> str | None:
    from .timeparse import parse_date

    found, rest = parse_date(value.strip().lower(), now)
    return found.isoformat() if found is not None and not re.search(r"[a-z0-9]", rest) else None


def _number_in_words(value: str) -> int | None:
    from text_to_num import alpha2digit

    digits = alpha2digit(value.strip().lower(), "en", threshold=0)
    return int(digits) if digits.lstrip("+-").isdigit() else None


def _clock_in_words(value: str, now: dt.datetime) -> str | None:
    """ "7 am", "seven thirty pm", "19h30" -> "HH:MM" when the words say am/pm or a 24 h hour."""
    from .normalize import normalize
    from .timeparse import parse_when

    when = parse_when(normalize(value), now)
    if when.hour is None or when.unknown or not (when.meridiem or when.hour > 12 or when.hour == 0):
        return None
    clock = when.clock(now)
    return clock.strftime("%H:%M") if clock is not None else None


class SlotError(ValueError):
    """The recogniser matched a template but a slot makes no sense (e.g. '37:99')."""


class Refusal(SlotError):
    """The request was understood but cannot be done as said ("a timer for -5 minutes", "the 31st of
    April", "7 am yesterday"); ``str()`` is the one sentence to answer. Raised by ``from_slots``,
    ``from_tool_args`` or ``handle``; the core answers it instead of guessing another meaning (no
    intent is reported: nothing was done)."""

    intent: str | None = None  # set by the core: the intent and the tier that understood the request
    recognizer: str | None = None


class IntentError(Exception):
    """A handler cannot go on (Home Assistant's ``IntentHandleError``): ``outcome`` is the answer, a
    sentence ("There are no timers running.") and maybe a question back ("Which timer?"). Raised
    anywhere under ``handle``; ``Intent.run``, through which the core and the pending-question
    continuations run every intent, is the one place that turns it into the outcome."""

    def __init__(self, outcome: Outcome | str):
        self.outcome = Outcome(outcome) if isinstance(outcome, str) else outcome
        super().__init__(self.outcome.response)


class Intent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    intent: ClassVar[str]
    description: ClassVar[str]
    # Removes several things at once ("cancel all alarms"): when the LLM tier, not a template, chose
    # it, the core asks "Are you sure?" before more than one thing goes.
    bulk_destructive: ClassVar[bool] = False
    usage: ClassVar[Usage | None] = None  # set on one main intent per area (see intents/help.py)
    # How its answers open ("Timer set", "Turned off") and whole answers it often gives ("There are no
    # timers running."): the voice synthesises them once at start-up and speaks such an opening while
    # it synthesises the rest (``intents.replies``, ``assistant.tts.Tts.keep``). Only words that never
    # change with the request; a phrase ending in . ! ? is a whole answer.
    reply_heads: ClassVar[tuple[str, ...]] = ()
    # Fields that carry the user's own words (a list item, a reminder's message, what to play): an
    # LLM's value must have been said (``check_said``), so a model cannot invent "bread and milk".
    said_fields: ClassVar[tuple[str, ...]] = ()
    # Changes a device: said with a time ("in 10 minutes", "at 11 pm") it is stored and carried out
    # when due, never at once (``intents.delayed``).
    delayable: ClassVar[bool] = False

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        """Build the intent from raw slot values (strings/numbers as matched)."""
        return cls.model_validate(slots)

    @classmethod
    def lenient_tool_args(cls, args: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """An LLM's arguments as the schema reads them, before ``from_tool_args``: small models fill
        optional fields with nothing ("", "null", "none", []) and write dates and numbers in words.
        Empty values are dropped (the field keeps its default), a date field gets "today", "next
        friday", "march 27" resolved against now, an integer field "five" -> 5, and a 24 h time field
        ("HH:MM") "7 am" or "seven thirty pm" -> "07:00" / "19:30". What cannot be read is passed on as
        it is, so the schema still rejects it."""
        out: dict[str, Any] = {}
        for key, value in args.items():
            info = cls.model_fields.get(key)
            if info is None:
                continue  # not a field: ignored anyway (extra="ignore")
            if (
                value is None
                or value in ([], {})
                or (isinstance(value, str) and value.strip().lower() in _EMPTY)
            ):
                if not info.is_required():
                    continue
            elif isinstance(value, str):
                kinds = _kinds(info.annotation)
                if dt.date in kinds and not _ISO_DATE.match(value.strip()):
                    value = _date_in_words(value, ctx.now) or value
                elif int in kinds and not value.strip().lstrip("+-").isdigit():
                    value = _number_in_words(value) or value
                elif key == "time" and str in kinds and not _CLOCK.match(value.strip()):
                    value = _clock_in_words(value, ctx.now) or value
            out[key] = value
        return out

    @classmethod
    def check_said(cls, args: dict[str, Any], text: str) -> None:
        """Raise ``SlotError`` when an LLM's value for one of ``said_fields`` is not in ``text``: at
        least half of its words (of three letters or more) must be words of the request, compared on
        their first four letters ("songs" ~ "song"). Each item of a list value is checked alone."""
        heard = {w[:4] for w in re.findall(r"[a-z0-9']+", text.lower())}
        for key in cls.said_fields:
            value = args.get(key)
            for part in value if isinstance(value, list) else [value]:
                words = [w[:4] for w in re.findall(r"[a-z0-9']+", str(part or "").lower()) if len(w) > 2]
                if words and sum(w in heard for w in words) * 2 < len(words):
                    raise SlotError(f"{key} {str(part)[:60]!r} was not said")

    @classmethod
    def from_tool_args(cls, args: dict[str, Any], ctx: Context, text: str = "") -> Self:
        """Build the intent from an LLM tool call's arguments (named as the schema's fields).
        By default they go through ``from_slots``, so its checks (a timer needs a duration, a device
        must exist, ...) hold for the LLM too; intents whose templates capture other raw slots
        (e.g. an alarm's spoken ``when``) override this. ``text`` is the request as said (some
        checks read it, e.g. a weather place must be named in it)."""
        return cls.from_slots(dict(args), text, ctx)

    def needs_more(self) -> bool:
        """True when the user has not yet said everything the handler needs, so it would ask back
        ("What time should I set the alarm for?"). The voice pipeline then waits for more speech
        instead of ending the turn early."""
        return False

    def handle(self, ctx: Context) -> Outcome:  # pragma: no cover - every intent overrides it
        """Do the work; when it cannot be done, raise ``IntentError`` with what to say."""
        raise NotImplementedError

    def run(self, ctx: Context) -> Outcome:
        """``handle``, with an ``IntentError`` answered by its outcome. Call this, not ``handle``."""
        try:
            return self.handle(ctx)
        except IntentError as exc:
            return exc.outcome

    def slots(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=True, mode="json")

    @classmethod
    def tool(cls) -> dict[str, Any]:
        """OpenAI-style tool definition (for the LLM tier), generated from the schema."""
        params = cls.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        return {
            "type": "function",
            "function": {"name": cls.intent, "description": cls.description, "parameters": params},
        }
