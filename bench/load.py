"""Load: N simulated satellites against one `assistant serve` over Wyoming.

Each simulated box streams, at real-time pace, a wake word (espeak-ng "Okay Nabu": Piper's does not
fire the wake word, see docs/voice.md) followed by a Piper command (noise 0), a few times with pauses.

* ``--wake satellite`` (default; what `assistant satellite` and wyoming-satellite with a local wake
  word do): microWakeWord runs in the box (here: in this process, one detector per box); after it
  fires the box sends run-pipeline from ASR and streams until the transcript comes back.
* ``--wake server``: boxes stream everything; the server runs one wake word detector per box.

Figures per N: missed wake words, commands without a reply, end of speech -> first reply audio
(p50/p95, wall clock, as the box hears it), server CPU (% of one core) per box, and the server's
total CPU; the saturation point is the first N whose p95 exceeds twice N=1's or that misses.

    python bench/load.py                 # N = 1 2 4 8, 3 commands per box
    python bench/load.py --n 1 2 --commands 2 --wake server --json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wyoming.asr import Transcript  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart  # noqa: E402
from wyoming.event import read_event, write_event  # noqa: E402
from wyoming.info import Attribution, Info, Satellite  # noqa: E402
from wyoming.pipeline import PipelineStage, RunPipeline  # noqa: E402
from wyoming.wake import Detection  # noqa: E402

from tests.fixtures_voice import espeak_speech, join, piper_speech, silence  # noqa: E402

SR = 16000
COMMANDS = [
    "What time is it?",
    "Set a timer for five minutes.",
    "What is the date today?",
    "Turn on the lights.",
]
CHUNK = 1024  # samples per audio-chunk (64 ms), as wyoming-satellite sends


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Box(threading.Thread):
    """One simulated satellite."""

    def __init__(self, idx: int, port: int, n_commands: int, wake_mode: str, offset_s: float):
        super().__init__(daemon=True)
        self.idx, self.port, self.wake_mode = idx, port, wake_mode
        wake = espeak_speech("Okay Nabu")
        parts, self.ends, self.starts = [silence(offset_s)], [], []
        t = offset_s
        for i in range(n_commands):
            cmd = piper_speech(COMMANDS[(idx + i) % len(COMMANDS)])
            seg = [silence(0.5), wake, silence(0.5), cmd]
            self.starts.append(t)
            t += sum(len(s) for s in seg) / SR
            self.ends.append(t)  # end of the command's audio (its last speech is a few ms earlier)
            tail = silence(5.0)
            parts += seg + [tail]
            t += len(tail) / SR
        self.audio = join(*parts)
        self.detections: list[float] = []  # wall time
        self.first_audio: list[float] = []
        self.t0 = 0.0
        self.streaming = wake_mode == "server"

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port))
        rfile, wfile = sock.makefile("rb"), sock.makefile("wb")
        lock = threading.Lock()

        def send(ev) -> None:
            with lock:
                write_event(ev, wfile)

        send(
            Info(
                satellite=Satellite(
                    name=f"box{self.idx}",
                    area=None,
                    attribution=Attribution("bench", ""),
                    installed=True,
                    description=None,
                    version=None,
                )
            ).event()
        )
        if self.wake_mode == "server":
            send(RunPipeline(start_stage=PipelineStage.WAKE, end_stage=PipelineStage.TTS).event())
            detector = None
        else:
            from assistant.voice_settings import WakeSettings
            from assistant.wake import make_wake

            detector = make_wake(WakeSettings())

        def reader() -> None:
            in_reply = False
            while True:
                ev = read_event(rfile)
                if ev is None:
                    return
                now = time.monotonic()
                if Detection.is_type(ev.type):
                    self.detections.append(now)
                elif Transcript.is_type(ev.type) and self.wake_mode == "satellite":
                    self.streaming = False
                elif AudioStart.is_type(ev.type):
                    in_reply = True
                elif AudioChunk.is_type(ev.type) and in_reply:
                    self.first_audio.append(now)
                    in_reply = False

        threading.Thread(target=reader, daemon=True).start()
        self.t0 = time.monotonic()
        for i in range(0, len(self.audio), CHUNK):
            block = self.audio[i : i + CHUNK]
            delay = self.t0 + i / SR - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if detector is not None and not self.streaming:
                for j in range(0, len(block), 512):
                    if detector.process(block[j : j + 512]) is not None:
                        self.detections.append(time.monotonic())
                        self.streaming = True
                        send(RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event())
                        break
                continue
            if self.streaming:
                send(AudioChunk(rate=SR, width=2, channels=1, audio=block.tobytes()).event())
        end = time.monotonic() + 60  # a server behind real time answers late: wait (and count it)
        while len(self.first_audio) < len(self.detections) and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(0.5)
        sock.close()

    def figures(self) -> tuple[int, int, list[float]]:
        """(missed wake words, commands without reply, latencies ms) per command window."""
        missed = no_reply = 0
        lat: list[float] = []
        windows = self.starts[1:] + [float("inf")]
        for start, end, nxt in zip(self.starts, self.ends, windows):
            w0, w1, wn = self.t0 + start, self.t0 + end, self.t0 + nxt
            if not any(w0 <= d <= wn for d in self.detections):
                missed += 1
                continue
            replies = [a for a in self.first_audio if w1 - 0.5 <= a <= wn]
            if not replies:
                no_reply += 1
            else:
                lat.append((replies[0] - w1) * 1000)
        return missed, no_reply, lat


def _warm_up(port: int) -> None:
    """One command, waiting for its reply however long loading the models takes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=300)
    rfile, wfile = sock.makefile("rb"), sock.makefile("wb")
    write_event(RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event(), wfile)
    audio = join(silence(0.2), piper_speech(COMMANDS[0]), silence(1.0))
    for i in range(0, len(audio), CHUNK):
        write_event(
            AudioChunk(rate=SR, width=2, channels=1, audio=audio[i : i + CHUNK].tobytes()).event(), wfile
        )
    while (ev := read_event(rfile)) is not None and ev.type != "audio-stop":
        pass
    sock.close()


def run_level(n: int, port: int, pid: int, n_commands: int, wake_mode: str) -> dict:
    boxes = [Box(i, port, n_commands, wake_mode, offset_s=0.37 * i) for i in range(n)]
    cpu0, t0 = _cpu_s(pid), time.monotonic()
    for b in boxes:
        b.start()
    for b in boxes:
        b.join()
    cpu, wall = _cpu_s(pid) - cpu0, time.monotonic() - t0
    missed = sum(b.figures()[0] for b in boxes)
    no_reply = sum(b.figures()[1] for b in boxes)
    lat = [x for b in boxes for x in b.figures()[2]]
    return {
        "n": n,
        "commands": n * n_commands,
        "missed_wake": missed,
        "no_reply": no_reply,
        "p50_ms": round(float(np.percentile(lat, 50)), 0) if lat else None,
        "p95_ms": round(float(np.percentile(lat, 95)), 0) if lat else None,
        "server_cpu_pct": round(100 * cpu / wall, 1),
        "cpu_pct_per_box": round(100 * cpu / wall / n, 1),
        "cpu_s_per_command": round(cpu / max(1, n * n_commands - missed), 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[1, 2, 4, 8], help="numbers of boxes to try")
    ap.add_argument("--commands", type=int, default=3, help="commands per box per level")
    ap.add_argument(
        "--wake", choices=["satellite", "server"], default="satellite", help="where the wake word runs"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix="load-"))
    cfg = tmp / "config.yaml"
    cfg.write_text(
        json.dumps(
            {
                "data_dir": str(tmp / "data"),
                "timezone": "UTC",
                "tts": {"noise_scale": 0.0, "noise_w_scale": 0.0},
                "wyoming": {"host": "127.0.0.1", "port": port},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--config", str(cfg)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        ready = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        assert ready["event"] == "ready", ready
        _warm_up(port)  # models load on first use
        rows = []
        for n in args.n:
            row = run_level(n, port, server.pid, args.commands, args.wake)
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(
                    f"N={n:2d}  commands {row['commands']:3d}  missed wake {row['missed_wake']}  "
                    f"no reply {row['no_reply']}  end of speech -> first audio p50 {row['p50_ms']} ms  "
                    f"p95 {row['p95_ms']} ms  server CPU {row['server_cpu_pct']} % "
                    f"({row['cpu_pct_per_box']} % per box, {row['cpu_s_per_command']} CPU s per command)",
                    flush=True,
                )
        base = rows[0]["p95_ms"] or 0
        saturated = next(
            (r["n"] for r in rows if r["missed_wake"] or r["no_reply"] or (r["p95_ms"] or 1e9) > 2 * base),
            None,
        )
        line = {"wake": args.wake, "saturates_at": saturated}
        print(
            json.dumps(line)
            if args.json
            else f"wake word on the {args.wake}: "
            + (
                f"saturates at N={saturated} (p95 > 2 x N=1, or misses)"
                if saturated
                else f"no saturation up to N={rows[-1]['n']}"
            )
        )
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
