"""The voice commands of the CLI, end to end with the bundled models and no sound card."""

from __future__ import annotations

import json
import subprocess
import sys
import wave

import pytest


@pytest.fixture
def env(env, tmp_path):
    cfg = tmp_path / "cfg" / "assistant"
    cfg.mkdir(parents=True)
    (cfg / "config.yaml").write_text("tts:\n  noise_scale: 0\n  noise_w_scale: 0\n")  # deterministic Piper
    return env


def run(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_say_then_process_acts_on_the_spoken_command(env, tmp_path):
    cmd = tmp_path / "cmd.wav"
    p = run(env, "say", "Set a pasta timer for nine minutes.", "-o", str(cmd))
    assert p.returncode == 0, p.stderr
    with wave.open(str(cmd)) as w:
        assert w.getnframes() / w.getframerate() > 1.0
    reply = tmp_path / "reply.wav"
    p = run(env, "process", str(cmd), "--no-wake", "--json", "--output", str(reply))
    assert p.returncode == 0, p.stderr
    (result,) = [json.loads(line) for line in p.stdout.splitlines()]
    assert result["intent"] == "HassStartTimer" and result["slots"] == {"minutes": 9, "name": "pasta"}
    assert "pasta" in result["transcript"].lower()
    for key in ("asr", "nlu", "tts_first_audio", "end_of_speech_to_action", "end_of_speech_to_first_audio"):
        assert result["timings_ms"][key] > 0
    with wave.open(str(reply)) as w:
        assert w.getnframes() > 0  # the answer was spoken
    timers = json.loads(run(env, "timers", "--json").stdout)
    assert [t["name"] for t in timers] == ["pasta"]  # not a dry run: the timer is set


def test_live_commands_fail_clearly_without_a_sound_card(env):
    p = run(env, "run", "--no-wake")
    assert p.returncode == 2 and "audio.input_device" in p.stderr and "Traceback" not in p.stderr
    assert "`assistant serve` runs everything else" in p.stderr  # what to do instead
    assert "status page and API at" not in p.stderr  # no address announced for a service that is not up
    p = run(env, "say", "hello")
    assert p.returncode == 2 and "audio.output_device" in p.stderr


def test_process_missing_file_is_a_clear_error(env, tmp_path):
    p = run(env, "process", str(tmp_path / "nope.wav"))
    assert p.returncode == 2 and "nope.wav" in p.stderr and "Traceback" not in p.stderr
