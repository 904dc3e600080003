"""The `assistant` command."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from devices.redact import SecretFilter, mask_text

from .config import DEFAULT_CONFIG_PATH, ConfigError, load_config

log = logging.getLogger("assistant")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help=f"YAML config file (default: $ASSISTANT_CONFIG or {DEFAULT_CONFIG_PATH} if it exists)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")

    p = argparse.ArgumentParser(
        prog="assistant",
        description="Local, voice-first home assistant. Runs offline on its embedded defaults.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ask = sub.add_parser(
        "ask",
        parents=[common],
        help="understand and carry out one typed request",
        description="Understand TEXT and carry it out. TEXT '-' reads one request per line "
        "from stdin and writes one JSON object per line (implies --json). A device command said "
        "with a time ('at 11 pm turn on the porch light') is stored: `assistant serve`/`run` "
        "carries it out when due.",
    )
    ask.add_argument("text", metavar="TEXT", help="the request, or '-' for one per line on stdin")
    ask.add_argument("--json", action="store_true", help="print the full result as JSON")
    ask.add_argument("--dry-run", action="store_true", help="change nothing; list the planned actions")
    ask.add_argument(
        "--now", metavar="ISO8601", type=_iso, help="pretend it is this moment (e.g. 2026-11-29T07:30)"
    )
    ask.add_argument("--area", help="the area the request comes from (default: config 'area')")
    ask.add_argument(
        "--conversation",
        metavar="ID",
        help="continue conversation ID (its recent turns and open question: a bare answer such as "
        "'the kitchen' works); 'new' starts one. The id is printed as conversation_id with --json. "
        "Default: the box's own conversation",
    )

    for name, what in (
        ("alarms", "alarms"),
        (
            "timers",
            "timers (and device commands said with a time, such as 'in 10 minutes turn off the light')",
        ),
        ("reminders", "reminders"),
    ):
        lp = sub.add_parser(name, parents=[common], help=f"list the {what} that are set")
        lp.add_argument("--json", action="store_true", help="print JSON")
        lp.add_argument("--now", metavar="ISO8601", type=_iso, help="pretend it is this moment")

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="run the service: ring alarms, timers and reminders as they fall due",
        description="Keep running, firing alarms, timers and reminders (missed ones on start, "
        "saying how late) and carrying out device commands said with a time (not when over "
        "10 minutes late). With mqtt.url it is the assistant's device in Home "
        "Assistant and answers typed requests published to <mqtt.base_topic>/ask. "
        "Prints one JSON line per event on stdout. Serves the status page and HTTP API "
        "(default http://127.0.0.1:8300/; config http.*). Ctrl-C or SIGTERM stops.",
    )
    serve.add_argument("--interval", type=float, default=0.5, help="seconds between checks (default 0.5)")

    dev = sub.add_parser(
        "devices",
        parents=[common],
        help="list the smart-home devices the assistant knows",
        description="Entities from MQTT discovery, the config and Home Assistant, with area, "
        "source and state.",
    )
    dev.add_argument("--json", action="store_true", help="print JSON")

    proc = sub.add_parser(
        "process",
        parents=[common],
        help="feed an audio file through the whole voice pipeline",
        description="Feed FILE (WAV/FLAC/OGG/MP3, any rate) through wake word, VAD, ASR, "
        "understanding and TTS faster than real time, as if spoken into the "
        "microphone. One result per utterance.",
    )
    proc.add_argument("file", metavar="FILE", help="audio file")
    proc.add_argument("--json", action="store_true", help="one JSON object per utterance")
    proc.add_argument(
        "--no-wake", action="store_true", help="no wake word needed: every utterance is a request"
    )
    proc.add_argument("--now", metavar="ISO8601", type=_iso, help="pretend it is this moment")
    proc.add_argument("--dry-run", action="store_true", help="change nothing; list the planned actions")
    proc.add_argument("--output", metavar="WAV", help="write the spoken replies to this WAV file")
    proc.add_argument("--area", help="the area the audio comes from")

    say = sub.add_parser("say", parents=[common], help="speak TEXT with the configured Piper voice")
    say.add_argument("text", metavar="TEXT")
    say.add_argument("-o", "--output", metavar="WAV", help="write to this WAV file instead of the speaker")

    live = sub.add_parser(
        "run",
        parents=[common],
        help="the full service: microphone, wake word, speaker, alarms",
        description="Listen on the microphone for the wake word, answer on the speaker, ring "
        "alarms and timers; serve the status page and HTTP API (default "
        "http://127.0.0.1:8300/; config http.*). Ctrl-C or SIGTERM stops.",
    )
    live.add_argument("--no-wake", action="store_true", help="listen without a wake word")
    live.add_argument("--area", help="the area this box stands in")

    prefs = sub.add_parser(
        "prefs",
        parents=[common],
        help="list (or forget) what the user told about themselves",
        description="Preferences stated by voice or text ('my name is Ana', 'I like jazz', "
        "'use Fahrenheit', 'my city is Lyon', 'I get up at 6:30 on weekdays').",
    )
    prefs.add_argument("--json", action="store_true", help="print JSON")
    prefs.add_argument(
        "--forget", metavar="KEY", help="forget one preference (name, music, units, city, wake) or 'all'"
    )
    sat = sub.add_parser(
        "satellite",
        parents=[common],
        help="a satellite box: microphone, wake word and speaker for a server (Wyoming)",
        description="Listen for the wake word here and stream the command "
        "to an assistant server over Wyoming; play its replies and ringing alarms. Reconnects when "
        "the connection is lost. See docs/satellites.md.",
    )
    sat.add_argument(
        "--server",
        required=True,
        metavar="URI",
        help="the server's Wyoming port, e.g. tcp://192.168.1.5:10600",
    )
    sat.add_argument(
        "--area", help="the area this box stands in (commands like 'turn off the lights' act there)"
    )
    sat.add_argument("--name", help="this box's name (default: the host name)")
    sat.add_argument(
        "--input",
        metavar="FILE",
        help="read audio from FILE at real-time pace ('-': raw 16 kHz s16le "
        "mono on stdin) instead of the microphone; exits when it ends and the reply has played",
    )
    sat.add_argument(
        "--output", metavar="WAV", help="write what the server says to WAV instead of the speaker"
    )
    sat.add_argument(
        "--server-wake", action="store_true", help="stream all audio and let the server hear the wake word"
    )

    sub.add_parser("config", parents=[common], help="check the configuration and print it as YAML")
    return p


def _iso(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 time: {value!r} (e.g. 2026-11-29T07:30 or 2026-11-29T07:30+01:00)"
        ) from None


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
        print(f"assistant: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    from .logs import setup_logging

    setup_logging(
        logging.DEBUG if args.verbose else getattr(logging, config.log_level),
        config.log_format,
        SecretFilter(config.secrets()),
    )  # no password, token or API key reaches a log
    if args.command == "config":
        import yaml

        print(yaml.safe_dump(config.masked(), sort_keys=False), end="")
        return 0
    if args.command == "say":
        return _say(config, args)
    if args.command == "prefs":
        return _prefs(config, args)
    if args.command == "satellite":
        return _satellite(config, args)

    if args.command in ("run", "serve") and config.http.enabled:
        from .service import ServiceError, check_bind

        try:
            check_bind(config.http)  # before connecting anything
        except ServiceError as exc:
            print(f"assistant: {exc}", file=sys.stderr)
            return 2
    if args.command == "serve" and config.wyoming.enabled:
        try:
            config.wyoming.check_bind()  # likewise: no open Wyoming port for the whole network
        except ValueError as exc:
            print(f"assistant: {exc}", file=sys.stderr)
            return 2
    from intents.store import StoreError

    from .core import Assistant, settle_memory

    try:
        assistant = Assistant(config, service=args.command in ("serve", "run"))
    except StoreError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    settle_memory()
    try:
        if args.command == "ask":
            return _ask(assistant, args)
        if args.command in ("alarms", "timers", "reminders"):
            return _list(assistant, args)
        if args.command == "serve":
            return _serve(assistant, args)
        if args.command == "process":
            return _process(assistant, args)
        if args.command == "run":
            return _run(assistant, args)
        if args.command == "devices":
            return _devices(assistant, args)
    finally:
        assistant.close()
    return 1


def _ask(assistant: Any, args: argparse.Namespace) -> int:
    conversation = args.conversation
    if conversation == "new":
        import uuid

        conversation = uuid.uuid4().hex[:12]
    lines = [args.text] if args.text != "-" else (line.rstrip("\r\n") for line in sys.stdin)
    for text in lines:
        result = assistant.ask(
            text, now=args.now, dry_run=args.dry_run, area=args.area, conversation=conversation
        )
        out = result.to_dict()
        if warnings := assistant.device_problems():  # e.g. "discovery may be incomplete: ..."
            out["warnings"] = warnings
        _print_result(out, args.json or args.text == "-")
    return 0


def _prefs(config: Any, args: argparse.Namespace) -> int:
    from intents.preferences import KEYS, Preferences

    store = Preferences(config.data_dir / "preferences.db")
    try:
        if args.forget:
            key = None if args.forget == "all" else args.forget
            if key is not None and key not in KEYS:
                print(
                    f"assistant: no preference called {key!r}; use one of {', '.join(KEYS)} or 'all'",
                    file=sys.stderr,
                )
                return 2
            n = store.forget(key)
            print(f"Forgot {n} preference{'s' if n != 1 else ''}.")
            return 0
        rows = store.rows()
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        elif not rows:
            print("No preferences stored.")
        else:
            for r in rows:
                print(f"{r['key']:6} {r['value']}" + (f"   (said: {r['said']!r})" if r["said"] else ""))
    finally:
        store.close()
    return 0


def _list(assistant: Any, args: argparse.Namespace) -> int:
    from .views import alarm_items, reminder_items, timer_items

    now = assistant.localize(args.now) if args.now else assistant.now()
    if args.command == "reminders":
        items = reminder_items(assistant, now)
    else:
        items = (alarm_items if args.command == "alarms" else timer_items)(assistant, now)
    if args.json:
        print(json.dumps(items, ensure_ascii=False))
    elif not items:
        print(f"No {args.command} set.")
    else:
        for item in items:
            print(
                f"#{item['id']}  {item['says']}"
                + (
                    f"  [{item['state']}]"
                    if args.command != "timers" and item["state"] != "scheduled"
                    else ""
                )
            )
    return 0


def _start_service(assistant: Any, mode: str) -> Any:
    """The HTTP API, page, traces and metrics beside the main loop (assistant/service.py); None if it cannot start."""
    from .service import Service, ServiceError

    try:
        service = Service(assistant, mode).start()
    except ServiceError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return None
    from .logs import announce

    announce(
        service.summary_text(), assistant.config.log_format, "assistant.service", summary=service.summary()
    )
    return service


def _serve(assistant: Any, args: argparse.Namespace) -> int:
    held: list[str] | None = []  # what the first tick fires waits for the "ready" line, which comes first

    def emit(event: Any) -> None:
        line = json.dumps(event.to_dict())
        if held is not None:
            held.append(line)
        else:
            print(line, flush=True)

    assistant.listeners.append(emit)
    from .ha_publish import attach

    publisher = attach(
        assistant, on_announce=lambda text: print(json.dumps({"event": "announce", "text": text}), flush=True)
    )

    def request(text: str) -> None:  # typed over MQTT (<base_topic>/ask, HA's "Request" text entity)
        result = assistant.ask(text)
        print(
            json.dumps(
                {"event": "request", "text": text, "intent": result.intent, "response": result.response},
                ensure_ascii=False,
            ),
            flush=True,
        )

    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from .wyoming_server import WyomingError, start_wyoming

    try:
        wyoming = start_wyoming(assistant)  # satellites and Home Assistant (docs/satellites.md)
    except WyomingError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    service = _start_service(assistant, "serve")
    if service is None:
        if wyoming is not None:
            wyoming.stop()
        return 2
    log.info("serving; data in %s", assistant.config.data_dir)
    service.tick()  # /health is ready once the scheduler has ticked: before the "ready" line, not after
    print(
        json.dumps(
            {
                "event": "ready",
                "data_dir": str(assistant.config.data_dir),
                "wyoming_port": wyoming.port if wyoming else None,
                **service.summary(),
            }
        ),
        flush=True,
    )
    waiting, held = held or [], None
    for line in waiting:
        print(line, flush=True)
    try:
        while not stopping:
            service.tick()
            if publisher is not None:
                publisher.handle_requests(request)
            time.sleep(args.interval)
    finally:
        if publisher is not None:  # its poll thread reads the store, which closes after this
            publisher.stop()
        service.stop()
        if wyoming is not None:
            wyoming.stop()
    return 0


def _devices(assistant: Any, args: argparse.Namespace) -> int:
    from .views import device_items

    hub = assistant.services.devices
    items = device_items(assistant)
    if args.json:
        print(json.dumps(items, ensure_ascii=False))
    elif hub is None:
        print("No devices configured: set mqtt.url, home_assistant.url or devices.devices in the config.")
    elif not items:
        print("No devices found." + (f" Problems: {'; '.join(hub.errors)}" if hub.errors else ""))
    else:  # columns as wide as their longest value: names are never cut
        id_w, name_w = (max(len(i[k]) for i in items) for k in ("entity_id", "name"))
        area_w = max(len(i["area"] or "-") for i in items)
        for i in items:
            flags = ("" if i["exposed"] else " [hidden]") + ("" if i["available"] else " [unavailable]")
            print(
                f"{i['entity_id']:{id_w}} {i['name']:{name_w}} {i['area'] or '-':{area_w}} {i['source']:13} "
                f"{i['state'] if i['state'] is not None else '?'}{flags}"
            )
    return 0


def _say(config: Any, args: argparse.Namespace) -> int:
    from .audio import AudioDeviceError
    from .voice import say

    try:
        say(args.text, config.voice, args.output)
    except AudioDeviceError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    return 0


def _satellite(config: Any, args: argparse.Namespace) -> int:
    import socket

    from .audio import AudioDeviceError
    from .satellite_client import SatelliteError, run_satellite

    try:
        run_satellite(
            args.server,
            args.name or socket.gethostname(),
            args.area or config.area,
            config.voice,
            input_path=args.input,
            output_path=args.output,
            server_wake=args.server_wake,
        )
    except (AudioDeviceError, SatelliteError, OSError) as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _process(assistant: Any, args: argparse.Namespace) -> int:
    from .asr import ModelError
    from .voice import process_file

    def understand(text: str, *, say: Any) -> Any:  # the LLM's answer is spoken as it comes
        return assistant.ask(text, now=args.now, dry_run=args.dry_run, area=args.area, on_sentence=say)

    try:
        results = process_file(
            args.file,
            understand,
            assistant.config.voice,
            no_wake=args.no_wake,
            output_wav=args.output,
            is_complete=assistant.is_complete,
            stream_replies=True,
            reply_heads=assistant.reply_heads(),
        )
    except ModelError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"assistant: cannot process {args.file}: {exc}", file=sys.stderr)
        return 2
    for result in results:
        result.pop("trace", None)
        if args.json:
            print(json.dumps(result, ensure_ascii=False, default=str), flush=True)
        else:
            print(f"{result['transcript']!r} -> {result.get('response', '')}", flush=True)
    return 0


NO_MICROPHONE = (
    "Without a microphone, `assistant serve` runs everything else: the status page and HTTP API "
    "(http://127.0.0.1:8300/ by default), alarms and timers, MQTT/Home Assistant and satellites."
)


def _run(assistant: Any, args: argparse.Namespace) -> int:
    import queue
    import threading

    from .asr import ModelError
    from .audio import AudioDeviceError, check_input
    from .pipeline import Say
    from .voice import run_live

    try:  # before anything starts: no page address is announced for a service that cannot listen
        check_input(assistant.config.voice.audio.input_device)
    except AudioDeviceError as exc:
        print(f"assistant: {exc}\n{NO_MICROPHONE}", file=sys.stderr)
        return 2
    announcements: queue.Queue[str] = queue.Queue()

    def ring(event: Any) -> None:
        if getattr(event, "command", None):
            return  # a delayed command was carried out; nothing rings
        if event.kind == "reminder_due":
            return announcements.put(event.spoken())
        name = f"{event.name} " if event.name else ""
        announcements.put(
            f"Your {name}alarm is ringing." if event.kind == "alarm_fired" else f"Your {name}timer is done."
        )

    assistant.listeners.append(ring)
    from .ha_publish import attach

    publisher = attach(assistant, on_announce=announcements.put)  # HA's "announce" text entity is spoken here
    # HA's Mute switch: the microphone is ignored while it is set
    muted = publisher.mute if publisher is not None else threading.Event()
    service = _start_service(assistant, "run")
    if service is None:
        return 2
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(0.5):
            service.tick()
            if publisher is not None:  # typed requests from HA: answered aloud
                publisher.handle_requests(
                    lambda text: announcements.put(assistant.ask(text, area=args.area).response)
                )

    def interrupt(*_: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM ends the microphone loop like Ctrl-C

    signal.signal(signal.SIGTERM, interrupt)
    service.tick()  # /health is ready from the start, not half a second later
    ticking = threading.Thread(target=ticker, name="ticker", daemon=True)
    ticking.start()
    try:
        service.engines()  # loads the models run_live shares, and /health says "ready" for voice

        def understand(text: str, *, say: Say) -> Any:  # the LLM's answer is spoken as it comes
            return assistant.ask(text, area=args.area, on_sentence=say)

        run_live(
            understand,
            assistant.config.voice,
            no_wake=args.no_wake,
            announcements=announcements,
            muted=muted,
            is_complete=assistant.is_complete,
            on_result=service.on_voice_result,
            on_event=service.on_voice_event,
            stream_replies=True,
            reply_heads=assistant.reply_heads(),
        )
    except AudioDeviceError as exc:
        print(f"assistant: {exc}\n{NO_MICROPHONE}", file=sys.stderr)
        return 2
    except ModelError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        ticking.join(timeout=10)  # not in the middle of a tick when the store closes
        if publisher is not None:  # nor in the middle of the HA publisher's poll
            publisher.stop()
        service.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
