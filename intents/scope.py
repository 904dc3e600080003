"""Is a request something the assistant does at all? The gate in front of the LLM tier's actions.

A model asked with tools calls one for nearly everything ("clear my calendar" -> cancel all
timers), so a tool call is carried out only when the request itself passes ``ScopeGate.in_scope``
(a score in 0..1, compared with ``threshold``). ``KeywordGate`` is the cheap default: twice the share
of the request's content words that occur anywhere in the intents' templates and slot lists (device
names, areas), capped at 1, and 0 for any word from a domain the assistant does not serve
(calendars, messages, jokes, ...). A learned scope score (a classifier's) plugs in through the same protocol.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import yaml

from .media import _GAME  # "play chess with me": never music, never anything we do

DEFAULT_THRESHOLD = 0.5

# Function words and fillers: they say nothing about scope.
_STOP = set(
    """
a about above after again against all am an and any are as at be been before being below between both but by can
could did do does doing don't down during each few for from further had has have having he her here hers herself him
himself his how i i'd i'll i'm i've if in into is it it's its itself just let let's me more most my myself no nor
not now of off on once only or other our ours ourselves out over own please same she should so some such than thank
thanks that that's the their theirs them themselves then there these they this those through to too under until up
very was we were what what's when where which while who whom why will with would you your yours yourself hey okay ok
yes yeah well um uh oh right also maybe like want wanna gonna need could would should tell give get make
""".split()
)
# Words of domains the assistant does not serve: any one of them and the request is out of scope.
_FOREIGN = set(
    """
calendar calendars email
emails mail inbox message messages text texts sms call calls phone dial contact contacts order purchase
cart recipe recipes cook cooking joke jokes stock stocks price prices currency exchange
translate translation define definition spell spelling tweet twitter facebook post uber taxi lyft
flight flights train trains ticket tickets hotel booking book restaurant restaurants takeaway pizza delivery
wikipedia birthday anniversary game games quiz convert conversion
""".split()
)
_WORD = re.compile(r"[a-z][a-z']*")


@runtime_checkable
class ScopeGate(Protocol):
    """Anything with ``in_scope(text) -> float`` in 0..1 (1: surely a request the assistant serves)."""

    def in_scope(self, text: str) -> float: ...


@runtime_checkable
class IntentRanker(Protocol):
    """A gate that also scores each intent (``{intent: probability}``): the learned tier. The LLM tier
    then offers the model only the best ranked intents' tools (``llm.tools_top_k``)."""

    def intent_scores(self, text: str) -> dict[str, float]: ...


def template_words(data: dict[str, Any]) -> set[str]:
    """Every word in hassil data (sentences, expansion rules, list values), as templates write them."""
    text = yaml.safe_dump({k: data.get(k) for k in ("intents", "expansion_rules", "lists")})
    return set(_WORD.findall(text.lower()))


class KeywordGate:
    """The default gate: template vocabulary evidence (see the module docstring)."""

    def __init__(self, words: Iterable[str], threshold: float = DEFAULT_THRESHOLD):
        self.words = {w for w in words if w not in _STOP} - _FOREIGN
        self.extra: set[str] = set()
        self.threshold = threshold

    @classmethod
    def from_templates(cls, intent_names: Iterable[str], language: str = "en", **kw: Any) -> KeywordGate:
        from .recognizer import build_data

        return cls(template_words(build_data(intent_names, language)), **kw)

    def set_list(self, name: str, values: Iterable[Any]) -> None:
        """Device names, areas, ... are in scope too (the same lists the template tier gets)."""
        for v in values:
            said = v[0] if isinstance(v, tuple) else v
            self.extra.update(_WORD.findall(str(said).lower()))

    def in_scope(self, text: str) -> float:
        content = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
        if not content:
            return 0.0
        if any(w in _FOREIGN or w.rstrip("s") in _FOREIGN for w in content) or _GAME.search(text.lower()):
            return 0.0
        known = sum(1 for w in content if w in self.words or w in self.extra or w.rstrip("s") in self.words)
        return min(
            1.0, 2 * known / len(content)
        )  # half the words known is plenty ("keep an eye on the eggs, 5 minutes")

    def passes(self, text: str) -> bool:
        return self.in_scope(text) >= self.threshold
