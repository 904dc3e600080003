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
import logging
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
    request = "turn on the kitchen light 3"
    print(f"\n== prompt tokens (system + tools + devices by relevance), request {request!r} ==")
    for n in (10, 100, 500):
        context = {"entities": synthetic_entities(n), "area": "Kitchen", **scores_of(assistant, request)}
        messages = tier.messages(request, context)
        offered = tier.offered(context)
        tools = {"tools": offered} if settings.mode == "tools" else {}  # json mode: listed in the prompt
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
            f"{'' if counted is not None else ' (estimated)'}; {device_lines} devices and "
            f"{len(offered)} tools in the prompt"
        )


def scores_of(assistant: Any, text: str) -> dict[str, Any]:
    """The context entry the core adds for ``llm.tools_top_k``: the learned tier's intent scores."""
    from intents.normalize import normalize
    from intents.scope import IntentRanker

    if isinstance(assistant.gate, IntentRanker):
        return {"intent_scores": assistant.gate.intent_scores(normalize(text))}
    return {}


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


def first_token(tier: Any, texts: list[tuple[Any, str]], deadline_s: float) -> list[float]:
    """Streamed time to the first token of the reply (ms), one request per (assistant, text)."""
    from assistant.llm import calls_schema

    out = []
    for assistant, text in texts:
        context = scores_of(assistant, text)
        messages = tier.messages(text, context)
        offered = tier.offered(context)
        extra = (
            {"tools": offered}
            if tier.settings.mode == "tools"
            else {"response_format": {"type": "json_object", "schema": calls_schema(offered)}}
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


class RowLog(logging.Handler):
    """What the core logged about the LLM tier during one row: rejected or unknown tool calls."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "rejected" in msg or "LLM tier" in msg:
            self.lines.append(msg[:300])


def outcome(x: dict[str, Any]) -> str:
    """recovered (right intent) / wrong (another intent) / rejected (a call the schemas or handlers
    refused, or an unknown tool) / none (no call) / error (no answer in time), for one row the LLM
    was asked about."""
    if x["by_llm"]:
        return "recovered" if x["ok"] else "wrong"
    if any("LLM tier skipped" in line for line in x["rejections"]):
        return "error"  # no usable answer: timeout, server down
    return "rejected" if x["rejections"] else "none"


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
    ap.add_argument(
        "--top-k", type=int, help="llm.tools_top_k for the run: the k best ranked intents' tools (0: all)"
    )
    ap.add_argument("--threshold", type=float, help="llm.scope_threshold for the run (default: the config's)")
    ap.add_argument(
        "--fold-models",
        help="DIR with the fold models of `python -m intents.train --fold-models DIR`: each devel row is "
        "answered and gated by the learned model trained without its fold (cross-validated figures; the "
        "shipped model was trained on devel, so without this the local and gate figures are in-sample)",
    )
    ap.add_argument(
        "--ask-from",
        type=float,
        help="ask the LLM about every row no local tier took whose gate score is at least this (default: "
        "the threshold); the figures are then given for each gate threshold from it up (the gate decides "
        "before the LLM is asked, so one run answers them all). 0: every local miss, gated or not",
    )
    ap.add_argument(
        "--budget-s",
        type=float,
        default=0,
        help="stop asking after this many seconds (rows go best gate score first, so the figures stay "
        "complete for the thresholds down to the last score asked)",
    )
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
    from intents.train import FOLDS, fold_of

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    for r in rows:  # reminders SLURP files under calendar_* are ours (as in bench/understanding.py)
        r["intent"] = label_of(r)
    rows = [r for r in rows if scope(r["intent"]) != "skip"]
    if args.limit:
        rows = random.Random(13).sample(rows, min(args.limit, len(rows)))
    url = stand_in_server() if args.stand_in else args.url
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"ASSISTANT_DATA_DIR": data_dir, "ASSISTANT_TZ": "UTC"}
        home = None if args.home == "none" else args.home
        # one Assistant (no llm.url: the local tiers alone first) per fold model, else one for all rows
        assistants: dict[int | None, Any] = {}
        if args.fold_models:
            for k in range(FOLDS):
                model = Path(args.fold_models) / f"fold{k}.npz"
                if not model.is_file():
                    sys.exit(f"no {model}: run `python -m intents.train --fold-models {args.fold_models}`")
                assistants[k] = Assistant(
                    load_config(home, env={**env, "ASSISTANT_LEARNED_MODEL": str(model)})
                )
        else:
            assistants[None] = Assistant(load_config(home, env=env))

        def assistant_for(slurp_id: Any) -> Any:
            return assistants[fold_of(slurp_id) if args.fold_models else None]

        first = next(iter(assistants.values()))
        config = first.config
        threshold = first.gate_threshold if args.threshold is None else args.threshold
        ask_from = threshold if args.ask_from is None else args.ask_from
        for a in assistants.values():
            a.gate_threshold = ask_from  # the gate of the run; higher thresholds are read off the scores
        settings = config.llm.model_copy(
            update={"url": url, "model": args.model, "timeout_s": args.timeout, "mode": args.mode}
        )
        if args.top_k is not None:
            settings = settings.model_copy(update={"tools_top_k": args.top_k})
        prompt_tokens(first, settings, None if args.stand_in else url, args.count_with)

        # the local pass: what the templates, context, compound splits and learned tier do alone
        cache = Path(args.local_cache) if args.local_cache else None
        if cache and cache.exists():
            local = [json.loads(line) for line in cache.open(encoding="utf-8")]
            for x in local:  # a cache written before reminders were relabelled
                x["label"] = label_of({"intent": x["label"], "sentence": x["sentence"]})
                x["kind"] = scope(x["label"])
            print(f"\n== {len(local)} devel rows, local pass read from {cache} ==")
        else:
            cv = (
                "cross-validated fold models" if args.fold_models else "the shipped learned model (in-sample)"
            )
            print(f"\n== {len(rows)} devel rows ({args.data}), learned tier and gate: {cv} ==")
            local, t0 = [], time.perf_counter()
            for r in rows:
                assistant = assistant_for(r["slurp_id"])
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
        sweep = sorted({0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, threshold})
        print("  scope gate sweep (rows no local tier took, by gate threshold):")
        for t in sweep:
            m = sum(x["gate"] >= t for x in misses)
            o = sum(x["gate"] >= t for x in out_left)
            print(
                f"    {t:.2f}: {m}/{len(misses)} in-scope misses reach the LLM, {o}/{len(out_rows)} out-of-scope rows"
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
            for a in assistants.values():
                a.close()
            return 0
        tier = LlmRecognizer(first.schemas, settings)
        for a in assistants.values():
            a.recognizers.append(tier)
        print(
            f"\n== the LLM path ({'stand-in: a tool call for everything' if args.stand_in else url}, mode {args.mode}, "
            f"tools_top_k {settings.tools_top_k}) =="
        )
        ask_in = [x for x in misses if x["gate"] >= ask_from]
        ask_out = [x for x in out_left if x["gate"] >= ask_from]
        sampled = len(ask_out)
        if args.sample_out and len(ask_out) > args.sample_out:
            ask_out = random.Random(13).sample(ask_out, args.sample_out)
            print(
                f"  out-of-scope: a sample of {len(ask_out)} of the {sampled} rows that reach the LLM (seed 13)"
            )
        print(
            f"  asking about {len(ask_in)} in-scope misses and {len(ask_out)} out-of-scope rows (gate >= {ask_from:g})"
        )
        log_file = open(args.log, "w", encoding="utf-8") if args.log else None
        catcher = RowLog()
        logging.getLogger().addHandler(catcher)
        asked, llm_ms, answers, tokens = [], [], [], []
        t_all = time.perf_counter()
        for x in sorted([*ask_in, *ask_out], key=lambda x: -x["gate"]):
            if args.budget_s and time.perf_counter() - t_all > args.budget_s:
                print(f"  time budget spent: stopped before gate {x['gate']:.2f}")
                break
            catcher.lines = []
            t0 = time.perf_counter()
            result = assistant_for(x["slurp_id"]).ask(
                x["sentence"], now=_now(), dry_run=True, conversation=f"llm{x['slurp_id']}"
            )
            took = (time.perf_counter() - t0) * 1000
            by_llm = result.recognizer == "llm"
            offered = [
                t["function"]["name"]
                for t in tier.offered(scores_of(assistant_for(x["slurp_id"]), x["sentence"]))
            ]
            if "llm" in result.timings_ms:
                llm_ms.append(took)
            if tier.last_usage is not None:
                tokens.append(tier.last_usage.prompt_tokens)
            ok = by_llm and (
                result.intent in MAPPING.get(x["label"], set())
                or (
                    result.intent == "Compound"
                    and all(p["intent"] in MAPPING.get(x["label"], set()) for p in result.slots["parts"])
                )
            )
            row = {
                **x,
                "by_llm": by_llm,
                "ok": ok,
                "acted": by_llm and bool(result.actions),
                "llm_intent": result.intent if by_llm else None,
                "slots": result.slots if by_llm else None,
                "response": result.response,
                "rejections": list(catcher.lines),
                "said": tier.last_reply,
                "ms": round(took),
                "prompt_tokens": tier.last_usage.prompt_tokens if tier.last_usage else None,
                "offered": offered if len(offered) < len(tier.tools) else "all",
                "gold_offered": bool(MAPPING.get(x["label"], set()) & set(offered)),
            }
            row["outcome"] = outcome(row)
            asked.append(row)
            if by_llm and result.response:
                answers.append(result.response)
            print(
                f"    [{row['outcome']:9s}] {x['kind']:3s} gate {x['gate']:.2f} {x['label']:24s} "
                f"{x['sentence']!r} -> {row['llm_intent'] or '-'} {json.dumps(row['slots']) if by_llm else ''}"
                f"{' | ' + '; '.join(row['rejections']) if row['rejections'] else ''}"
                f"{' | said ' + repr((tier.last_reply or '')[:120]) if row['outcome'] == 'none' else ''}",
                flush=True,
            )
            if log_file:
                log_file.write(json.dumps(row, default=str) + "\n")
                log_file.flush()
        logging.getLogger().removeHandler(catcher)
        if log_file:
            log_file.close()
        print(f"  ({len(asked)} rows asked in {time.perf_counter() - t_all:.0f} s)")
        if len(asked) < len(ask_in) + len(ask_out):
            ask_from = asked[-1]["gate"] if asked else 1.0  # the figures hold down to the last score asked
        scale = sampled / max(1, len(ask_out))
        print(
            "  by gate threshold (recovered / wrong / rejected of the in-scope local misses; out-of-scope acted on):"
        )
        for t in [s for s in sweep if s >= ask_from]:
            got = [r for r in asked if r["gate"] >= t]
            count = {
                k: sum(r["outcome"] == k for r in got if r["kind"] == "in")
                for k in ("recovered", "wrong", "rejected", "none", "error")
            }
            acted = sum(r["acted"] for r in got if r["kind"] == "out") * scale
            intent = sum(r["by_llm"] for r in got if r["kind"] == "out") * scale  # queries too
            print(
                f"    {t:.2f}{' (the configured gate)' if t == threshold else ''}: recovered {count['recovered']}/{len(misses)} "
                f"= {count['recovered'] / max(1, len(misses)):.0%}, wrong {count['wrong']}, rejected {count['rejected']}, "
                f"no call {count['none']}, no answer {count['error']}; out of scope acted on {acted:.0f}/{len(out_rows)} = {acted / max(1, len(out_rows)):.1%} "
                f"(given an intent: {intent:.0f})"
                f"{' (extrapolated from the sample)' if scale > 1 else ''}"
            )
        if tokens:
            print(
                f"  prompt tokens per request (server's count): p50 {statistics.median(tokens):.0f}, max {max(tokens)}"
            )
        if llm_ms:
            print(
                f"  answer time when the LLM was asked (ask() total): p50 {statistics.median(llm_ms):.0f} ms, "
                f"max {max(llm_ms):.0f} ms (n={len(llm_ms)})"
            )
        if not args.stand_in and args.latency_rows:
            ttft = first_token(
                tier,
                [(assistant_for(x["slurp_id"]), x["sentence"]) for x in ask_in[: args.latency_rows]],
                args.timeout,
            )
            if ttft:
                print(
                    f"  time to first token (streamed): p50 {statistics.median(ttft):.0f} ms, max {max(ttft):.0f} ms (n={len(ttft)})"
                )
            piper = piper_first_chunk_ms(first, answers[: args.latency_rows])
            if piper and llm_ms:
                print(
                    f"  time to first audio = answer p50 + Piper's first chunk p50: "
                    f"{statistics.median(llm_ms) + statistics.median(piper):.0f} ms"
                )
        for a in assistants.values():
            a.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
