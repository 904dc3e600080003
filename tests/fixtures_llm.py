"""A canned OpenAI-compatible server and an Assistant whose LLM tier talks to it (registered in
tests/conftest.py). Fixtures: ``canned`` (the server; set ``.reply``, ``.status``, ``.raw``,
``.delay_s``, ``.stream``, ``.hold_last``; read ``.requests``, ``.streamed``), ``llm_assistant`` (one Assistant per module, with ``llm.url``
set), ``make_llm(settings)`` (that Assistant re-pointed at ``settings``). Helpers (imported by name):
``text_reply``, ``tool_reply``, ``completion``, ``llm_settings``, ``closed_port``."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.config import LlmSettings, load_config
from assistant.core import Assistant


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
        # set: the last piece waits (at most 30 s) until the event is set, e.g. by the first audio
        self.hold_last: threading.Event | None = None

    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.endswith("/chat/completions")]


def text_reply(content: str) -> dict[str, Any]:
    return completion({"role": "assistant", "content": content}, "stop")


def tool_reply(name: str, arguments: str) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
    return completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")


def completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
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
            for i, piece in enumerate([*state.stream, None]):
                if i == len(state.stream) - 1 and state.hold_last is not None:
                    state.hold_last.wait(30)
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


def llm_settings(url: str, timeout_s: float = 5.0, model: str | None = None) -> LlmSettings:
    return LlmSettings(url=url, model=model, timeout_s=timeout_s)


@pytest.fixture(scope="module")
def llm_assistant(tmp_path_factory):
    """One Assistant built with ``llm.url`` set (building one costs seconds: hassil). The learned tier
    is off: these tests are about what reaches the LLM (tests/test_learned.py checks the order)."""
    cfg = load_config(
        env={
            "ASSISTANT_DATA_DIR": str(tmp_path_factory.mktemp("llm")),
            "ASSISTANT_TZ": "UTC",
            "ASSISTANT_LLM_URL": f"http://127.0.0.1:{closed_port()}/v1",
            "ASSISTANT_LEARNED": "false",
        }
    )
    from assistant.llm import LlmRecognizer  # openai is slow to import: only where it is used

    assistant = Assistant(cfg)
    assert [r.name for r in assistant.recognizers] == ["template", "llm"]
    assert isinstance(assistant.recognizers[-1], LlmRecognizer)
    yield assistant
    assistant.close()


@pytest.fixture
def make_llm(llm_assistant):
    """make_llm(settings) -> the shared Assistant, no timers, its LLM tier talking to ``settings``."""

    from assistant.llm import LlmRecognizer

    def make(settings: LlmSettings, gate: bool = False) -> Assistant:
        for timer in llm_assistant.store.timers():
            llm_assistant.store.delete_timer(timer.id)
        llm_assistant.recognizers[-1] = LlmRecognizer(llm_assistant.schemas, settings)
        # protocol tests ask the model about anything; the scope gate: tests/test_llm_conversation.py
        llm_assistant.gate_threshold = settings.scope_threshold if gate else 0.0
        return llm_assistant

    return make


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
