"""Tier "template": hassil over Home Assistant's English templates plus our own YAML templates.

Recognition returns ranked candidates; the caller takes the first whose slots make sense to its
intent schema (a wildcard that swallowed the wrong words is rejected there, not here).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from hassil import Intents, TextChunk, TextSlotList, recognize_ranked
from hassil.expression import Alternative, Expression, Group, ListReference, RuleReference, Sentence
from hassil.util import fold_case, merge_dict

from .schema import Intent

log = logging.getLogger(__name__)

SENTENCES_DIR = Path(__file__).parent / "sentences"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Candidate:
    intent: str
    slots: dict[str, Any]
    text: str
    schema: type[Intent] | None = None  # set when not the registered schema of ``intent`` (e.g. a Clarify)


class Recognizer(Protocol):
    """A recogniser tier (template, learned, llm): the core asks each in turn for candidates. Optional
    class flags, read with ``getattr``: ``confident`` (a match may end a voice turn early),
    ``gives_tool_args`` (slots are typed tool arguments: the LLM tier)."""

    name: str

    def candidates(self, text: str, context: dict[str, Any] | None = None) -> list[Candidate]: ...

    def set_list(self, name: str, values: Iterable[Any]) -> None: ...


@functools.cache
def _ha_data(language: str) -> dict[str, Any]:
    import home_assistant_intents

    data = home_assistant_intents.get_intents(language)
    if data is None:
        raise ValueError(f"home-assistant-intents has no language {language!r}")
    return data


def build_data(intent_names: Iterable[str], language: str = "en") -> dict[str, Any]:
    """HA's data for the intents we implement, with our template files merged over it (a copy: merging
    extends HA's lists of data blocks in place, and HA's data is read once per process)."""
    names = set(intent_names)
    ha = _ha_data(language)
    data: dict[str, Any] = copy.deepcopy(
        {
            "language": language,
            "intents": {k: v for k, v in ha["intents"].items() if k in names},
            "lists": ha.get("lists", {}),
            "expansion_rules": ha.get("expansion_rules", {}),
            "skip_words": ha.get("skip_words", []),
        }
    )
    for path in sorted((SENTENCES_DIR / language).glob("*.yaml")):
        own = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        unknown = set(own.get("intents", {})) - names
        if unknown:
            raise ValueError(f"{path}: templates for unregistered intents {sorted(unknown)}")
        merge_dict(data, own)
    return data


@functools.lru_cache(maxsize=4)
def parsed_templates(intent_names: frozenset[str], language: str) -> Intents:
    """The templates, parsed once per process: hassil parses every sentence on first use (~2 s), and
    an ``Intents`` is only read while recognising (slot lists go with each call), so every
    TemplateRecognizer of a process (tests, a service's satellites) shares one."""
    return Intents.from_dict(build_data(intent_names, language))


_RECENT = 8  # recognitions kept by a TemplateRecognizer
_NARROW_FROM = 64  # a slot list longer than this is narrowed per request (see ``_scoped``)
_WORD = re.compile(r"[^\W_]+")
# number words a value may say where the text has digits (hassil matches either way)
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand first second third fourth fifth".split()
)


_NONE = TextSlotList.from_strings(["__none__"])  # what an empty list holds (a value no text says)


def _words(text: str) -> frozenset[str]:
    """The words of a text as the narrowing compares them: case-folded, without apostrophes ("mum's"
    and "mums" alike), split at anything else that is not a letter or digit ("-" and "_" too)."""
    return frozenset(_WORD.findall(fold_case(text).replace("'", "").replace("\u2019", "")))


@functools.lru_cache(maxsize=4)
def needed_lists(intent_names: frozenset[str], language: str) -> dict[str, list[list[frozenset[str]]]]:
    """For each intent, block and sentence of ``parsed_templates``: the slot lists every match of the
    sentence fills (worked out once per process, like the templates)."""
    intents = parsed_templates(intent_names, language)
    needs: dict[str, list[list[frozenset[str]]]] = {}
    for intent in intents.intents.values():
        needs[intent.name] = []
        for block in intent.data:
            rules = {**intents.expansion_rules, **block.expansion_rules}
            needs[intent.name].append([_needed(s.expression, rules) for s in block.sentences])
    return needs


@functools.lru_cache(maxsize=32)
def templates_without(intent_names: frozenset[str], language: str, unsaid: frozenset[str]) -> Intents:
    """``parsed_templates`` less the sentences that need one of the ``unsaid`` slot lists (a few sets of
    lists occur: kept once per process, like the templates)."""
    full = parsed_templates(intent_names, language)
    needs = needed_lists(intent_names, language)
    intents = {}
    for intent in full.intents.values():
        blocks = []
        for block, needed in zip(intent.data, needs[intent.name], strict=True):
            keep = [s for s, lists in zip(block.sentences, needed, strict=True) if not lists & unsaid]
            if len(keep) == len(block.sentences):
                blocks.append(block)
            elif keep:
                part = dataclasses.replace(block, sentence_texts=[s.text or "" for s in keep])
                part.__dict__["sentences"] = keep  # parsed already (a cached_property of hassil's)
                blocks.append(part)
        if blocks:
            intents[intent.name] = dataclasses.replace(intent, data=blocks)
    return dataclasses.replace(full, intents=intents)


def _needed(e: Expression, rules: dict[str, Sentence], seen: frozenset[str] = frozenset()) -> frozenset[str]:
    """The lists every match of ``e`` fills: not those in an optional part, nor those in only some of
    its alternatives."""
    if isinstance(e, ListReference):
        return frozenset([e.list_name])
    if isinstance(e, RuleReference):
        rule = rules.get(e.rule_name)
        return (
            _needed(rule.expression, rules, seen | {e.rule_name})
            if rule and e.rule_name not in seen
            else frozenset()
        )
    if isinstance(e, Alternative):
        if e.is_optional or not e.items:
            return frozenset()
        return frozenset.intersection(*(_needed(item, rules, seen) for item in e.items))
    if isinstance(e, Group):  # a sequence or a permutation: every item
        return frozenset().union(*(_needed(item, rules, seen) for item in e.items))
    return frozenset()


def _indexed(values: list[Any]) -> list[tuple[Any, frozenset[str] | None]]:
    """Each slot value with the words the text must have for it to match (None: a template, always
    tried); number words are left out: hassil reads "2" as "two"."""
    return [
        (
            v,
            frozenset(w for w in _words(v.text_in.text) if not (w.isdigit() or w in _NUMBER_WORDS))
            if isinstance(v.text_in, TextChunk)
            else None,
        )
        for v in values
    ]


class TemplateRecognizer:
    name = "template"
    confident = True  # a template match is sure enough to end a voice turn early (Assistant.is_complete)

    def __init__(self, intent_names: Iterable[str], language: str = "en", areas: Iterable[str] = ()):
        self.language = language
        self._names = frozenset(intent_names)
        self.intents = parsed_templates(self._names, language)
        self.slot_lists: dict[str, Any] = {}
        self.scoped = True  # templates and long lists cut to what each text can match (``_scoped``)
        self._said: dict[str, list[tuple[Any, frozenset[str] | None]]] = {}  # each list's values' words
        self._long: set[str] = set()  # the lists narrowed per text
        # the last few recognitions: a voice turn asks twice for the same text (``Assistant.is_complete``
        # in the pause, then ``ask`` at the endpoint), and hassil's match is most of either's time
        self._recent: OrderedDict[tuple, list[Candidate]] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._lists_version = 0  # what matches depends on the lists: a new list, a new key
        self.set_list("area", list(areas))
        self.set_list("floor", [])
        self.set_list("name", [])
        self.candidates("what time is it")  # warm hassil's number parser up (~0.2 s once)

    def set_list(self, name: str, values: Iterable[str | tuple[str, Any] | tuple[str, Any, dict]]) -> None:
        """Replace a slot list (areas, device names, ...) with the home's current values.
        Items are strings, (text, value) or (text, value, context) tuples; a context such as
        ``{"domain": "light"}`` lets HA's ``requires_context`` templates check what was matched."""
        items = list(values)
        tuples = [item for item in items if isinstance(item, tuple)]
        if tuples:
            self.slot_lists[name] = TextSlotList.from_tuples(tuples, allow_template=False)
        else:
            strings = [item for item in items if isinstance(item, str)]
            self.slot_lists[name] = TextSlotList.from_strings(strings or ["__none__"])
        listed = self.slot_lists[name].values
        self._said[name] = _indexed(listed)
        if len(listed) > _NARROW_FROM:
            self._long.add(name)
        else:
            self._long.discard(name)
        with self._recent_lock:
            self._lists_version += 1
            self._recent.clear()

    def forget(self) -> None:
        """Drop the kept recognitions (a benchmark comparing runs of the same text)."""
        with self._recent_lock:
            self._recent.clear()

    def candidates(self, text: str, context: dict[str, Any] | None = None) -> list[Candidate]:
        """``context`` (e.g. ``{"area": "Kitchen"}``) fills HA templates that need it ("lights off")."""
        if not text:
            return []
        with self._recent_lock:
            key = (self._lists_version, text, repr(sorted((context or {}).items())))
            found = self._recent.get(key)
        if found is None:
            found = self._recognize(text, context)
            with self._recent_lock:
                self._recent[key] = found
                while len(self._recent) > _RECENT:
                    self._recent.popitem(last=False)
        return [dataclasses.replace(c, slots=dict(c.slots)) for c in found]  # callers may change theirs

    def _scoped(self, text: str) -> tuple[Intents, dict[str, Any]]:
        """The templates and slot lists for one text. A list value with a word the text lacks can never
        match (number words are kept: hassil reads "2" as "two"), so:

        * a long list (a home's thousand device names) keeps only the values whose every word the text
          has: hassil tries each value of a list wherever a wildcard leaves the position open, so a
          thousand names cost ~10-40 ms a recognition;
        * a template that cannot match without a list none of whose values the text can say ("turn
          on the {name} in the {area}" when no area is said) is not tried: most of Home Assistant's
          templates name an area, a floor or a device, and trying each costs most of a recognition."""
        if not self.scoped:
            return self.intents, self.slot_lists
        said = _words(text)
        lists = dict(self.slot_lists)
        unsaid = set()
        for name, values in self._said.items():
            keep = [v for v, words in values if words is None or words <= said]
            if not keep:
                unsaid.add(name)
            if name in self._long:
                lists[name] = TextSlotList(name=name, values=keep or _NONE.values)
        return templates_without(self._names, self.language, frozenset(unsaid)), lists

    def _recognize(self, text: str, context: dict[str, Any] | None) -> list[Candidate]:
        intents, lists = self._scoped(text)
        results = recognize_ranked(
            text,
            intents,
            slot_lists=lists,
            language=self.language,
            intent_context=context or None,
        )
        out = []
        for r in results:
            slots = {name: (e.value if e.value is not None else e.text) for name, e in r.entities.items()}
            slots = {k: (v.strip() if isinstance(v, str) else v) for k, v in slots.items()}
            out.append(Candidate(r.intent.name, slots, text))
        return out
