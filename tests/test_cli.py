"""The `assistant` command as other tools use it: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

KEYS = {
    "text",
    "intent",
    "slots",
    "recognizer",
    "response",
    "actions",
    "timings_ms",
    "conversation_id",
    "expects_answer",
}


def run(env, *args, input=None):
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ask_json_contract(env):
    p = run(env, "ask", "What time is it?", "--json", "--now", "2026-11-29T10:42")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) == KEYS
    assert out["intent"] == "HassGetCurrentTime" and out["recognizer"] == "template"
    assert out["response"] == "It's 10:42 AM."
    assert out["timings_ms"]["total"] > 0


def test_ask_plain_prints_the_answer(env):
    p = run(env, "ask", "set a pasta timer for 9 minutes")
    assert p.returncode == 0 and p.stdout == "Pasta timer set for 9 minutes.\n"
    listed = json.loads(run(env, "timers", "--json").stdout)
    assert [t["name"] for t in listed] == ["pasta"] and 530 < listed[0]["remaining_s"] <= 540


def test_stdin_answers_each_line_as_it_comes(env):
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ask", "-"],
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        proc.stdin.write("what time is it\n")
        proc.stdin.flush()
        first = json.loads(proc.stdout.readline())  # answered before stdin closes: flushed per line
        assert first["intent"] == "HassGetCurrentTime"
        proc.stdin.write("\nset an alarm for 7 am\n")
        proc.stdin.close()
        rest = [json.loads(line) for line in proc.stdout]
    finally:
        proc.kill()
        proc.wait()
    assert [r["text"] for r in rest] == ["", "set an alarm for 7 am"]
    assert rest[0]["intent"] is None and rest[0]["response"]
    assert rest[1]["intent"] == "SetAlarm" and rest[1]["slots"]["time"] == "07:00"


def test_dry_run_changes_nothing(env):
    p = run(env, "ask", "set a timer for 5 minutes", "--dry-run", "--json")
    out = json.loads(p.stdout)
    assert out["actions"] and out["actions"][0]["type"] == "timer_start"
    assert json.loads(run(env, "timers", "--json").stdout) == []
    run(env, "ask", "set an alarm for 6 am", "--dry-run")
    assert run(env, "alarms").stdout == "No alarms set.\n"


def test_alarms_listing(env):
    run(env, "ask", "set an alarm for 7 am every weekday", "--now", "2026-11-29T10:00")
    p = run(env, "alarms", "--json", "--now", "2026-11-29T10:00")
    (alarm,) = json.loads(p.stdout)
    assert alarm["time"] == "07:00" and alarm["repeat"][0] == "monday" and alarm["says"] == "7 AM on weekdays"
    assert "7 AM on weekdays" in run(env, "alarms", "--now", "2026-11-29T10:00").stdout


@pytest.mark.parametrize(
    "config_text, expected",
    [
        ("timezone: Mars/Base\n", "timezone: Value error, unknown time zone 'Mars/Base'"),
        ("intents:\n  snooze_minutes: lots\n", "intents.snooze_minutes: Input should be a valid integer"),
        (
            "intents:\n  snooze_minutes: 0\n",
            "intents.snooze_minutes: Input should be greater than or equal to 1",
        ),
        ("wakeword: hey\n", "wakeword: unknown key"),
        ("a: [\n", "is not valid YAML at line 2"),
        ("- just\n- a list\n", "must hold a mapping of keys"),
        ("language: de\n", "language: Value error, language 'de' is not available"),
    ],
)
def test_bad_config_fails_fast_and_clearly(env, tmp_path, config_text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(config_text)
    p = run({**env, "ASSISTANT_TZ": ""}, "ask", "hi", "--config", str(path))
    assert p.returncode == 2
    assert expected in p.stderr and str(path) in p.stderr
    assert "Traceback" not in p.stderr


def test_config_from_env_and_missing_file(env, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("timezone: Asia/Tokyo\n")
    p = run(
        {**env, "ASSISTANT_CONFIG": str(good), "ASSISTANT_TZ": ""},
        "ask",
        "what time is it",
        "--now",
        "2026-11-29T10:00+00:00",
    )
    assert p.stdout == "It's 7 PM.\n"
    p = run(env, "ask", "hi", "--config", str(tmp_path / "nope.yaml"))
    assert p.returncode == 2 and "does not exist" in p.stderr


def test_unwritable_data_dir_is_a_clear_error(env, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    p = run({**env, "ASSISTANT_DATA_DIR": str(blocker / "sub")}, "ask", "what time is it")
    assert p.returncode == 2 and "ASSISTANT_DATA_DIR" in p.stderr and "Traceback" not in p.stderr


def test_bad_now_is_a_usage_error(env):
    p = run(env, "ask", "hi", "--now", "tomorrow-ish")
    assert p.returncode == 2 and "not an ISO 8601 time" in p.stderr


def test_config_command_prints_effective_config(env):
    p = run({**env, "ASSISTANT_LLM_URL": "http://127.0.0.1:9/v1"}, "config")
    assert p.returncode == 0 and "url: http://127.0.0.1:9/v1" in p.stdout
