#!/usr/bin/env python3
"""LLM tier benchmark: prompt size, latency, and what reaches (and acts through) the LLM on SLURP devel.

    python bench/llm.py [--data bench/data/slurp_devel_home.jsonl] [--limit N] [--home bench/home.yaml]
                        [--url http://127.0.0.1:8080/v1 [--model M] [--timeout 60] [--mode tools|json]]
                        [--stand-in]

Prints:
1. prompt tokens (system prompt + tools + devices chosen by relevance) for homes of 10 / 100 / 500
   devices: counted by the server when ``--url`` is given (``usage.prompt_tokens``), else estimated
   at 4 characters a token;
2. over the devel rows (dry run, a throw-away data dir): in-scope rows the local tiers (templates,
   context, compound splits) miss, the share of them (and of all in-scope rows) that pass the scope
   gate and so reach the LLM; out-of-scope rows that would reach it;
3. with ``--url``: time to first token (streamed) and to first audio (tool call -> handler -> Piper's
   first chunk) on a few rows, the share of local misses the LLM path recovers, and the
   out-of-scope false-action rate of the LLM path (rows acted on / out-of-scope rows).
   ``--stand-in`` starts a local server that calls a tool for every request (the issue's measured
   worst case: "the model calls a tool for everything"): the false-action rate is then the gate's.

Opt-in and slow with a real model on a CPU (tens of seconds a request): use --limit.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from understanding import MAPPING, scope  # noqa: E402

NOW = "2026-11-29T10:00"


def synthetic_entities(n: int) -> list[dict[str, Any]]:
    kinds = [
        ("light", "Light", "on"),
        ("switch", "Plug", "off"),
        ("sensor", "Temperature", "21.5"),
        ("cover", "Blind", "closed"),
        ("fan", "Fan", "off"),
    ]
    areas = [
        "Kitchen",
        "Living Room",
        "Bedroom",
        "Bathroom",
        "Office",
        "Hallway",
        "Garage",
        "Dining Room",
        "Attic",
        "Cellar",
    ]
    out = []
    for i in range(n):
        domain, noun, state = kinds[i % len(kinds)]
        area = areas[(i // len(kinds)) % len(areas)]
        out.append(
            {
                "name": f"{area} {noun} {i // 50 + 1}",
                "aliases": [],
                "area": area,
                "domain": domain,
                "state": state,
            }
        )
    return out


def prompt_tokens(assistant: Any, settings: Any, url: str | None) -> None:
    from assistant.llm import LlmRecognizer

    tier = LlmRecognizer(
        assistant.schemas, settings.model_copy(update={"url": url or "http://127.0.0.1:9/v1"})
    )
    print(
        "\n== prompt tokens (system + tools + devices by relevance), request 'turn on the kitchen light 3' =="
    )
    for n in (10, 100, 500):
        messages = tier.messages(
            "turn on the kitchen light 3", {"entities": synthetic_entities(n), "area": "Kitchen"}
        )
        chars = sum(len(m["content"]) for m in messages) + len(json.dumps(tier.tools))
        counted = None
        if url:
            try:
                r = tier.client.chat.completions.create(
                    model=tier._model_name(), messages=messages, tools=tier.tools, max_tokens=1, temperature=0
                )
                counted = r.usage.prompt_tokens if r.usage else None
            except Exception as exc:  # report and go on: the estimate still says something
                print(f"  (server did not count: {type(exc).__name__}: {exc})")
        device_lines = sum(1 for line in messages[0]["content"].splitlines() if line.startswith("- "))
        print(
            f"  {n:4d} devices: {counted if counted is not None else '~' + str(chars // 4)} tokens"
            f"{'' if counted is not None else ' (estimated)'}; {device_lines} devices in the prompt"
        )


def stand_in_server() -> str:
    """A server that calls a tool for everything (turn on the kitchen light)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._send(
                {
                    "object": "list",
                    "data": [{"id": "stand-in", "object": "model", "created": 0, "owned_by": "x"}],
                }
            )

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            call = {
                "id": "c1",
                "type": "function",
                "function": {"name": "HassTurnOn", "arguments": '{"name": "Kitchen Light"}'},
            }
            self._send(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "stand-in",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "tool_calls",
                            "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                }
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def first_token_and_audio(assistant: Any, tier: Any, texts: list[str]) -> None:
    """Streamed time to first token; time to first audio = LLM path answer + Piper's first chunk."""
    ttft, first_audio = [], []
    try:
        from assistant.tts import Tts

        tts = Tts(assistant.config.tts)
    except Exception as exc:  # no voice installed: the answer alone
        print(f"  (no Piper voice: {exc})")
        tts = None
    for text in texts:
        messages = tier.messages(text, {})
        t0 = time.perf_counter()
        stream = tier.client.chat.completions.create(
            model=tier._model_name(),
            messages=messages,
            tools=tier.tools,
            max_tokens=64,
            temperature=0,
            stream=True,
        )
        for chunk in stream:
            if chunk.choices and (chunk.choices[0].delta.content or chunk.choices[0].delta.tool_calls):
                ttft.append((time.perf_counter() - t0) * 1000)
                break
        for _ in stream:
            pass
        t0 = time.perf_counter()
        result = assistant.ask(text, now=_now(), dry_run=True)
        answered = time.perf_counter() - t0
        if tts is not None and result.response:
            t1 = time.perf_counter()
            next(iter(tts.stream(result.response)), None)
            answered += time.perf_counter() - t1
        first_audio.append(answered * 1000)
    if ttft:
        print(
            f"  time to first token: p50 {statistics.median(ttft):.0f} ms, max {max(ttft):.0f} ms (n={len(ttft)})"
        )
    if first_audio:
        print(
            f"  time to first audio (LLM path answer{' + Piper first chunk' if tts else ''}): "
            f"p50 {statistics.median(first_audio):.0f} ms, max {max(first_audio):.0f} ms"
        )


def _now() -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(NOW)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT / "bench" / "data" / "slurp_devel_home.jsonl"))
    ap.add_argument(
        "--home", default=str(ROOT / "bench" / "home.yaml"), help="config with the devices ('none': none)"
    )
    ap.add_argument("--limit", type=int, default=0, help="a random sample of this many rows (0: all)")
    ap.add_argument("--url", help="OpenAI-compatible server of the LLM tier")
    ap.add_argument("--model")
    ap.add_argument(
        "--timeout", type=float, default=60.0, help="llm.timeout_s for the run (CPU servers are slow)"
    )
    ap.add_argument("--mode", default="tools", choices=["tools", "json"])
    ap.add_argument("--stand-in", action="store_true", help="a local server that calls a tool for everything")
    ap.add_argument("--latency-rows", type=int, default=5)
    args = ap.parse_args()

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from assistant.config import load_config
    from assistant.core import Assistant
    from assistant.llm import LlmRecognizer

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    rows = [r for r in rows if scope(r["intent"]) != "skip"]
    if args.limit:
        rows = random.Random(13).sample(rows, min(args.limit, len(rows)))
    url = stand_in_server() if args.stand_in else args.url
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"ASSISTANT_DATA_DIR": data_dir, "ASSISTANT_TZ": "UTC"}
        config = load_config(None if args.home == "none" else args.home, env=env)
        assistant = Assistant(config)  # no llm.url: the local tiers alone first
        settings = config.llm.model_copy(
            update={"url": url, "model": args.model, "timeout_s": args.timeout, "mode": args.mode}
        )
        prompt_tokens(assistant, settings, None if args.stand_in else url)

        print(f"\n== {len(rows)} devel rows ({args.data}) ==")
        misses, out_rows, local_wrong_out = [], [], 0
        in_total = 0
        t0 = time.perf_counter()
        for r in rows:
            kind = scope(r["intent"])
            result = assistant.ask(
                r["sentence"], now=_now(), dry_run=True, conversation=f"row{r['slurp_id']}"
            )
            if kind == "in":
                in_total += 1
                if result.intent is None:
                    misses.append(r)
            else:
                out_rows.append(r)
                local_wrong_out += bool(result.actions)
        local_s = time.perf_counter() - t0
        from intents.normalize import normalize

        reach = [
            r for r in misses if assistant.gate.in_scope(normalize(r["sentence"])) >= assistant.gate_threshold
        ]
        out_reach = [
            r
            for r in out_rows
            if assistant.gate.in_scope(normalize(r["sentence"])) >= assistant.gate_threshold
        ]
        print(
            f"  local tiers: {in_total - len(misses)}/{in_total} in-scope rows understood; "
            f"{local_wrong_out}/{len(out_rows)} out-of-scope rows acted on ({local_s:.0f} s)"
        )
        print(
            f"  in-scope rows reaching the LLM (local miss, gate passed): {len(reach)}/{len(misses)} misses "
            f"= {len(reach) / max(1, len(misses)):.0%}; {len(reach) / max(1, in_total):.1%} of in-scope rows"
        )
        print(
            f"  out-of-scope rows reaching the LLM: {len(out_reach)}/{len(out_rows)} "
            f"= {len(out_reach) / max(1, len(out_rows)):.1%} (the false-action bound of a model that always calls a tool)"
        )

        if not url:
            print("\n(no --url / --stand-in: LLM figures skipped)")
            assistant.close()
            return 0
        tier = LlmRecognizer(assistant.schemas, settings)
        assistant.recognizers.append(tier)
        print(f"\n== the LLM path ({'stand-in: a tool call for everything' if args.stand_in else url}) ==")
        if not args.stand_in:
            first_token_and_audio(assistant, tier, [r["sentence"] for r in reach[: args.latency_rows]])
        recovered, wrong, t0 = 0, 0, time.perf_counter()
        for r in reach:
            result = assistant.ask(
                r["sentence"], now=_now(), dry_run=True, conversation=f"llm{r['slurp_id']}"
            )
            if result.recognizer == "llm":
                ok = result.intent in MAPPING.get(r["intent"], set()) or (
                    result.intent == "Compound"
                    and all(p["intent"] in MAPPING.get(r["intent"], set()) for p in result.slots["parts"])
                )
                recovered += ok
                wrong += not ok
        acted = 0
        for r in out_reach:
            result = assistant.ask(
                r["sentence"], now=_now(), dry_run=True, conversation=f"llm{r['slurp_id']}"
            )
            acted += result.recognizer == "llm" and bool(result.actions)
        print(
            f"  in-scope local misses recovered by the LLM: {recovered}/{len(misses)} = "
            f"{recovered / max(1, len(misses)):.0%} ({wrong} wrong intent)"
        )
        print(
            f"  out-of-scope false-action rate of the LLM path: {acted}/{len(out_rows)} = "
            f"{acted / max(1, len(out_rows)):.1%} ({time.perf_counter() - t0:.0f} s)"
        )
        assistant.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
