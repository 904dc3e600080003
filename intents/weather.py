"""Weather questions: HassGetWeather with a place (``location``), a day (``date``) and what is asked (``aspect``).

The answer comes from ``ctx.services.weather`` (a ``devices.weather`` provider) through
``intents.weather_answer.weather_answer``; service problems are one spoken sentence, never an exception.
A dry run does not contact the service.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, Self

from pydantic import Field

from .preferences import preference
from .registry import register
from .schema import Context, Intent, Outcome, SlotError, Usage
from .timeparse import parse_when
from .weather_answer import resolve_date_spec, weather_answer  # imported here: ~50 ms on a first forecast

NOT_SET_UP = "Weather isn't set up on this assistant."

# Words that mean "here", not a place to geocode.
_HOME = re.compile(
    r"^(?:here|home ?town|my home ?town|outside|out|out there|outdoors|home|at home|my area|me area|the area|this area|our area|my location|"
    r"my city|my town|town|the city|near me|nearby|around here|around me|where i am|where i live|my place|"
    r"my neighbou?rhood|the neighbou?rhood|local|locally|my region|the region)$"
)
# A "place" that swallowed a day or a question: let another template match instead.
_NOT_PLACE = re.compile(
    r"\b(?:today|tonight|tomorrow|yesterday|now|week|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"morning|afternoon|evening|night|rain|snow|weather|forecast|temperature|will|is|it|be|going|umbrella|jacket|"
    r"degrees|hot|cold|warm|windy|sunny|what|how|i|me|you)\b"
)

# Checked in this order: the first that fits names the aspect.
_ASPECTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "umbrella",
        re.compile(
            r"\b(?:umbrella|brolly|rain ?coat|rain jacket|rain boots|wellies|wellingtons|rain gear)\b"
        ),
    ),
    ("snow", re.compile(r"\b(?:snow\w*|blizzard|sleet|flurries|ski(?:ing)?)\b")),
    (
        "rain",
        re.compile(
            r"\b(?:rain\w*|shower\w*|drizzl\w*|wet|storm\w*|thunder\w*|downpour|precipitation|pour\w*)\b"
        ),
    ),
    ("wind", re.compile(r"\b(?:wind\w*|breez\w*|gust\w*|gale|kite)\b")),
    ("low", re.compile(r"\b(?:how (?:cold|chilly|cool)|coldest|lowest|low|freez\w*|frost\w*|minimum)\b")),
    ("high", re.compile(r"\b(?:how (?:hot|warm)|hottest|warmest|highest|high|maximum)\b")),
    (
        "temperature",
        re.compile(
            r"\b(?:temperature|temp|degrees|hot|cold|warm|chilly|cool|heat|jacket|coat|shorts|gloves|sweater|jumper|"
            r"scarf|layers|hat|dress|t shirt|sandals|flip flops)\b"
        ),
    ),
]


def _calendar_date(said: str, ctx: Context) -> str:
    parsed = parse_when(said, ctx.now)
    if parsed.date is None or parsed.unknown or parsed.has_time:
        raise SlotError(f"not a day: {said!r}")
    return parsed.date.isoformat()


def aspect_of(text: str) -> str:
    for aspect, pattern in _ASPECTS:
        if pattern.search(text):
            return aspect
    return "conditions"


@register
class HassGetWeather(Intent):
    reply_heads: ClassVar[tuple[str, ...]] = ("Right now it's", "I would look up the weather")
    intent: ClassVar[str] = "HassGetWeather"
    usage: ClassVar[Usage] = Usage(
        "tell you the weather",
        "What's the weather tomorrow?",
        ("weather", "forecast", "rain", "temperature"),
        needs="weather",
    )
    description: ClassVar[str] = (
        "Tells the weather now or for a day (today, tonight, tomorrow, a weekday, this weekend, next week), "
        "at home or in a named place; optionally only one aspect (rain, umbrella, snow, temperature, high, low, wind)."
    )

    name: str | None = Field(None, description="Weather entity name (Home Assistant); usually unset")
    location: str | None = Field(None, description="Place name, e.g. 'Berlin'; unset = home")
    date: str | None = Field(
        None, description="today, tonight, tomorrow, friday, friday night, this weekend, next week, ..."
    )
    aspect: Literal["conditions", "rain", "snow", "umbrella", "temperature", "high", "low", "wind"] = (
        "conditions"
    )

    @classmethod
    def from_slots(cls, slots: dict[str, Any], text: str, ctx: Context) -> Self:
        location = str(slots.pop("location", "") or "").strip()
        location = re.sub(r"^(?:the|in|at|for|of)\s+", "", location)
        location = re.sub(r"\s+(?:like|please|area|right now|now|currently)$", "", location).strip()
        if not location or _HOME.match(location):
            location = ""
        elif (
            _NOT_PLACE.search(location)
            or len(location.split()) > 5
            or not re.search(rf"(?<!\w){re.escape(location)}(?!\w)", text, re.I)
        ):  # "berl|in this weekend"
            raise SlotError(f"not a place: {location!r}")
        elif _is_home_area(location, ctx):  # "the temperature in the living room" is the thermostat's
            raise SlotError(f"a room of the home, not a place: {location!r}")
        date = slots.pop("date", None)
        if date:
            date = str(date)
            try:
                resolve_date_spec(date, ctx.now.replace(tzinfo=None))
            except ValueError:
                date = _calendar_date(date, ctx)  # "the 7th", "march 27th": an ISO date
        aspect = slots.pop("aspect", None) or aspect_of(text)
        return cls(location=location or None, date=date or None, aspect=aspect, **slots)

    def slots(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, mode="json")

    def handle(self, ctx: Context) -> Outcome:
        provider = ctx.services.weather
        if provider is None:
            return Outcome(NOT_SET_UP)
        if ctx.dry_run:
            where = f" in {self.location.title()}" if self.location else ""
            return Outcome(f"I would look up the weather ({self.aspect}) for {self.date or 'now'}{where}.")
        units = preference(ctx, "units")  # "use Fahrenheit"
        if units and hasattr(provider, "with_units"):
            provider = provider.with_units(units)
        # forecast times are naive local times of the place
        place = self.location.title() if self.location else None  # spoken as a name: "in New York"
        place = place or preference(ctx, "city")  # "my city is Lyon": home is there
        sentence, _data = weather_answer(
            provider, place, self.date, self.aspect, ctx.now.replace(tzinfo=None)
        )
        return Outcome(sentence)


def _is_home_area(location: str, ctx: Context) -> bool:
    hub = ctx.services.devices
    return hub is not None and location.lower() in {a.lower() for a in hub.registry.areas()}
