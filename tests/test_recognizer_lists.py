"""A long slot list (a home of hundreds of devices) is narrowed per request to the names the text can
spell (``TemplateRecognizer._narrowed``): it must find exactly what the whole list finds."""

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
]


def with_names() -> TemplateRecognizer:
    rec = TemplateRecognizer(intents())
    rec.set_list("name", [(normalize(n), n, {"domain": "light"}) for n in NAMES])
    return rec


@pytest.fixture(scope="module")
def template() -> TemplateRecognizer:
    return with_names()


@pytest.fixture(scope="module")
def whole() -> TemplateRecognizer:
    """The same recogniser matching against the whole list."""
    rec = with_names()
    rec._long.clear()
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
    kept = template._narrowed(normalize("turn on mum's lamp and filler plug 7"))["name"].values
    said = {v.value_out for v in kept}
    assert "Mum's Lamp" in said and "Filler Plug 7" in said
    assert "Garage Door" not in said and "Living-Room Lamp" not in said
    assert len(said) == 200 + 1  # every "filler plug N": a number may be said in words
    assert {c.slots.get("name") for c in template.candidates("turn on mum's lamp")} >= {"Mum's Lamp"}
