#!/usr/bin/env python3
"""Experiment: a multiple-choice step read by log-probabilities, for the rows the local tiers miss.

    PYTHONPATH=$PWD python bench/llm_choice.py --url http://127.0.0.1:8131/v1 \\
        --fold-models /work/models/folds --local-cache /tmp/local_cv.jsonl --log /tmp/choice.jsonl
    PYTHONPATH=$PWD python bench/llm_choice.py --report /tmp/choice.jsonl --local-cache /tmp/local_cv.jsonl

For every row of ``bench/llm.py``'s local pass (``--local-cache``, cross-validated with
``--fold-models``) that no local tier took and whose gate score is at least ``--ask-from``, the model
is asked one question: a fixed head (every intent with its one-line description, and what the
assistant cannot do; identical for every request, so the server's prompt cache reads it once), then
the user's words and the learned tier's five best ranked intents (the row's fold model) as letters A-E,
plus F = "none of these". One token is generated (``max_tokens`` 1) and the probability of each letter
is read from ``top_logprobs``. Rows go best gate score first, so a stopped run is complete for the
thresholds down to the last score asked; each row is one line of ``--log`` (a rerun skips those).

The report (also printed after asking) sweeps rules on p = the probability of the best letter other
than F (normalised over A-F) and p x gate: in-scope misses given the RIGHT intent (as bench/llm.py's
``ok``: in bench/understanding.py's MAPPING for the row's label) and out-of-scope rows given any intent,
or a state-changing one (every intent but the queries in QUERIES).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from understanding import MAPPING, label_of, scope  # noqa: E402

LETTERS = "ABCDE"
NONE_LETTER = "F"
# Intents that only answer a question: an out-of-scope row given one of them changes nothing.
QUERIES = {
    "HassTimerStatus",
    "ListAlarms",
    "HassGetCurrentTime",
    "HassGetCurrentDate",
    "MediaWhatsPlaying",
    "HassGetWeather",
    "HassClimateGetTemperature",
    "HassGetState",
    "ListReminders",
    "GetListItems",
    "GetHelp",
    "ListPreferences",
}
CANNOT = (
    "calendars, meetings, events and appointments; email, text messages and phone calls; "
    "social media; shopping orders, deliveries, taxis and bookings; recipes; games, jokes and chat; "
    "general knowledge, facts, definitions, maths; converting currencies, units or time zones; traffic"
)


def head(descriptions: dict[str, str]) -> str:
    """The fixed system prompt: the same for every request."""
    lines = "\n".join(f"- {name}: {text}" for name, text in descriptions.items())
    return (
        "You sort requests for a voice assistant in a home. The assistant can do only these things:\n"
        f"{lines}\n\n"
        f"It cannot do anything else, for example: {CANNOT}.\n\n"
        "You get what the user said (a speech transcript, it may have errors) and up to five actions "
        "lettered A to E, and F: none of these. Answer with one letter: the action that does what the "
        "user asks, or F when the request asks for something none of the actions does, something the "
        "assistant cannot do, or is not a request at all. Sharing a word with an action is not enough: "
        "a meeting is not a reminder, a calendar is not an alarm, a game is not music."
    )


def question(text: str, candidates: list[str], descriptions: dict[str, str]) -> str:
    options = "\n".join(
        f"{letter}. {name}: {descriptions[name]}" for letter, name in zip(LETTERS, candidates, strict=False)
    )
    return (
        f'The user said: "{text}"\n\n{options}\n{NONE_LETTER}. None of these: something else.\n\n'
        "Answer with one letter."
    )


def letter_probs(top: list[dict[str, Any]], letters: str) -> tuple[dict[str, float], float]:
    """{letter: probability normalised over ``letters``} from the first token's top logprobs, and the
    raw probability mass those letters had (spellings such as " A" or "A." count for A)."""
    mass = dict.fromkeys(letters, 0.0)
    for entry in top:
        token = entry["token"].strip().rstrip(".):")
        if token in mass:
            mass[token] += math.exp(entry["logprob"])
    total = sum(mass.values())
    return ({k: v / total for k, v in mass.items()} if total else mass), total


def ask(url: str, model: str, system: str, user: str, timeout: float) -> tuple[dict[str, Any], float]:
    body = {
        "model": model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "max_tokens": 1,
        "temperature": 0,
        "logprobs": True,
        "top_logprobs": 20,
    }
    request = urllib.request.Request(
        url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    t0 = time.perf_counter()
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        answer = json.loads(reply.read())
    return answer, time.perf_counter() - t0


def local_rows(cache: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in cache.open(encoding="utf-8")]
    for x in rows:  # as bench/llm.py reads its cache
        x["label"] = label_of({"intent": x["label"], "sentence": x["sentence"]})
        x["kind"] = scope(x["label"])
    return rows


def run(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    from intents.learned import NONE, Model
    from intents.normalize import normalize
    from intents.registry import intents
    from intents.train import FOLDS, fold_of

    schemas = intents()
    descriptions = {name: " ".join(cls.description.split()) for name, cls in schemas.items()}
    models = [Model.load(Path(args.fold_models) / f"fold{k}.npz") for k in range(FOLDS)]
    system = head(descriptions)
    log = Path(args.log)
    done = {json.loads(line)["slurp_id"] for line in log.open()} if log.exists() else set()
    todo = [x for x in rows if x["intent"] is None and x["kind"] != "skip" and x["gate"] >= args.ask_from]
    todo = [x for x in sorted(todo, key=lambda x: -x["gate"]) if x["slurp_id"] not in done]
    print(f"asking about {len(todo)} rows (gate >= {args.ask_from}; {len(done)} already in {log})")
    t_all = time.perf_counter()
    with log.open("a", encoding="utf-8") as out:
        for x in todo:
            if args.budget_s and time.perf_counter() - t_all > args.budget_s:
                print(f"time budget spent: stopped before gate {x['gate']:.2f}")
                break
            scores = models[fold_of(x["slurp_id"])].classify(normalize(x["sentence"]).split())
            ranked = sorted((k for k in scores if k != NONE and k in schemas), key=lambda k: (-scores[k], k))[
                :5
            ]
            letters = LETTERS[: len(ranked)] + NONE_LETTER
            answer, took = ask(
                args.url, args.model, system, question(x["sentence"], ranked, descriptions), args.timeout
            )
            top = answer["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            probs, mass = letter_probs(top, letters)
            row = {
                **x,
                "candidates": ranked,
                "scores": [round(scores[k], 4) for k in ranked],
                "probs": {k: round(v, 4) for k, v in probs.items()},
                "mass": round(mass, 4),
                "said": answer["choices"][0]["message"]["content"],
                "prompt_tokens": answer.get("usage", {}).get("prompt_tokens"),
                "s": round(took, 2),
            }
            out.write(json.dumps(row) + "\n")
            out.flush()
            best = max(probs, key=lambda k: probs[k])
            print(
                f"  {x['kind']:3s} gate {x['gate']:.2f} {x['label']:22s} {x['sentence'][:60]!r:62s} "
                f"-> {best} {ranked[LETTERS.index(best)] if best != NONE_LETTER else 'none':22s} "
                f"p {probs[best]:.2f} (mass {mass:.2f}, {took:.1f} s)",
                flush=True,
            )


def right(row: dict[str, Any], intent: str) -> bool:
    return intent in MAPPING.get(row["label"], set())


def report(log: Path, local: list[dict[str, Any]]) -> None:
    asked = [json.loads(line) for line in log.open(encoding="utf-8")]
    misses = [x for x in local if x["kind"] == "in" and x["intent"] is None]
    n_out = sum(x["kind"] == "out" for x in local)
    ids = {r["slurp_id"] for r in asked}
    left = [x for x in local if x["intent"] is None and x["kind"] != "skip" and x["slurp_id"] not in ids]
    floor = max((x["gate"] for x in left), default=0.0)  # every row scoring above this was asked
    ins = [r for r in asked if r["kind"] == "in"]
    outs = [r for r in asked if r["kind"] == "out"]
    print(
        f"\n== {len(asked)} rows asked ({len(ins)} in-scope misses of {len(misses)}, {len(outs)} out of scope "
        f"of {n_out}); complete for gate thresholds above {floor:.4f} =="
    )
    for r in asked:
        choices = {k: v for k, v in r["probs"].items() if k != NONE_LETTER}
        best = max(choices, key=lambda k: choices[k]) if choices else None
        r["pick"] = r["candidates"][LETTERS.index(best)] if best else None
        r["top1"] = r["candidates"][0] if r["candidates"] else None
        r["p"] = choices[best] if best else 0.0
        r["argmax"] = (
            best is not None and r["p"] >= r["probs"][NONE_LETTER] and r["p"] == max(r["probs"].values())
        )
    gold = sum(any(right(r, c) for c in r["candidates"]) for r in ins)
    top1 = sum(right(r, r["candidates"][0]) for r in ins if r["candidates"])
    print(
        f"  right intent among the 5 offered: {gold} of {len(ins)} asked misses; learned top-1 right: {top1}; "
        f"letter mass p50 {sorted(r['mass'] for r in asked)[len(asked) // 2]:.2f}"
    )

    def line(name: str, take: Any, pick: str = "pick") -> None:
        got = [r for r in asked if take(r)]
        rec = sum(right(r, r[pick]) for r in got if r["kind"] == "in")
        wrong = sum(not right(r, r[pick]) for r in got if r["kind"] == "in")
        out_any = sum(r["kind"] == "out" for r in got)
        out_state = sum(r["kind"] == "out" and r[pick] not in QUERIES for r in got)
        print(
            f"  {name:34s} right {rec:2d}/{len(misses)} ({rec / len(misses):4.0%}) wrong {wrong:2d} | "
            f"out: any intent {out_any:2d}/{n_out} ({out_any / n_out:.1%}), state-changing {out_state:2d} "
            f"({out_state / n_out:.1%})"
        )

    for gate in (0.1, 0.3, 0.5):
        if gate <= floor:
            continue
        print(f"\n  gate >= {gate}:")
        line("learned top-1 (no LLM)", lambda r, g=gate: r["gate"] >= g, "top1")
        line("argmax letter (not F)", lambda r, g=gate: r["gate"] >= g and r["argmax"])
        for theta in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
            line(f"p(best letter) >= {theta}", lambda r, g=gate, t=theta: r["gate"] >= g and r["p"] >= t)
    print("\n  p x gate (gate >= the rows asked):")
    for theta in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        line(f"p x gate >= {theta}", lambda r, t=theta: r["p"] * r["gate"] >= t)
    print("\n  p(F) below a bound (best letter otherwise):")
    for theta in (0.05, 0.1, 0.2, 0.3, 0.5):
        line(f"p(F) < {theta}", lambda r, t=theta: r["probs"][NONE_LETTER] < t)
    secs = sorted(r["s"] for r in asked)
    print(f"\n  answer time p50 {secs[len(secs) // 2]:.1f} s, max {secs[-1]:.1f} s (n={len(secs)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="OpenAI-compatible server (llama.cpp) to ask; without it, only --report")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--fold-models", help="DIR with fold0..4.npz (python -m intents.train --fold-models DIR)")
    ap.add_argument("--local-cache", required=True, help="bench/llm.py's --local-cache JSONL (read only)")
    ap.add_argument("--ask-from", type=float, default=0.1, help="ask rows with a gate score at least this")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds one request may take")
    ap.add_argument("--budget-s", type=float, default=0, help="stop asking after this many seconds")
    ap.add_argument("--log", help="JSONL written while asking (appended to; rows in it are not asked again)")
    ap.add_argument("--report", help="JSONL of an earlier run: print its sweep and ask nothing")
    args = ap.parse_args()
    local = local_rows(Path(args.local_cache))
    if args.report:
        report(Path(args.report), local)
        return 0
    if not (args.url and args.fold_models and args.log):
        ap.error("asking needs --url, --fold-models and --log")
    run(args, local)
    report(Path(args.log), local)
    return 0


if __name__ == "__main__":
    sys.exit(main())
