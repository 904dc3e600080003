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

from understanding import MAPPING, label_of, scope  # noqa: E402

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


def gguf_counter(path: str) -> Any:
    """count(messages, tools) -> the exact prompt tokens with this GGUF's tokenizer and chat template
    (the same as the server would read; no model weights are loaded)."""
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = Llama(model_path=path, vocab_only=True, verbose=False)
    meta = llm.metadata
    formatter = Jinja2ChatFormatter(
        meta["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(llm.token_eos()),
        bos_token=llm._model.token_get_text(llm.token_bos()),
    )

    def count(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> int:
        prompt = formatter(messages=messages, tools=tools).prompt
        return len(llm.tokenize(prompt.encode(), add_bos=False, special=True))

    return count


def prompt_tokens(assistant: Any, settings: Any, url: str | None, gguf: str | None = None) -> None:
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
        tools = {"tools": tier.tools} if settings.mode == "tools" else {}  # json mode: listed in the prompt
        chars = sum(len(m["content"]) for m in messages) + len(json.dumps(tools))
        counted = None
        if gguf:
            counted = gguf_counter(gguf)(messages, tools.get("tools"))
        elif url:
            try:
                r = tier.client.chat.completions.create(
                    model=tier._model_name(time.monotonic() + settings.timeout_s),
                    messages=messages,
                    max_tokens=1,
                    temperature=0,
                    **tools,
                )
                counted = r.usage.prompt_tokens if r.usage else None
            except Exception as exc:  # report and go on: the estimate still says something
                print(f"  (server did not count: {type(exc).__name__}: {exc})")
        device_lines = sum(
            1
            for m in messages
            if m["role"] == "system"
            for line in m["content"].splitlines()
            if line.startswith("- ")
        )
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


def first_token(tier: Any, texts: list[str], deadline_s: float) -> list[float]:
    """Streamed time to the first token of the reply (ms), one request per text."""
    out = []
    for text in texts:
        messages = tier.messages(text, {})
        extra = (
            {"tools": tier.tools}
            if tier.settings.mode == "tools"
            else {"response_format": {"type": "json_object"}}
        )
        t0 = time.perf_counter()
        stream = tier.client.chat.completions.create(
            model=tier._model_name(time.monotonic() + deadline_s),
            messages=messages,
            max_tokens=64,
            temperature=0,
            stream=True,
            **extra,
        )
        for chunk in stream:
            if chunk.choices and (chunk.choices[0].delta.content or chunk.choices[0].delta.tool_calls):
                out.append((time.perf_counter() - t0) * 1000)
                break
        for _ in stream:
            pass
    return out


def piper_first_chunk_ms(assistant: Any, texts: list[str]) -> list[float]:
    """Piper's time to the first audio chunk of each answer (ms); [] without a voice."""
    try:
        from assistant.tts import Tts

        tts = Tts(assistant.config.tts)
    except Exception as exc:  # no voice installed: the answer alone
        print(f"  (no Piper voice: {exc})")
        return []
    out = []
    for text in texts:
        t0 = time.perf_counter()
        next(iter(tts.stream(text)), None)
        out.append((time.perf_counter() - t0) * 1000)
    return out


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
    ap.add_argument("--threshold", type=float, help="llm.scope_threshold for the run (default: the config's)")
    ap.add_argument("--stand-in", action="store_true", help="a local server that calls a tool for everything")
    ap.add_argument("--latency-rows", type=int, default=3, help="rows whose time to first token is measured")
    ap.add_argument(
        "--sample-out",
        type=int,
        default=0,
        help="ask the LLM for a random sample (seed 13) of this many of the out-of-scope rows that reach it "
        "(0: all); the false-action rate is then extrapolated to all of them",
    )
    ap.add_argument(
        "--count-with",
        help="a GGUF whose tokenizer and chat template count the prompt tokens (not the server)",
    )
    ap.add_argument("--local-cache", help="JSONL of the local pass: read if it exists, else written")
    ap.add_argument("--log", help="JSONL: one line per row the LLM was asked about (its answer and time)")
    args = ap.parse_args()

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from assistant.config import load_config
    from assistant.core import Assistant
    from assistant.llm import LlmRecognizer
    from intents.normalize import normalize

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    for r in rows:  # reminders SLURP files under calendar_* are ours (as in bench/understanding.py)
        r["intent"] = label_of(r)
    rows = [r for r in rows if scope(r["intent"]) != "skip"]
    if args.limit:
        rows = random.Random(13).sample(rows, min(args.limit, len(rows)))
    url = stand_in_server() if args.stand_in else args.url
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"ASSISTANT_DATA_DIR": data_dir, "ASSISTANT_TZ": "UTC"}
        config = load_config(None if args.home == "none" else args.home, env=env)
        assistant = Assistant(config)  # no llm.url: the local tiers alone first
        threshold = assistant.gate_threshold if args.threshold is None else args.threshold
        assistant.gate_threshold = threshold
        settings = config.llm.model_copy(
            update={"url": url, "model": args.model, "timeout_s": args.timeout, "mode": args.mode}
        )
        prompt_tokens(assistant, settings, None if args.stand_in else url, args.count_with)

        # the local pass: what the templates, context, compound splits and learned tier do alone
        cache = Path(args.local_cache) if args.local_cache else None
        if cache and cache.exists():
            local = [json.loads(line) for line in cache.open(encoding="utf-8")]
            for x in local:  # a cache written before reminders were relabelled
                x["label"] = label_of({"intent": x["label"], "sentence": x["sentence"]})
                x["kind"] = scope(x["label"])
            print(f"\n== {len(local)} devel rows, local pass read from {cache} ==")
        else:
            print(f"\n== {len(rows)} devel rows ({args.data}) ==")
            local, t0 = [], time.perf_counter()
            for r in rows:
                result = assistant.ask(
                    r["sentence"], now=_now(), dry_run=True, conversation=f"row{r['slurp_id']}"
                )
                local.append(
                    {
                        "slurp_id": r["slurp_id"],
                        "sentence": r["sentence"],
                        "label": r["intent"],
                        "kind": scope(r["intent"]),
                        "intent": result.intent,
                        "acted": bool(result.actions),
                        "gate": round(assistant.gate.in_scope(normalize(r["sentence"])), 4),
                    }
                )
            print(f"  local pass: {time.perf_counter() - t0:.0f} s")
            if cache:
                cache.write_text("".join(json.dumps(x) + "\n" for x in local), encoding="utf-8")
        in_rows = [x for x in local if x["kind"] == "in"]
        out_rows = [x for x in local if x["kind"] == "out"]
        misses = [x for x in in_rows if x["intent"] is None]
        out_left = [
            x for x in out_rows if x["intent"] is None
        ]  # the LLM is asked only when nothing local fits
        print(
            f"  local tiers: {len(in_rows) - len(misses)}/{len(in_rows)} in-scope rows understood; "
            f"{sum(x['acted'] for x in out_rows)}/{len(out_rows)} out-of-scope rows acted on"
        )
        print("  scope gate sweep (rows no local tier took, by gate threshold):")
        for t in (0.3, 0.5, 0.7, 0.8, 0.9):
            m = sum(x["gate"] >= t for x in misses)
            o = sum(x["gate"] >= t for x in out_left)
            print(
                f"    {t:.1f}: {m}/{len(misses)} in-scope misses reach the LLM, {o}/{len(out_rows)} out-of-scope rows"
            )
        reach = [x for x in misses if x["gate"] >= threshold]
        out_reach = [x for x in out_left if x["gate"] >= threshold]
        print(
            f"  at {threshold:g}: in-scope rows reaching the LLM (local miss, gate passed): {len(reach)}/{len(misses)} "
            f"misses = {len(reach) / max(1, len(misses)):.0%}; {len(reach) / max(1, len(in_rows)):.1%} of in-scope rows"
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
        print(
            f"\n== the LLM path ({'stand-in: a tool call for everything' if args.stand_in else url}, mode {args.mode}) =="
        )
        asked_out = out_reach
        if args.sample_out and len(out_reach) > args.sample_out:
            asked_out = random.Random(13).sample(out_reach, args.sample_out)
            print(
                f"  out-of-scope: a sample of {len(asked_out)} of the {len(out_reach)} rows that reach the LLM (seed 13)"
            )
        log_file = open(args.log, "w", encoding="utf-8") if args.log else None
        recovered, wrong, acted, llm_ms, answers = 0, 0, 0, [], []
        t_all = time.perf_counter()
        for x in [*reach, *asked_out]:
            t0 = time.perf_counter()
            result = assistant.ask(
                x["sentence"], now=_now(), dry_run=True, conversation=f"llm{x['slurp_id']}"
            )
            took = (time.perf_counter() - t0) * 1000
            by_llm = result.recognizer == "llm"
            if "llm" in result.timings_ms:
                llm_ms.append(took)
            ok = by_llm and (
                result.intent in MAPPING.get(x["label"], set())
                or (
                    result.intent == "Compound"
                    and all(p["intent"] in MAPPING.get(x["label"], set()) for p in result.slots["parts"])
                )
            )
            if x["kind"] == "in":
                recovered += ok
                wrong += by_llm and not ok
            else:
                acted += by_llm and bool(result.actions)
            if by_llm and result.response:
                answers.append(result.response)
            if log_file:
                log_file.write(
                    json.dumps(
                        {
                            **x,
                            "llm_intent": result.intent if by_llm else None,
                            "slots": result.slots if by_llm else None,
                            "response": result.response,
                            "actions": len(result.actions),
                            "ok": ok,
                            "ms": round(took),
                            "usage": tier.last_usage.model_dump() if tier.last_usage else None,
                        },
                        default=str,
                    )
                    + "\n"
                )
                log_file.flush()
        if log_file:
            log_file.close()
        out_rate = acted / max(1, len(asked_out)) * len(out_reach) / max(1, len(out_rows))
        print(
            f"  in-scope local misses recovered by the LLM: {recovered}/{len(misses)} = "
            f"{recovered / max(1, len(misses)):.0%} ({wrong} wrong intent; {len(reach)} asked)"
        )
        print(
            f"  out-of-scope false-action rate of the LLM path: {acted}/{len(asked_out)} asked acted on; "
            f"{out_rate:.1%} of all {len(out_rows)} out-of-scope rows"
            f"{' (extrapolated from the sample)' if len(asked_out) < len(out_reach) else ''}"
            f" ({time.perf_counter() - t_all:.0f} s)"
        )
        if llm_ms:
            print(
                f"  answer time when the LLM was asked (ask() total): p50 {statistics.median(llm_ms):.0f} ms, "
                f"max {max(llm_ms):.0f} ms (n={len(llm_ms)})"
            )
        if not args.stand_in and args.latency_rows:
            ttft = first_token(tier, [x["sentence"] for x in reach[: args.latency_rows]], args.timeout)
            if ttft:
                print(
                    f"  time to first token (streamed): p50 {statistics.median(ttft):.0f} ms, max {max(ttft):.0f} ms (n={len(ttft)})"
                )
            piper = piper_first_chunk_ms(assistant, answers[: args.latency_rows])
            if piper and llm_ms:
                print(
                    f"  time to first audio = answer p50 + Piper's first chunk p50: "
                    f"{statistics.median(llm_ms) + statistics.median(piper):.0f} ms"
                )
        assistant.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
