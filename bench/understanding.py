#!/usr/bin/env python3
"""Understanding benchmark on SLURP's home commands (Bastianelli et al., EMNLP 2020; CC BY 4.0).

Three systems side by side, per label: our template tier alone (``ASSISTANT_LEARNED=false``),
templates + the learned tier, and stock hassil + home-assistant-intents. For each: in-scope intent
accuracy, slot accuracy on the rows whose slots we support (see ``slots_right``), the out-of-scope
false-action rate (any intent on an out-of-scope row counts) and p50/p95 per utterance; also the
learned tier's own time on the rows it was asked.

    python bench/understanding.py [--data bench/data/slurp_devel_home.jsonl] [--labels alarm_,datetime_]
    python bench/understanding.py --sample 4 --no-ha      # every 4th row, a quick look

The learned tier is trained on SLURP devel, so by default its figures are 5-fold cross-validated:
``python -m intents.train --fold-models DIR`` trains five models (a few minutes each on two cores),
each without one fold (crc32(slurp_id) % 5), and each answers its own fold (``--fold-models DIR``
reuses models written before; ``--no-cv`` uses the shipped model, for data it was not trained on).

Runs `assistant ask -` over the sentences (a fresh, throw-away data dir, --dry-run). Device
commands need a home: by default both systems get the devices and areas of bench/home.yaml
(lights, plugs, a fan, a vacuum, a thermostat, a garage door; the box stands in the living room),
ours through ASSISTANT_CONFIG, stock HA as its name/area slot lists, plus what any HA home with
music and a forecast has (media players and a weather entity) and the satellite's area as context.
``--home none`` runs without.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

# SLURP label -> the intents that count as right. Labels not here and not in OUT_OF_SCOPE/SKIP are
# in scope but not supported yet (counted as misses).
MAPPING: dict[str, set[str]] = {
    "alarm_set": {"SetAlarm", "HassStartTimer"},
    "alarm_query": {"ListAlarms"},
    "alarm_remove": {"CancelAlarm"},
    "datetime_query": {"HassGetCurrentTime", "HassGetCurrentDate"},
    # devices (issue 3)
    "iot_hue_lighton": {"HassTurnOn"},
    "iot_hue_lightoff": {"HassTurnOff"},
    "iot_hue_lightchange": {"HassLightSet"},
    "iot_hue_lightdim": {"HassLightSet"},
    "iot_hue_lightup": {"HassLightSet"},
    "iot_wemo_on": {"HassTurnOn"},
    "iot_wemo_off": {"HassTurnOff"},
    "iot_cleaning": {"HassVacuumStart", "HassTurnOn"},
    # media and weather (issue 4)
    **{
        label: {
            "HassMediaSearchAndPlay",
            "HassMediaPause",
            "HassMediaUnpause",
            "HassMediaNext",
            "HassMediaPrevious",
        }
        for label in ("play_music", "play_radio", "play_podcasts", "play_audiobook")
    },
    "weather_query": {"HassGetWeather"},
    "audio_volume_up": {"HassSetVolumeRelative", "HassSetVolume"},
    "audio_volume_down": {"HassSetVolumeRelative", "HassSetVolume"},
    "audio_volume_mute": {"HassMediaPlayerMute", "HassSetVolume"},
    # a stated liking ("i love hip hop", "save this song to my favourites") is a preference (issue 13)
    "music_likeness": {"SetPreference"},
    # reminders (issue 16): SLURP files them under calendar_*; see label_of()
    "reminder_set": {"SetReminder"},
    "reminder_query": {"ListReminders"},
    "reminder_remove": {"CancelReminder"},
}
OUT_OF_SCOPE_PREFIXES = ("play_game", "calendar_", "datetime_convert", "music_dislikeness")
SKIP = {"audio_volume_other", "music_settings", "music_query", "iot_coffee"}

# A generic home for stock Home Assistant: what a typical install would expose.
GENERIC_AREAS = [
    "kitchen",
    "living room",
    "bedroom",
    "bathroom",
    "office",
    "hallway",
    "garage",
    "dining room",
]
GENERIC_NAMES = [
    "kitchen light",
    "living room lamp",
    "bedroom light",
    "ceiling light",
    "hallway light",
    "office light",
    "tv",
    "speaker",
    "thermostat",
    "garage door",
    "front door",
    "vacuum",
    "robot vacuum",
    "fan",
    "heater",
    "plug",
    "socket",
    "coffee maker",
    "music",
    "radio",
]


def label_of(row: dict) -> str:
    """SLURP's label, except that calendar rows about reminders ("remind me to ...", "what reminders do I
    have") become reminder_set/_query/_remove: we keep reminders, not a calendar."""
    label = row["intent"]
    if label.startswith("calendar_") and re.search(r"\bremind|\bremainder(?! of)", row["sentence"]):
        return "reminder_" + label.removeprefix("calendar_")
    return label


def scope(label: str) -> str:
    if label in SKIP:
        return "skip"
    if label.startswith(OUT_OF_SCOPE_PREFIXES):
        return "out"
    return "in"


def run_ours(
    sentences: list[str],
    assistant_cmd: list[str],
    home: str | None = None,
    env_extra: dict[str, str] | None = None,
) -> tuple[list[dict], float]:
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, ASSISTANT_DATA_DIR=data_dir, ASSISTANT_TZ="UTC", **(env_extra or {}))
        if home:
            env["ASSISTANT_CONFIG"] = home
        started = time.perf_counter()
        proc = subprocess.run(
            [*assistant_cmd, "ask", "-", "--dry-run", "--now", "2026-11-29T10:00"],
            input="\n".join(sentences) + "\n",
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"assistant ask - failed ({proc.returncode}):\n{proc.stderr}")
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    if len(results) != len(sentences):
        sys.exit(f"expected {len(sentences)} results, got {len(results)}")
    return results, wall


def run_learned_cv(
    rows: list[dict], assistant_cmd: list[str], home: str | None, models: str | None = None
) -> tuple[list[dict], float]:
    """Template + learned with the learned tier cross-validated: per SLURP devel fold, a model trained
    without that fold (``python -m intents.train --fold-models DIR``) answers that fold's rows."""
    from intents.train import FOLDS, fold_of

    results: list[dict | None] = [None] * len(rows)
    wall = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        if models:
            tmp = models
        else:
            subprocess.run([sys.executable, "-m", "intents.train", "--fold-models", tmp], check=True)
        for k in range(FOLDS):
            model = Path(tmp) / f"fold{k}.npz"
            idx = [i for i, r in enumerate(rows) if fold_of(r["slurp_id"]) == k]
            out, w = run_ours(
                [rows[i]["sentence"] for i in idx],
                assistant_cmd,
                home,
                {"ASSISTANT_LEARNED_MODEL": str(model)},
            )
            wall += w
            for i, res in zip(idx, out):
                results[i] = res
    return results, wall  # type: ignore[return-value]


def home_lists(home: str | None) -> tuple[list[str], list[tuple[str, str, dict]]]:
    """Areas and (name, name, {"domain": ...}) of the devices in a --home config (for stock HA's lists)."""
    if not home:
        return [], []
    import yaml

    cfg = yaml.safe_load(open(home, encoding="utf-8")) or {}
    devices = (cfg.get("devices") or {}).get("devices") or []
    areas = sorted({d["area"] for d in devices if d.get("area")})
    names = [
        (n, d["name"], {"domain": d["component"]})
        for d in devices
        for n in [d["name"], *d.get("aliases", [])]
    ]
    return areas, names


# What any HA home that plays music and shows a forecast has: a speaker and a weather entity; the
# satellite's area is the box's (bench/home.yaml: living room), as our side gets it.
HA_MEDIA_PLAYERS = ["speaker", "living room speaker", "kitchen speaker", "tv"]
HA_WEATHER = ["forecast", "forecast home", "home"]
HA_SATELLITE_AREA = "living room"


def run_stock_ha(sentences: list[str], home: str | None = None) -> list[dict]:
    import home_assistant_intents
    from hassil import Intents, TextSlotList, recognize_best

    data = home_assistant_intents.get_intents("en")
    intents = Intents.from_dict(data)
    areas, names = home_lists(home)
    names = (
        [(n, n) for n in GENERIC_NAMES]
        + names
        + [(n, n, {"domain": "media_player"}) for n in HA_MEDIA_PLAYERS]
        + [(n, n, {"domain": "weather"}) for n in HA_WEATHER]
    )
    lists = {
        "area": TextSlotList.from_strings(sorted(set(GENERIC_AREAS) | set(areas))),
        "name": TextSlotList.from_tuples(names, allow_template=False),
        "floor": TextSlotList.from_strings(["upstairs", "downstairs"]),
    }
    context = {"area": HA_SATELLITE_AREA}
    recognize_best("what time is it", intents, slot_lists=lists, language="en")  # warm up
    out = []
    for sentence in sentences:
        t0 = time.perf_counter()
        result = recognize_best(sentence, intents, slot_lists=lists, language="en", intent_context=context)
        ms = (time.perf_counter() - t0) * 1000
        slots = (
            {k: (e.value if e.value is not None else e.text) for k, e in result.entities.items()}
            if result
            else {}
        )
        out.append(
            {
                "intent": result.intent.name if result else None,
                "slots": slots,
                "actions": [],
                "timings_ms": {"total": ms},
            }
        )
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# ---- weather slots (issue 4): are `location` and `date` right on the rows that name a place or day? ----


def _day_text(text: str) -> str:
    t = " ".join(text.lower().replace("'s", "").split())
    t = re.sub(r"^(?:on|for|in|the)\s+", "", t)
    return {
        "tomorrows": "tomorrow",
        "todays": "today",
        "tonights": "tonight",
        "weeks": "this week",
        "coming week": "the coming week",
        "day after": "day after tomorrow",
        "one week": "the coming week",
        "1 week": "the coming week",
        "rest of the week": "this week",
    }.get(t, re.sub(r"^(\w+day) this week$", r"\1", t))


def _same_days(ours: str | None, theirs: str, now) -> bool:
    from intents.normalize import normalize
    from intents.weather_answer import resolve_date_spec

    if not ours:
        return False
    try:
        return resolve_date_spec(ours, now).days == resolve_date_spec(_day_text(normalize(theirs)), now).days
    except ValueError:
        from intents.timeparse import parse_when

        said = parse_when(_day_text(normalize(theirs)), now)  # "the seventh": a calendar day
        return said.date is not None and not said.unknown and said.date.isoformat() == ours


def weather_slot_rate(rows: list[dict], results: list[dict]) -> None:
    """Share of weather_query rows naming a place (place_name) or a day (date/timeofday) where our slot
    resolves to the same place (same words) or the same days (via intents.weather_answer.resolve_date_spec)."""
    import datetime as dt

    now = dt.datetime(2026, 11, 29, 10, 0)  # the --now run_ours passes
    counts = {"location": [0, 0], "date": [0, 0]}
    for row, res in zip(rows, results):
        gold = row.get("slots") or {}
        if row["intent"] != "weather_query":
            continue
        slots = (res.get("slots") or {}) if res.get("intent") == "HassGetWeather" else {}
        if isinstance(gold.get("place_name"), str):
            counts["location"][1] += 1
            ours = " ".join(str(slots.get("location") or "").lower().split())
            counts["location"][0] += int(ours == " ".join(gold["place_name"].lower().split()))
        day = gold.get("date") or gold.get("timeofday")
        if isinstance(day, list):
            day = " ".join(day)
        if isinstance(day, str):
            counts["date"][1] += 1
            counts["date"][0] += int(_same_days(slots.get("date"), day, now))
    print("\nweather slots on the weather_query rows that name them (ours):")
    for name, (ok, total) in counts.items():
        print(f"  {name:10} {100 * ok / max(total, 1):6.1f}%  ({ok}/{total})")


# ---- slot accuracy: on the in-scope rows whose gold slots we support, are ours right? ----

MEDIA_SLOTS = {
    "artist_name",
    "song_name",
    "playlist_name",
    "radio_name",
    "podcast_name",
    "podcast_descriptor",
    "audiobook_name",
    "audiobook_author",
    "music_genre",
}
TRANSPORT = {"HassMediaNext", "HassMediaPrevious", "HassMediaPause", "HassMediaUnpause"}


def _words(text: object) -> str:
    """Normalised words; a decimal already in digits ("93.5", as our slots hold it) stays one word."""
    from intents.normalize import normalize

    parts = re.split(r"(\d+\.\d+)", str(text or ""))
    return " ".join(p if i % 2 else normalize(p) for i, p in enumerate(parts) if p.strip())


def slots_right(row: dict, intent: str | None, slots: dict, now) -> bool | None:
    """None when the row has no slot we support; else: intent right and every supported slot right.
    Supported: weather place and day, alarm time, time-zone place, media names (artist, song, album,
    playlist, station, podcast, audiobook, genre: each inside our search query and media class, no more
    than 3 words besides), light area, colour and amount."""
    label = label_of(row)
    ents: dict[str, list[str]] = defaultdict(list)
    for e in row.get("entities") or []:
        ents[e["type"]].append(e["text"])
    checks: list[bool] = []
    if label == "weather_query":
        if ents["place_name"]:
            checks.append(_words(slots.get("location") or slots.get("name")) == _words(ents["place_name"][0]))
        day = " ".join(ents["date"] + ents["timeofday"])
        if day:
            checks.append(_same_days(slots.get("date"), day, now))
    elif label.startswith("play_"):
        media = [_words(t) for k in MEDIA_SLOTS for t in ents[k]]
        if media and intent in TRANSPORT and not any(ents[k] for k in MEDIA_SLOTS - {"podcast_descriptor"}):
            checks.append(True)  # "skip to the next episode": the player's own command, no query to read
        elif media:
            # the kind of thing is our media_class: "play my gym playlist" -> "my gym", playlist
            query = _words(f"{slots.get('search_query') or ''} {slots.get('media_class') or ''}")
            checks.append(
                all(m in query for m in media)
                and len(query.split()) <= sum(len(m.split()) for m in media) + 3
            )
    elif label == "alarm_set" and ents["time"]:
        from intents.timeparse import parse_when

        said = parse_when(_words(" ".join(ents["time"] + ents["timeofday"])), now)
        clock = said.clock(now)
        ours = slots.get("time")
        if clock is None or not ours:
            checks.append(False)
        else:
            h, m = map(int, str(ours).split(":"))
            checks.append(
                m == clock.minute and (h == clock.hour or (not said.meridiem and h % 12 == clock.hour % 12))
            )
    elif label == "datetime_query" and ents["place_name"]:
        checks.append(_words(slots.get("location")) == _words(ents["place_name"][0]))
    elif label.startswith(("iot_hue", "iot_wemo")):
        where = _words(" ".join(str(slots.get(k) or "") for k in ("area", "name")))
        for place in ents["house_place"]:
            checks.append(_words(place).replace("the ", "") in where)
        for colour in ents["color_type"]:
            checks.append(_words(slots.get("color")) == _words(colour))
        for amount in ents["change_amount"]:
            digits = re.findall(r"\d+", _words(amount))
            ours = slots.get("brightness", slots.get("brightness_step"))
            checks.append(bool(digits) and ours is not None and abs(int(ours)) == int(digits[0]))
    if not checks:
        return None
    return intent in MAPPING.get(label, set()) and all(checks)


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(here / "data" / "slurp_devel_home.jsonl"))
    ap.add_argument("--labels", default="", help="comma-separated label prefixes to show in the summary line")
    ap.add_argument(
        "--errors",
        metavar="FILE",
        help="write our (template + learned) misses and false actions as JSON lines here",
    )
    ap.add_argument("--no-ha", action="store_true", help="skip the stock Home Assistant comparison")
    ap.add_argument(
        "--no-cv",
        action="store_true",
        help="use the shipped learned model as it is (it was trained on SLURP devel: only for other data)",
    )
    ap.add_argument(
        "--fold-models",
        metavar="DIR",
        help="fold models already written by `python -m intents.train --fold-models DIR` (else trained here)",
    )
    ap.add_argument(
        "--sample", type=int, metavar="N", help="only every row whose index modulo N is 0 (a quick look)"
    )
    ap.add_argument(
        "--home",
        default=str(here / "home.yaml"),
        help="config with a generic home's devices, used by both systems (default bench/home.yaml; "
        "'none' for no devices)",
    )
    args = ap.parse_args()

    import datetime as dt

    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    rows = [r for r in rows if scope(label_of(r)) != "skip"]
    if args.sample:
        rows = rows[:: args.sample]
    sentences = [r["sentence"] for r in rows]
    home = None if args.home == "none" else args.home
    cmd = [sys.executable, "-m", "assistant.cli"]
    templates, wall_t = run_ours(sentences, cmd, home, {"ASSISTANT_LEARNED": "false"})
    if args.no_cv:
        learned, wall_l = run_ours(sentences, cmd, home)
    else:
        learned, wall_l = run_learned_cv(rows, cmd, home, args.fold_models)
    systems = {"templates": templates, "+learned": learned}
    if not args.no_ha:
        systems["stock_ha"] = run_stock_ha(sentences, home)

    print(f"SLURP devel home rows used: {len(rows)} (skipped labels: {', '.join(sorted(SKIP))})")
    print(
        f"assistant ask - wall time for all rows: templates {wall_t:.1f} s, +learned {wall_l:.1f} s (includes start-up)"
    )
    print(
        "+learned = template tier, then the learned tier"
        + (
            ""
            if args.no_cv
            else " cross-validated: SLURP devel fold k (crc32(slurp_id) % 5) answered by a model trained without it"
        )
        + "\n"
    )
    now = dt.datetime(2026, 11, 29, 10, 0)
    per_label: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    slot_ok: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    errors = []
    for i, row in enumerate(rows):
        label = label_of(row)
        for name, results in systems.items():
            got = results[i]["intent"]
            ok = (got in MAPPING.get(label, set())) if scope(label) == "in" else got is None
            per_label[label][name].append(int(ok))
            right = (
                slots_right(row, got, results[i].get("slots") or {}, now) if scope(label) == "in" else None
            )
            if right is not None:
                slot_ok[label][name].append(int(right))
            if name == "+learned" and (not ok or right is False):
                errors.append(
                    {
                        "label": label,
                        "sentence": row["sentence"],
                        "got": got,
                        "slots": results[i].get("slots"),
                        "recognizer": results[i].get("recognizer"),
                        "slots_wrong": right is False,
                        "gold": {e["type"]: e["text"] for e in row.get("entities") or []},
                    }
                )
    names = list(systems)
    from intents.registry import intents

    registered = set(intents())
    print(
        f"{'label':24} {'scope':5} {'n':>4} "
        + " ".join(f"{n:>9}" for n in names)
        + "   slots: n "
        + " ".join(f"{n:>9}" for n in names)
    )
    for label in sorted(per_label):
        n = len(per_label[label][names[0]])
        cells = " ".join(f"{100 * sum(per_label[label][s]) / n:8.1f}%" for s in names)
        sn = len(slot_ok[label][names[0]])
        slot_cells = " ".join(f"{100 * sum(slot_ok[label][s]) / sn:8.1f}%" for s in names) if sn else ""
        supported = (
            "out" if scope(label) == "out" else ("in" if MAPPING.get(label, set()) & registered else "in*")
        )
        print(f"{label:24} {supported:5} {n:4d} {cells}   {sn:8d} {slot_cells}")
    print("(in* = in scope, not supported yet; out = must not act: the figure is the share left alone)\n")

    def summary(title: str, pred) -> None:
        labels = [l for l in per_label if pred(l)]
        for s in names:
            hits = sum(sum(per_label[l][s]) for l in labels)
            total = sum(len(per_label[l][s]) for l in labels)
            print(f"{title:48} {s:9} {100 * hits / max(total, 1):6.1f}%  ({hits}/{total})")

    summary(
        "in-scope accuracy, supported labels",
        lambda l: bool(MAPPING.get(l, set()) & registered) and scope(l) == "in",
    )
    summary("in-scope accuracy, all in-scope labels", lambda l: scope(l) == "in")
    for prefix in filter(None, args.labels.split(",")):
        summary(f"in-scope accuracy, {prefix}*", lambda l, p=prefix: l.startswith(p) and scope(l) == "in")
    for s in names:
        hits = sum(sum(slot_ok[l][s]) for l in slot_ok)
        total = sum(len(slot_ok[l][s]) for l in slot_ok)
        print(
            f"{'slot accuracy (rows with supported slots)':48} {s:9} {100 * hits / max(total, 1):6.1f}%  ({hits}/{total})"
        )
    for s in names:
        out_rows = [v for l in per_label if scope(l) == "out" for v in per_label[l][s]]
        false = len(out_rows) - sum(out_rows)
        print(
            f"{'out-of-scope false-action rate':48} {s:9} {100 * false / max(len(out_rows), 1):6.1f}%  ({false}/{len(out_rows)})"
        )
    print()
    for s in names:
        times = [r["timings_ms"]["total"] for r in systems[s]]
        print(
            f"per-utterance recognition time {s:9} p50 {percentile(times, 0.5):6.2f} ms  p95 {percentile(times, 0.95):6.2f} ms"
        )
    tier = [r["timings_ms"]["learned"] for r in learned if "learned" in r.get("timings_ms", {})]
    print(
        f"learned tier alone, on the {len(tier)} rows it was asked: p50 {percentile(tier, 0.5):6.2f} ms  "
        f"p95 {percentile(tier, 0.95):6.2f} ms"
    )
    weather_slot_rate(rows, learned)
    if args.errors:
        with open(args.errors, "w", encoding="utf-8") as f:
            for e in errors:
                f.write(json.dumps(e) + "\n")


if __name__ == "__main__":
    main()
