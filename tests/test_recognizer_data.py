"""The template data: Home Assistant's sentences with ours merged over them."""

from intents.recognizer import build_data
from intents.registry import intents


def _sentences(data: dict) -> list[str]:
    return [s for intent in data["intents"].values() for block in intent["data"] for s in block["sentences"]]


def test_building_the_data_again_gives_the_same_templates():
    # merging ours into HA's data once extended HA's (cached) blocks in place: every later build, e.g.
    # the keyword gate's after the template tier's, held our templates twice (and matched them twice)
    names = list(intents())
    first = _sentences(build_data(names))
    again = _sentences(build_data(names))
    assert again == first
