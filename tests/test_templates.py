"""Our template files: what they tell hassil about themselves holds."""

from __future__ import annotations

import pytest
from hassil import TextSlotList
from hassil.sample import sample_expression

from intents.recognizer import parsed_templates
from intents.registry import intents

TEMPLATES = parsed_templates(frozenset(intents()), "en")
KEYWORD_BLOCKS = [
    (f"{intent.name}[{i}]", block)
    for intent in TEMPLATES.intents.values()
    for i, block in enumerate(intent.data)
    if block.required_keywords
]
RUNTIME_LISTS = ("area", "floor", "name")  # the home's own: filled per request


def test_some_blocks_have_keywords():
    assert len(KEYWORD_BLOCKS) >= 5


@pytest.mark.parametrize(("where", "block"), KEYWORD_BLOCKS, ids=[w for w, _ in KEYWORD_BLOCKS])
def test_every_sentence_of_a_keyword_block_says_one_of_its_keywords(where, block):
    # hassil skips a block whose required_keywords are not among the text's words, so a sentence that
    # can be said without one would never match. Optional parts are left out: a keyword has to be in
    # what every way of saying the sentence has.
    lists = {name: TextSlotList.from_strings(["somewhere"]) for name in RUNTIME_LISTS}
    lists |= {**TEMPLATES.slot_lists, **block.slot_lists}
    rules = {**TEMPLATES.expansion_rules, **block.expansion_rules}
    sayings = 0
    for sentence in block.sentences:
        for said in sample_expression(
            sentence.expression, lists, rules, language="en", expand_ranges=False, skip_optionals=True
        ):
            sayings += 1
            assert block.required_keywords & set(said.lower().split()), f"{where}: {said!r} has no keyword"
    assert sayings >= len(block.sentences)
