"""Per request, a long slot list (a home of hundreds of devices) is narrowed to the names the text can
spell, and the templates that need a list none of whose values the text can say are left out
(``TemplateRecognizer._scoped``): the recogniser must find exactly what it finds with every template
and the whole lists."""

from __future__ import annotations

import pytest

from intents import recognizer as recognizer_module
from intents.normalize import normalize
from intents.recognizer import TemplateRecognizer
from intents.registry import intents

NAMES = [
    "Mum's Lamp",
    "Living-Room Lamp",
    "Kitchen Light 2",
    "Desk_Fan",
    "Garage Door",
    "Bench Light Three",
    "Straße Lamp",
] + [f"Filler Plug {i}" for i in range(200)]

SAID = [
    "turn on mum's lamp",
    "turn on mums lamp",
    "turn off the living room lamp",
    "turn off the living-room lamp",
    "switch on kitchen light 2",
    "switch on kitchen light two",
    "turn off the desk fan",
    "turn on bench light 3",
    "turn on bench light three",
    "turn on the strasse lamp",
    "turn on filler plug 17",
    "turn off filler plug one hundred and five",
    "in 5 minutes turn off the garage door and the kitchen light 2",
    "turn on the take it named light on the 29th of february at 23:5",
    "turn off the lights in the kitchen",
    "turn on the garage door in the living room",
    "set the kitchen lights to 50 percent",
    "set the living room to red",
    "what is the temperature in the kitchen",
    "turn on the lights upstairs",
    "close the garage door",
    "turn off everything",
    "illuminate the room",  # an area, or words instead: "({area}|room|...)" does not need the list
    "vacuum the hallway",
    "heat the house to 21 degrees",
]
AREAS = ["Kitchen", "Living Room"]


def with_names() -> TemplateRecognizer:
    rec = TemplateRecognizer(intents())
    rec.set_list("name", [(normalize(n), n, {"domain": "light"}) for n in NAMES])
    rec.set_list("area", [(normalize(a), a) for a in AREAS])
    return rec


@pytest.fixture(scope="module")
def template() -> TemplateRecognizer:
    return with_names()


@pytest.fixture(scope="module")
def whole() -> TemplateRecognizer:
    """The same recogniser matching every template against the whole lists."""
    rec = with_names()
    rec.scoped = False
    return rec


def found(rec: TemplateRecognizer, text: str) -> list[tuple[str, dict]]:
    rec.forget()
    return [(c.intent, c.slots) for c in rec.candidates(normalize(text))]


@pytest.mark.parametrize("text", SAID)
def test_the_narrowed_list_finds_what_the_whole_list_finds(template, whole, text):
    assert len(NAMES) > recognizer_module._NARROW_FROM and "name" in template._long
    assert found(template, text) == found(whole, text)


def test_a_long_list_is_narrowed_to_the_names_said(template):
    assert "name" in template._long
    kept = template._scoped(normalize("turn on mum's lamp and filler plug 7"))[1]["name"].values
    said = {v.value_out for v in kept}
    assert "Mum's Lamp" in said and "Filler Plug 7" in said
    assert "Garage Door" not in said and "Living-Room Lamp" not in said
    assert len(said) == 200 + 1  # every "filler plug N": a number may be said in words
    assert {c.slots.get("name") for c in template.candidates("turn on mum's lamp")} >= {"Mum's Lamp"}


def test_templates_that_need_an_unsaid_list_are_left_out(template):
    def sentences(text: str) -> int:
        scoped = template._scoped(normalize(text))[0]
        return sum(len(block.sentences) for intent in scoped.intents.values() for block in intent.data)

    every = sum(len(block.sentences) for intent in template.intents.intents.values() for block in intent.data)
    no_area = sentences("turn on mum's lamp")
    assert no_area < sentences("turn on mum's lamp in the kitchen") < every
    assert sentences("what time is it") < no_area
