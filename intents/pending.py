"""Answers to the assistant's own questions: one mechanism for "Are you sure?", "Which room?",
"For how long?" and "Which alarm, the 7:00 or the 8:30?".

A handler that needs more returns ``Outcome(question=Question(...))``, or raises it in an
``IntentError`` (see ``intents.conversation``, ``intents.schema``). Continuations return an Outcome
(an intent they run goes through ``Intent.run``).
The next utterance of that conversation goes to ``answer`` first:

- ``confirm``: "yes" runs the continuation registered under ``question.resume``;
- ``choose``: "the 7:00", "the second one", "8:30" picks a choice and runs the continuation;
- ``fill``: the bare answer ("the kitchen", "ten minutes"; at most ``MAX_FILL_WORDS`` words) is put
  into the question's ``retry`` requests and the first one the recognisers understand runs;
- "no" / "cancel" answers every kind with ``question.declined``.

Anything else is not an answer: the question is dropped and the utterance is a new request.
Continuations are registered by the intent modules with ``@continuation("name")``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .conversation import Choice, Question
from .normalize import normalize
from .schema import Context, Outcome

Continuation = Callable[[Context, dict[str, Any]], Outcome]
CONTINUATIONS: dict[str, Continuation] = {}

YES = re.compile(
    r"^(?:yes|yeah|yep|yup|sure|ok|okay|confirm(?:ed)?|correct|affirmative|do it|go ahead|"
    r"please do|i am sure|i'm sure|of course|absolutely|definitely|right|alright|all right)"
    r"(?:[\s,]+(?:please|do it|go ahead|i'?m sure|i am sure|thanks|thank you|confirm|sure))*$"
)
NO = re.compile(
    r"^(?:no|nope|nah|cancel|stop|abort|don'?t|do not|never ?mind|forget it|no thanks|no thank you|"
    r"not now|leave it|neither|none|none of them)(?:[\s,]+(?:thanks|thank you|don'?t|do not|cancel|"
    r"leave it|never ?mind))*$"
)
_ORDINALS = {
    "first": 0,
    "1st": 0,
    "one": 0,
    "second": 1,
    "2nd": 1,
    "two": 1,
    "third": 2,
    "3rd": 2,
    "three": 2,
    "fourth": 3,
    "4th": 3,
    "four": 3,
    "fifth": 4,
    "5th": 4,
    "five": 4,
    "last": -1,
    "latter": -1,
    "former": 0,
    "other": -1,
}
# Words an answer to "which one?" may hold besides the words of the choices themselves.
_ANSWER_WORDS = frozenset(
    {
        *_ORDINALS,
        "one",
        "ones",
        "the",
        "a",
        "an",
        "in",
        "on",
        "at",
        "of",
        "number",
        "no",
        "am",
        "pm",
        "o'clock",
    }
    | {"oclock", "that", "this", "it", "please", "thanks", "thank", "you", "i", "mean", "said", "is", "its"}
    | {"it's", "um", "uh", "er", "oh", "well", "for", "to", "make", "how", "about", "let's", "lets", "say"}
)
# A bare answer ("seven thirty", "ten minutes", "the kitchen") is short: a longer line is a new
# request. (Noise after "What time?", tried in every retry request, cost 60-80 ms of template matching.)
MAX_FILL_WORDS = 12
_FILLER = re.compile(
    r"^(?:(?:the|a|an|um|uh|er|oh|well|in|at|for|to|it's|its|it is|i mean|i said|make it|"
    r"how about|let's say|lets say)\s+)+|\s+(?:one|please|thanks|thank you)$"
)


def continuation(name: str) -> Callable[[Continuation], Continuation]:
    """Register what to do when a question of this name is answered."""

    def add(fn: Continuation) -> Continuation:
        CONTINUATIONS[name] = fn
        return fn

    return add


@continuation("intent.run")
def _run_intent(ctx: Context, data: dict[str, Any]) -> Outcome:
    """ "Yes" to "Are you sure you want to cancel 3 alarms?" (an LLM's bulk change): run the intent asked for."""
    from .registry import intents

    return intents()[data["intent"]].model_validate(data["slots"]).run(ctx)


def said(text: str) -> str:
    """Lower case, no punctuation but ``:`` and ``'``, single spaces."""
    t = re.sub(r"[^\w\s':]", " ", text.lower())
    return re.sub(r"\s+", " ", t).strip()


def answer(
    question: Question, text: str, ctx: Context, understand: Callable[[str], Any | None]
) -> Any | None:
    """The outcome of ``text`` as the answer to ``question``, or None when it is no answer.
    ``understand(request)`` recognises and runs a request, returning None when nothing fits."""
    words = said(text)
    if not words:
        return None
    if NO.match(words):
        return Outcome(question.declined, [], {"answer": "no"})
    if question.kind == "confirm":
        if not YES.match(words):
            return None
        outcome = _resume(question, ctx, question.data)
        outcome.slots = {"answer": "yes"}
        return outcome
    if question.kind == "choose":
        choice = pick(words, question.choices) or pick(
            said(normalize(text)), question.choices
        )  # "eight thirty"
        if choice is None:
            return None
        return _resume(question, ctx, {**question.data, **choice.data})
    if question.kind == "fill":
        bare = _FILLER.sub("", words).strip() or words
        if len(bare.split()) > MAX_FILL_WORDS:
            return None
        for pattern in question.retry:
            found = understand(pattern.format(answer=bare))
            if found is not None:
                return found
        return None
    raise ValueError(f"unknown question kind {question.kind!r}")


def _resume(question: Question, ctx: Context, data: dict[str, Any]) -> Outcome:
    fn = CONTINUATIONS.get(question.resume or "")
    if fn is None:
        return Outcome("Sorry, I lost track of what I was asking.")
    return fn(ctx, data)


def pick(words: str, choices: list[Choice]) -> Choice | None:
    """The choice an answer names: by ordinal ("the second one"), by the numbers in it ("the 7:00",
    "8 30"), or by words ("the pasta one"); None when it names none or several, or says anything
    else: an answer is only the words that name a choice (so noise that happens to hold a "7" or an
    "a" picks nothing; a near miss of a heard label, "the up stairs one", is still taken)."""
    if not choices:
        return None
    bare = _FILLER.sub("", words).strip()
    if bare in _ORDINALS:
        i = _ORDINALS[bare]
        return choices[i] if -len(choices) <= i < len(choices) else None
    labels = [said(c.label) for c in choices]
    known = _ANSWER_WORDS.union(*(label.split() for label in labels))
    if any(w not in known and not re.search(r"\d", w) for w in bare.split()):
        return _near(bare, labels, choices)
    digits = re.findall(r"\d+", bare)
    if digits:
        key = [int(d) for d in digits]
        hits = [c for c in choices if [int(d) for d in re.findall(r"\d+", c.label)][: len(key)] == key]
        if len(hits) != 1 and len(key) == 1:  # "8" for "8:30"
            hits = [c for c in choices if (re.findall(r"\d+", c.label) or [""])[0] == digits[0]]
        return hits[0] if len(hits) == 1 else None
    named = set(bare.split()) - _ANSWER_WORDS  # "the one upstairs": a word only one choice has
    own = [set(label.split()) for label in labels]
    hits = [c for i, c in enumerate(choices) if named & (own[i] - set().union(*own[:i], *own[i + 1 :]))]
    if len(hits) == 1:
        return hits[0]
    return _near(bare, labels, choices)


def _near(bare: str, labels: list[str], choices: list[Choice]) -> Choice | None:
    """The one choice whose label the answer nearly is (a mis-heard word), if the answer is no longer
    than the labels: a long line is no answer, however much of a label it happens to contain."""
    if not bare or len(bare) > max(map(len, labels)):
        return None
    from rapidfuzz import fuzz

    scored = sorted(((fuzz.partial_ratio(bare, label), i) for i, label in enumerate(labels)), reverse=True)
    if scored[0][0] >= 85 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return choices[scored[0][1]]
    return None
