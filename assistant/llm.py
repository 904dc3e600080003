"""Tier "llm": an OpenAI-compatible chat model (vLLM in production) picks an intent as a tool call.

The core asks it only when the template tier found nothing and ``llm.url`` is configured. It
sends the utterance with one tool per registered intent (generated from the intent schemas) and
``tool_choice="auto"``; a tool call becomes a candidate whose arguments the core validates with
the schema's ``from_tool_args``. No tool call, an unreachable server, a timeout or a malformed
call give no candidate, so the core's polite fallback answers: never an exception, never late.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from typing import Any, Callable, Iterable

import openai
from openai.types.chat import ChatCompletion

from intents.recognizer import Candidate
from intents.schema import Intent

from .config import LlmSettings

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You are a voice-controlled home assistant. If the request is one of the provided tools, call "
    "that tool with its arguments. Call a tool only when the request clearly is one of them; "
    "otherwise call no tool and answer briefly in one sentence."
)
MAX_TOKENS = 128  # a tool call with its arguments fits easily; long chat is not wanted


def compact_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """The schema's tool with optional fields written plainly (``{"type": "integer"}`` instead of
    ``anyOf [integer, null]`` with ``default: null``): the same meaning, half the prompt tokens."""
    tool = copy.deepcopy(tool)
    for prop in tool["function"]["parameters"].get("properties", {}).values():
        options = prop.get("anyOf")
        if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
            prop.pop("anyOf")
            other = options[1] if options[0] == {"type": "null"} else options[0]
            prop.update({k: v for k, v in other.items() if k not in prop})
        if "default" in prop and prop["default"] is None:
            prop.pop("default")
    return tool


class LlmUnavailable(Exception):
    """The server did not answer usably (down, too slow, serves no model)."""


MAX_REPLY = 1 << 20  # bytes; a tool call is a few hundred


def read_within(deadline: float, request: Callable[[], Any]) -> bytes:
    """The body of one HTTP request made by ``request()`` (an openai ``with_streaming_response``
    call), read on this thread until ``deadline`` (``time.monotonic()``). The HTTP timeout bounds each
    read, not the total; a server trickling a byte at a time is cut off here at the deadline and its
    response closed (socket included): no worker thread is left behind, nothing keeps running."""
    with request() as response:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_REPLY:
                raise LlmUnavailable(f"reply larger than {MAX_REPLY} bytes")
            if time.monotonic() > deadline:
                raise LlmUnavailable("no complete answer in time (the server trickles)")
    return b"".join(chunks)


class LlmRecognizer:
    """Same shape as ``TemplateRecognizer``: ``candidates(text, context)`` -> ``list[Candidate]``.
    Candidate slots are tool arguments; the core builds them with ``Intent.from_tool_args``."""

    name = "llm"
    gives_tool_args = True  # tells the core: slots are typed tool arguments, not template matches

    def __init__(self, schemas: dict[str, type[Intent]], settings: LlmSettings, max_tokens: int = MAX_TOKENS):
        if not settings.url:
            raise ValueError("llm.url is not set; the LLM tier needs an OpenAI-compatible server URL")
        self.schemas = schemas
        self.settings = settings
        self.max_tokens = max_tokens
        self.model: str | None = settings.model
        self.tools = [compact_tool(schema.tool()) for schema in schemas.values()]
        self.client = openai.OpenAI(base_url=settings.url, api_key=settings.api_key,
                                    timeout=settings.timeout_s, max_retries=0)
        self.last_reply: str | None = None  # the model's text when it called no tool

    def set_list(self, name: str, values: Iterable[Any]) -> None:
        """Slot lists are the template tier's business; the model reads names from the text."""

    def candidates(self, text: str, context: dict[str, Any] | None = None) -> list[Candidate]:
        self.last_reply = None
        if not text:
            return []
        try:
            message = self._complete(text, context, time.monotonic() + self.settings.timeout_s)
        except (LlmUnavailable, openai.APIError) as exc:
            log.warning("LLM tier skipped: %s at %s: %s", type(exc).__name__, self.settings.url, exc)
            return []
        except Exception as exc:  # a broken reply must never reach the user as an exception
            log.warning("LLM tier skipped: unusable reply from %s: %s: %s", self.settings.url, type(exc).__name__, exc)
            return []
        return self._parse(message, text)

    def _client(self, deadline: float) -> openai.OpenAI:
        """The client with an HTTP timeout of the time left (the same connection pool)."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise LlmUnavailable(f"no answer within {self.settings.timeout_s:g} s")
        return self.client.with_options(timeout=left)

    def _model_name(self, deadline: float) -> str:
        """``llm.model``, else the first model the server lists (asked once, then kept)."""
        if self.model is None:
            client = self._client(deadline)
            body = read_within(deadline, lambda: client.models.with_streaming_response.list())
            served = json.loads(body).get("data") or []
            if not served or not isinstance(served[0], dict) or not served[0].get("id"):
                raise LlmUnavailable("the server lists no model; set llm.model")
            self.model = str(served[0]["id"])
            log.info("LLM tier uses model %s from %s", self.model, self.settings.url)
        return self.model

    def _complete(self, text: str, context: dict[str, Any] | None, deadline: float) -> Any:
        system = SYSTEM_PROMPT
        if context and context.get("area"):
            system += f" The user is in the {context['area']}."
        model = self._model_name(deadline)
        client = self._client(deadline)
        body = read_within(deadline, lambda: client.chat.completions.with_streaming_response.create(
            model=model,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
            tools=self.tools,
            tool_choice="auto",
            temperature=0,
            max_tokens=self.max_tokens,
        ))
        return ChatCompletion.model_validate_json(body).choices[0].message

    def _parse(self, message: Any, text: str) -> list[Candidate]:
        calls = getattr(message, "tool_calls", None) or []
        if not calls:
            self.last_reply = (getattr(message, "content", None) or "").strip() or None
            log.debug("LLM tier: no tool call for %r (said %r)", text, self.last_reply)
            return []
        out = []
        for call in calls:
            function = getattr(call, "function", None)
            name = getattr(function, "name", None)
            if name not in self.schemas:
                log.warning("LLM tier: model called unknown tool %r; ignored", name)
                continue
            try:
                args = json.loads(getattr(function, "arguments", None) or "{}")
            except (TypeError, json.JSONDecodeError) as exc:
                log.warning("LLM tier: %s arguments are not JSON (%s); ignored", name, exc)
                continue
            if not isinstance(args, dict):
                log.warning("LLM tier: %s arguments are not an object (%r); ignored", name, args)
                continue
            out.append(Candidate(name, args, text))
        return out
