"""Idle cost of `assistant run`: CPU (% of one core) and memory while it listens and nothing is said.

    python bench/idle.py                       # default wake engine, 60 s of faint room noise
    python bench/idle.py --engine micro --seconds 120
    python bench/idle.py --input silence       # digital silence

Starts `assistant run` (the whole service: HTTP page and API, scheduler, models, voice loop) in a
fresh data dir and config home, as a user would, with one change: its microphone. ALSA's null device
(which tests use) delivers audio as fast as it is read, not at real-time pace, so here the microphone
class is swapped for one that puts faint white room noise (about -50 dBFS, as bench/wake.py's
negatives) or silence on the same queue, block by block at real-time pace. Once the voice loop is
listening and ``--warm-up`` seconds have passed, it reads the process's CPU time (utime + stime of
/proc/PID/stat, all threads) over ``--seconds``, its RSS and peak RSS (VmRSS, VmHWM), and prints them
with the load average. CPU time is what the process used, so other jobs inflate it far less than
wall-clock latency (but a loaded box still costs some: caches, frequency). Budget (docs/voice.md):
<= 5 % of a core, RSS <= 1 GB. No MQTT broker is configured, so no devices.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# Run in the child: `assistant run` with a microphone that hears room noise at real-time pace.
SERVICE = """
import sys, threading, time
import numpy as np
import assistant.voice
from assistant.audio import MicSource
from assistant.cli import main

LEVEL = float(sys.argv[1])


class PacedMic(MicSource):
    def start(self):
        self._stream = self  # started: __iter__ does not start it again
        threading.Thread(target=self._feed, daemon=True).start()

    def _feed(self):
        # 10 s of noise made once and played in a loop: a sound card hands over blocks for next to no
        # CPU, and drawing fresh noise per block cost ~15 % of the idle figure being measured
        noise = (np.random.default_rng(0).standard_normal(160_000) * LEVEL * 32767).astype(np.int16)
        blocks = [noise[i : i + self.block, None] for i in range(0, len(noise) - self.block + 1, self.block)]
        due, i = time.monotonic(), 0
        while not self._closed.is_set():
            self._callback(blocks[i % len(blocks)], self.block, None, None)
            i += 1
            due += self.block / 16000
            time.sleep(max(0.0, due - time.monotonic()))

    def stop(self):
        pass


assistant.voice.MicSource = PacedMic
sys.exit(main(sys.argv[2:]))
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def memory_mb(pid: int) -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {k: int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default=None, help="wake.engine (default: the configured default)")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to measure")
    ap.add_argument(
        "--warm-up", type=float, default=10.0, help="seconds to wait once the voice loop is ready"
    )
    ap.add_argument("--input", choices=["noise", "silence"], default="noise")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="assistant-idle-") as tmp:
        home = Path(tmp)
        (home / ".asoundrc").write_text("pcm.!default {\n  type null\n}\n")  # the speaker
        config = {"wake": {"engine": args.engine}} if args.engine else {}
        (home / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / "cfg"),
            ASSISTANT_DATA_DIR=str(home / "data"),
            ASSISTANT_HTTP_PORT="0",
            ASSISTANT_WYOMING_PORT="0",
            PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        )
        level = "0.003" if args.input == "noise" else "0"
        cmd = [sys.executable, "-c", SERVICE, level, "run", "--config", str(home / "config.yaml"), "-v"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True).start()
        try:
            while not any("listening" in line.lower() for line in lines):
                if proc.poll() is not None or time.perf_counter() - t0 > 600:
                    sys.exit("assistant run did not start listening:\n" + "".join(lines[-30:]))
                time.sleep(0.5)
            ready_s = time.perf_counter() - t0
            time.sleep(args.warm_up)
            c0, w0 = cpu_seconds(proc.pid), time.perf_counter()
            time.sleep(args.seconds)
            c1, w1 = cpu_seconds(proc.pid), time.perf_counter()
            mem = memory_mb(proc.pid)
            load = os.getloadavg()
        finally:
            proc.terminate()
            proc.wait(30)
    report = {
        "engine": args.engine or "default",
        "input": args.input,
        "listening_after_s": round(ready_s, 1),
        "cpu_percent_of_one_core": round(100 * (c1 - c0) / (w1 - w0), 2),
        "rss_mb": round(mem["VmRSS"]),
        "peak_rss_mb": round(mem["VmHWM"]),
        "load_average": [round(x, 2) for x in load],
        "cpus": os.cpu_count(),
    }
    print(
        f"assistant run, wake engine {report['engine']}, {args.input}: listening after {ready_s:.0f} s; "
        f"idle CPU {report['cpu_percent_of_one_core']:.2f} % of one core over {w1 - w0:.0f} s; "
        f"RSS {report['rss_mb']} MB (peak {report['peak_rss_mb']} MB); load average "
        + " ".join(f"{x:.2f}" for x in load)
        + f" on {os.cpu_count()} CPUs"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
