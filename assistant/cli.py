"""The `assistant` command."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
import time
from typing import Any, Sequence

from .config import DEFAULT_CONFIG_PATH, ConfigError, load_config

log = logging.getLogger("assistant")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="PATH",
        help=f"YAML config file (default: $ASSISTANT_CONFIG or {DEFAULT_CONFIG_PATH} if it exists)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")

    p = argparse.ArgumentParser(
        prog="assistant",
        description="Local, voice-first home assistant. Runs offline on its embedded defaults.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ask = sub.add_parser("ask", parents=[common], help="understand and carry out one typed request",
                         description="Understand TEXT and carry it out. TEXT '-' reads one request per line "
                                     "from stdin and writes one JSON object per line (implies --json).")
    ask.add_argument("text", metavar="TEXT", help="the request, or '-' for one per line on stdin")
    ask.add_argument("--json", action="store_true", help="print the full result as JSON")
    ask.add_argument("--dry-run", action="store_true", help="change nothing; list the planned actions")
    ask.add_argument("--now", metavar="ISO8601", type=_iso, help="pretend it is this moment (e.g. 2026-11-29T07:30)")
    ask.add_argument("--area", help="the area the request comes from (default: config 'area')")

    for name, what in (("alarms", "alarms"), ("timers", "timers")):
        lp = sub.add_parser(name, parents=[common], help=f"list the {what} that are set")
        lp.add_argument("--json", action="store_true", help="print JSON")
        lp.add_argument("--now", metavar="ISO8601", type=_iso, help="pretend it is this moment")

    serve = sub.add_parser("serve", parents=[common], help="run the service: ring alarms and timers as they fall due",
                           description="Keep running, firing alarms and timers (missed ones on start, saying how late). "
                                       "Prints one JSON line per event on stdout. Ctrl-C stops.")
    serve.add_argument("--interval", type=float, default=0.5, help="seconds between checks (default 0.5)")

    sub.add_parser("config", parents=[common], help="check the configuration and print it as YAML")
    return p


def _iso(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r} (e.g. 2026-11-29T07:30 or 2026-11-29T07:30+01:00)") from None


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    else:
        print(result["response"], flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else getattr(logging, config.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "config":
        import yaml

        print(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), end="")
        return 0

    from intents.store import StoreError

    from .core import Assistant

    try:
        assistant = Assistant(config)
    except StoreError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "ask":
            return _ask(assistant, args)
        if args.command in ("alarms", "timers"):
            return _list(assistant, args)
        if args.command == "serve":
            return _serve(assistant, args)
    finally:
        assistant.close()
    return 1


def _ask(assistant: Any, args: argparse.Namespace) -> int:
    if args.text != "-":
        result = assistant.ask(args.text, now=args.now, dry_run=args.dry_run, area=args.area)
        _print_result(result.to_dict(), args.json)
        return 0
    for line in sys.stdin:
        result = assistant.ask(line.rstrip("\r\n"), now=args.now, dry_run=args.dry_run, area=args.area)
        _print_result(result.to_dict(), True)
    return 0


def _list(assistant: Any, args: argparse.Namespace) -> int:
    from intents.alarms import describe
    from intents.timeparse import say_duration

    now = assistant.localize(args.now) if args.now else assistant.now()
    if args.command == "alarms":
        rows = assistant.store.alarms()
        items = [
            {"id": a.id, "time": a.time, "date": a.date, "repeat": a.repeat, "name": a.name, "state": a.state,
             "next": dt.datetime.fromtimestamp(a.next_at, assistant.tz).isoformat(), "says": describe(a, now)}
            for a in rows
        ]
    else:
        rows = assistant.store.timers()
        items = [
            {"id": t.id, "name": t.name, "duration_s": t.duration_s, "remaining_s": round(t.remaining(now.timestamp()), 1),
             "state": t.state, "says": f"{t.name + ': ' if t.name else ''}{say_duration(t.remaining(now.timestamp()))} left"
             + (" (paused)" if t.state == "paused" else "") + (" (ringing)" if t.state == "ringing" else "")}
            for t in rows
        ]
    if args.json:
        print(json.dumps(items, ensure_ascii=False))
    elif not items:
        print(f"No {args.command} set.")
    else:
        for item in items:
            print(f"#{item['id']}  {item['says']}" + (f"  [{item['state']}]" if args.command == "alarms" and item["state"] != "scheduled" else ""))
    return 0


def _serve(assistant: Any, args: argparse.Namespace) -> int:
    def emit(event: Any) -> None:
        print(json.dumps(event.to_dict()), flush=True)

    assistant.listeners.append(emit)
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving; data in %s", assistant.config.data_dir)
    print(json.dumps({"event": "ready", "data_dir": str(assistant.config.data_dir)}), flush=True)
    while not stopping:
        assistant.tick()
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
