#!/usr/bin/env python3
"""Training sentences as the learned tier will read them: spoken, then transcribed.

    python bench/asr_training.py                      # writes intents/train_data/asr_transcripts.jsonl
    python bench/asr_training.py --sources slurp,ha,own --voices piper,espeak --snips 0 --templates 0

Speaks the written training sentences of ``intents.train`` (SLURP devel home rows, HA's English
tests, our paraphrases; optionally the first N Snips rows and template walks in sha1 order) with
Piper joe (noise 0) and espeak-ng (en-us, 160 wpm), decodes them with the pipeline's Whisper
(tiny.en, as bench/spoken_understanding.py: the same transcript cache, so what one run decoded the
other reuses) and writes one JSON line per (sentence, voice): ``source``, ``text``, ``voice``,
``heard``. ``python -m intents.train`` adds the transcripts that differ from the sentence as
training examples (``spoken()`` there), with the sentence's intent and, where the slot's words
survived, its tags.

SLURP devel rows are in it: the spoken version of a row keeps the row's cross-validation fold, so
fold models never see a held-out row in any form and devel figures stay honest.

The output is sorted and the synthesis deterministic, so a rerun on the same machine writes the
same bytes; the file is vendored so that training needs neither Piper nor Whisper.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from spoken_understanding import VOICES, TranscriptCache, asr_key, spoken, transcribe  # noqa: E402
from wake import CACHE  # noqa: E402

from assistant.pipeline import Engines  # noqa: E402
from assistant.voice_settings import VoiceSettings  # noqa: E402
from intents.train import DATA, SPOKEN, written  # noqa: E402


def first(examples: list, n: int) -> list:
    """The first n examples in sha1(text) order: a fixed sample."""
    return sorted(examples, key=lambda e: hashlib.sha1(e.text.encode()).hexdigest())[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", default="slurp,ha,own", help="sources spoken in full")
    ap.add_argument("--snips", type=int, default=0, help="also the first N Snips rows")
    ap.add_argument("--templates", type=int, default=0, help="also the first N template walks")
    ap.add_argument("--voices", default="piper,espeak")
    ap.add_argument("--out", type=Path, default=DATA / SPOKEN)
    ap.add_argument(
        "--cached-only",
        action="store_true",
        help="only sentences already in the transcript cache (decode nothing)",
    )
    args = ap.parse_args()

    examples = written()
    chosen = [e for e in examples if e.source in args.sources.split(",")]
    chosen += first([e for e in examples if e.source == "snips"], args.snips)
    chosen += first([e for e in examples if e.source == "template"], args.templates)
    todo = sorted({(e.source, e.text) for e in chosen if e.text})

    settings = VoiceSettings()
    engines = Engines.load(settings)
    key = asr_key(settings)
    cache = TranscriptCache(CACHE / "transcripts.json")
    rows = []
    t0 = time.perf_counter()
    decoded = 0
    for voice in args.voices.split(","):
        params, speak = VOICES[voice]
        for i, (source, text) in enumerate(todo):
            said = spoken(text)
            k = repr((params, said, key))
            heard = cache.get(k)
            if heard is None and args.cached_only:
                continue
            if heard is None:
                heard = cache.put(k, transcribe(engines, speak(said)))
                decoded += 1
            rows.append({"source": source, "text": text, "voice": voice, "heard": heard})
            if (i + 1) % 100 == 0:
                cache.save()
                print(
                    f"  {voice}: {i + 1}/{len(todo)}, {decoded} decoded, {time.perf_counter() - t0:.0f} s",
                    file=sys.stderr,
                )
        cache.save()
    rows.sort(key=lambda r: (r["source"], r["text"], r["voice"]))
    with open(args.out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    differ = sum(r["heard"] != r["text"] for r in rows)
    print(f"wrote {args.out}: {len(rows)} transcripts ({decoded} decoded now), {differ} differ from the text")


if __name__ == "__main__":
    main()
