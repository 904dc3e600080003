"""Satellites over Wyoming: boxes in two areas against one server (the real WyomingServer on a real
socket, real mosquitto with discovered devices, real Whisper and Piper). The boxes are stand-ins
speaking the protocol with the `wyoming` package's own event reader/writer, streaming Piper speech;
replies are checked by transcribing the audio each box got back. Also: rings go to the box that set
them, a lost box is dialled again, our own `assistant satellite` process, and the Home Assistant
services (describe/info, speech to text, text to speech, intent handling) driven as HA drives them.

Opt-in: ASSISTANT_TEST_WYOMING_SATELLITE=/path/to/python-with-wyoming-satellite runs an unmodified
`wyoming-satellite` from PyPI against the server (see docs/satellites.md)."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import read_event, write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Attribution, Describe, Info, Satellite
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import RunSatellite
from wyoming.tts import Synthesize

from assistant.audio import resample, write_wav
from assistant.config import load_config
from assistant.core import Assistant
from assistant.wyoming_server import WyomingServer
from assistant.wyoming_settings import WyomingSettings
from tests.fixtures_devices import publish_all
from tests.fixtures_mqtt import free_port, wait_for
from tests.fixtures_voice import espeak_speech, join, piper_speech, silence, test_settings

KITCHEN_LIGHT = "z2m/Kitchen Ceiling/set"
LIVING_LAMP = "tasmota_1A2B3C/cmnd/POWER"


class StandIn:
    """A satellite as a Wyoming client: announces name and area, streams speech after 'its' wake word."""

    def __init__(self, port: int, name: str, area: str | None, announce: bool = True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.rfile, self.wfile = self.sock.makefile("rb"), self.sock.makefile("wb")
        self.name = name
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        if announce:
            self.send(
                Info(
                    satellite=Satellite(
                        name=name,
                        area=area,
                        attribution=Attribution("test", ""),
                        installed=True,
                        description=None,
                        version=None,
                    )
                ).event()
            )

    def _read(self) -> None:
        try:
            while (ev := read_event(self.rfile)) is not None:
                self.events.put(ev)
        except (OSError, ValueError):
            pass
        self.events.put(None)

    def next_event(self, timeout: float = 60):
        ev = self.events.get(timeout=timeout)
        assert ev is not None, f"{self.name}: connection closed"
        return ev

    def send(self, event) -> None:
        write_event(event, self.wfile)

    def stream(self, audio: np.ndarray, chunk: int = 1024) -> None:
        for i in range(0, len(audio), chunk):
            self.send(
                AudioChunk(rate=16000, width=2, channels=1, audio=audio[i : i + chunk].tobytes()).event()
            )

    def command(self, text: str) -> tuple[str, np.ndarray]:
        """Wake word heard here: run-pipeline from ASR, stream Piper speech; returns (transcript, reply 16 kHz)."""
        self.send(RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event())
        self.stream(join(silence(0.2), piper_speech(text), silence(1.0)))
        heard = None
        seen = []
        while True:
            ev = self.next_event()
            seen.append(ev.type)
            if Transcript.is_type(ev.type):
                heard = Transcript.from_event(ev).text
            elif AudioStart.is_type(ev.type):
                assert heard is not None, seen  # the transcript first: a box stops streaming on it
                return heard, self.reply()

    def reply(self) -> np.ndarray:
        """Audio until audio-stop (after audio-start was read), as 16 kHz int16."""
        parts, rate = [], 22050
        while True:
            ev = self.next_event()
            if AudioChunk.is_type(ev.type):
                chunk = AudioChunk.from_event(ev)
                parts.append(np.frombuffer(chunk.audio, np.int16))
                rate = chunk.rate
            elif AudioStop.is_type(ev.type):
                return resample(np.concatenate(parts), rate, 16000)

    def next_audio(self, timeout: float) -> np.ndarray | None:
        """The next thing said to this box unasked (a ring), or None if nothing comes in time."""
        end = time.monotonic() + timeout
        while True:
            try:
                ev = self.events.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                return None
            if ev is None:
                return None
            if AudioStart.is_type(ev.type):
                return self.reply()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def said(engines, audio: np.ndarray) -> str:
    return engines.asr.transcribe(audio).text.lower()


@pytest.fixture
def server(mosquitto, probe, prefix, tmp_path, engines):
    """An assistant with discovered devices in the Kitchen and the Living Room, serving Wyoming."""
    publish_all(probe, prefix)
    probe.subscribe(f"{prefix}/#")
    cfg = load_config(env={"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_TZ": "UTC"})
    cfg = cfg.model_copy(
        update={
            "mqtt": cfg.mqtt.model_copy(
                update={
                    "url": mosquitto.url,
                    "discovery_prefix": f"{prefix}/ha",
                    "base_topic": f"{prefix}/assistant",
                }
            ),
            "tts": test_settings().tts,
            "wyoming": cfg.wyoming.model_copy(update={"host": "127.0.0.1", "port": 0, "reconnect_s": 0.3}),
        }
    )
    assistant = Assistant(cfg)
    wy = WyomingServer(assistant)
    wy.start()
    yield wy
    wy.stop()
    assistant.close()


def test_two_boxes_act_in_their_own_area_and_get_their_own_reply(server, probe, prefix, engines):
    kitchen = StandIn(server.port, "kitchen-box", "Kitchen")
    living = StandIn(server.port, "living-box", "Living Room")
    try:
        assert wait_for(lambda: len(server.hub.sessions) == 2)
        heard, reply = kitchen.command("Turn on the lights.")
        assert "light" in heard.lower()
        assert json.loads(probe.wait_message(f"{prefix}/{KITCHEN_LIGHT}")[-1]) == {"state": "ON"}
        assert probe.received(f"{prefix}/{LIVING_LAMP}") == []  # the living room was left alone
        assert "kitchen" in said(engines, reply)
        heard, reply = living.command("Turn on the lights.")
        assert probe.wait_message(f"{prefix}/{LIVING_LAMP}") == ["ON"]
        assert len(probe.received(f"{prefix}/{KITCHEN_LIGHT}")) == 1
        assert "living room" in said(engines, reply) or "lamp" in said(engines, reply)
        assert kitchen.next_audio(0.5) is None  # the kitchen box heard nothing of it
        assert {s["name"]: s["area"] for s in server.hub.status()} == {
            "kitchen-box": "Kitchen",
            "living-box": "Living Room",
        }
    finally:
        kitchen.close()
        living.close()


def test_timer_rings_on_the_box_that_set_it_and_stop_anywhere_silences_it(server, engines):
    kitchen = StandIn(server.port, "kitchen-box", "Kitchen")
    living = StandIn(server.port, "living-box", "Living Room")
    try:
        heard, reply = kitchen.command("Set a timer for five minutes.")
        assert "5 minutes" in said(engines, reply), heard  # "Timer set for 5 minutes."
        assistant = server.hub.assistant
        assistant.tick(assistant.now() + dt.timedelta(minutes=6))
        ring = kitchen.next_audio(30)
        assert ring is not None and "done" in said(engines, ring)  # "Your timer is done."
        assert living.next_audio(0.5) is None
        assert server.hub.ringing
        heard, reply = living.command("Stop.")  # any box silences it
        assert "stop" in said(engines, reply), heard
        assert not server.hub.ringing and assistant.store.timers() == []
    finally:
        kitchen.close()
        living.close()


def test_alarm_due_while_its_box_is_away_rings_elsewhere_then_on_its_return(server, engines):
    kitchen = StandIn(server.port, "kitchen-box", "Kitchen")
    living = StandIn(server.port, "living-box", "Living Room")
    try:
        heard, reply = kitchen.command("Set an alarm for 7 am.")
        assert "alarm" in said(engines, reply), heard
        kitchen.close()  # the kitchen box loses its network
        assert wait_for(lambda: "kitchen-box" not in server.hub.sessions)
        assistant = server.hub.assistant
        assistant.tick(assistant.now().replace(hour=7, minute=0) + dt.timedelta(days=1, minutes=1))
        ring = living.next_audio(30)
        assert ring is not None and "alarm" in said(engines, ring)
        kitchen = StandIn(server.port, "kitchen-box", "Kitchen")  # back
        ring = kitchen.next_audio(30)
        assert ring is not None and "alarm" in said(engines, ring)
    finally:
        kitchen.close()
        living.close()


class SatelliteServer:
    """A box that waits to be called, as wyoming-satellite does: answers describe, streams on run-satellite."""

    def __init__(self, port: int, name: str = "porch", area: str = "Living Room"):
        self.port, self.name, self.area = port, name, area
        self.ran = threading.Event()
        self.conn: socket.socket | None = None
        self.listener = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            self.conn, _ = self.listener.accept()
        except OSError:
            return
        self.rfile, self.wfile = self.conn.makefile("rb"), self.conn.makefile("wb")
        while True:
            ev = read_event(self.rfile)
            if ev is None:
                return
            if Describe.is_type(ev.type):
                info = Info(
                    satellite=Satellite(
                        name=self.name,
                        area=self.area,
                        attribution=Attribution("t", ""),
                        installed=True,
                        description=None,
                        version=None,
                    )
                )
                write_event(info.event(), self.wfile)
            elif RunSatellite.is_type(ev.type):
                self.ran.set()
                return

    def kill(self) -> None:
        self.listener.close()
        if self.conn is not None:
            self.conn.shutdown(socket.SHUT_RDWR)
            self.conn.close()


def test_a_dialled_satellite_that_is_killed_and_restarted_is_reconnected(mosquitto, tmp_path, engines):
    port = free_port()
    cfg = load_config(env={"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_TZ": "UTC"})
    cfg = cfg.model_copy(
        update={
            "tts": test_settings().tts,
            "wyoming": WyomingSettings(
                host="127.0.0.1",
                port=0,
                reconnect_s=0.2,
                satellites=[{"name": "porch", "area": "Porch", "uri": f"tcp://127.0.0.1:{port}"}],
            ),
        }
    )
    assistant = Assistant(cfg)
    wy = WyomingServer(assistant)
    wy.start(warm_up=False)
    box = SatelliteServer(port)
    try:
        assert box.ran.wait(10), "the server did not call the satellite"
        assert wait_for(lambda: "porch" in wy.hub.sessions)
        assert wy.hub.sessions["porch"].area == "Porch"  # the configured area wins over the announced one
        box.kill()
        assert wait_for(lambda: "porch" not in wy.hub.sessions)
        box = SatelliteServer(port)  # the box comes back on the same address
        assert box.ran.wait(10), "the server did not call the satellite again"
        assert wait_for(lambda: "porch" in wy.hub.sessions)
    finally:
        box.kill()
        wy.stop()
        assistant.close()


def test_our_satellite_process_hears_its_wake_word_and_plays_the_reply(
    server, probe, prefix, tmp_path, env, engines
):
    wav, out = tmp_path / "in.wav", tmp_path / "out.wav"
    write_wav(
        wav,
        join(
            silence(0.5),
            espeak_speech("Okay Nabu"),
            silence(0.6),
            piper_speech("Turn on the lights."),
            silence(1.5),
        ),
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "satellite",
            "--server",
            f"tcp://127.0.0.1:{server.port}",
            "--area",
            "Kitchen",
            "--name",
            "test-box",
            "--input",
            str(wav),
            "--output",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(probe.wait_message(f"{prefix}/{KITCHEN_LIGHT}")[-1]) == {"state": "ON"}
    from assistant.audio import read_audio_file

    assert "kitchen" in said(engines, read_audio_file(out))


def test_satellite_command_explains_a_bad_server_address(env):
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "satellite", "--server", "http://x", "--input", "-"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        input="",
    )
    assert proc.returncode == 2 and "tcp://HOST:PORT" in proc.stderr


# ----------------------------------------------------------------------------- Home Assistant


async def _ha_call(port: int, *events, until) -> list:
    async with AsyncTcpClient("127.0.0.1", port) as client:
        for ev in events:
            await client.write_event(ev)
        got = []
        while True:
            ev = await client.read_event()
            assert ev is not None
            got.append(ev)
            if until(ev):
                return got


def test_home_assistant_services_describe_transcribe_synthesize_handle(server, engines):
    import asyncio

    port = server.port
    info = Info.from_event(
        (asyncio.run(_ha_call(port, Describe().event(), until=lambda e: Info.is_type(e.type))))[-1]
    )
    assert info.asr[0].installed and info.asr[0].models[0].languages == ["en"]
    assert info.tts[0].voices[0].name == "en_US-joe-medium" and info.tts[0].voices[0].languages == ["en_US"]
    assert info.handle[0].models[0].languages == ["en"] and info.handle[0].supports_home_control
    assert info.satellite is None

    # speech to text, as HA's STT entity sends it: transcribe, audio-start, chunks (HA's 16 kHz), audio-stop
    speech = join(silence(0.3), piper_speech("What time is it?"), silence(0.3))
    chunks = [
        AudioChunk(16000, 2, 1, speech[i : i + 1024].tobytes()).event() for i in range(0, len(speech), 1024)
    ]
    got = asyncio.run(
        _ha_call(
            port,
            Transcribe(language="en").event(),
            AudioStart(16000, 2, 1).event(),
            *chunks,
            AudioStop().event(),
            until=lambda e: Transcript.is_type(e.type),
        )
    )
    assert Transcript.from_event(got[-1]).text.lower().strip(" .?") == "what time is it"

    # text to speech
    got = asyncio.run(
        _ha_call(
            port,
            Synthesize(text="The kitchen light is on.").event(),
            until=lambda e: AudioStop.is_type(e.type),
        )
    )
    start = AudioStart.from_event(got[0])
    audio = np.concatenate(
        [np.frombuffer(AudioChunk.from_event(e).audio, np.int16) for e in got if AudioChunk.is_type(e.type)]
    )
    assert "kitchen light" in said(engines, resample(audio, start.rate, 16000))

    # the conversation agent: a transcript in, handled (or not) out
    got = asyncio.run(
        _ha_call(
            port,
            Transcript(text="set a timer for 3 minutes").event(),
            until=lambda e: Handled.is_type(e.type) or NotHandled.is_type(e.type),
        )
    )
    assert Handled.is_type(got[-1].type) and "3 minutes" in Handled.from_event(got[-1]).text
    got = asyncio.run(
        _ha_call(
            port,
            Transcript(text="sing me the song of the sea").event(),
            until=lambda e: Handled.is_type(e.type) or NotHandled.is_type(e.type),
        )
    )
    assert NotHandled.is_type(got[-1].type) and NotHandled.from_event(got[-1]).text


# ----------------------------------------------------------------------------- opt-in


SATELLITE_PYTHON = os.environ.get("ASSISTANT_TEST_WYOMING_SATELLITE")


@pytest.mark.skipif(
    not SATELLITE_PYTHON, reason="opt-in: ASSISTANT_TEST_WYOMING_SATELLITE=python with wyoming-satellite"
)
def test_unmodified_wyoming_satellite_against_our_server(mosquitto, probe, prefix, tmp_path, engines):
    """wyoming-satellite from PyPI, its microphone a WAV played by `cat` (after a 2 s pause so we are
    connected), its speaker a file; we call it as Home Assistant would and hear the wake word here."""
    publish_all(probe, prefix)
    probe.subscribe(f"{prefix}/#")
    wav, out = tmp_path / "in.raw", tmp_path / "out.raw"
    audio = join(
        silence(1.0),
        espeak_speech("Okay Nabu"),
        silence(0.6),
        piper_speech("Turn on the lights."),
        silence(3.0),
    )
    wav.write_bytes(audio.tobytes())
    sat_port = free_port()
    cfg = load_config(env={"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_TZ": "UTC"})
    cfg = cfg.model_copy(
        update={
            "mqtt": cfg.mqtt.model_copy(
                update={
                    "url": mosquitto.url,
                    "discovery_prefix": f"{prefix}/ha",
                    "base_topic": f"{prefix}/assistant",
                }
            ),
            "tts": test_settings().tts,
        }
    )
    cfg = cfg.model_copy(
        update={
            "wyoming": WyomingSettings(
                host="127.0.0.1",
                port=0,
                reconnect_s=0.5,
                satellites=[{"name": "pi", "area": "Kitchen", "uri": f"tcp://127.0.0.1:{sat_port}"}],
            )
        }
    )
    assistant = Assistant(cfg)
    wy = WyomingServer(assistant)
    wy.start(warm_up=False)
    mic = f"sh -c 'sleep 3; cat {wav}; sleep 30'"
    sat = subprocess.Popen(
        [
            SATELLITE_PYTHON,
            "-m",
            "wyoming_satellite",
            "--uri",
            f"tcp://127.0.0.1:{sat_port}",
            "--name",
            "pi",
            "--no-zeroconf",
            "--mic-command",
            mic,
            "--snd-command",
            f"sh -c 'cat >> {out}'",
            "--debug",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "sat.log", "w"),
    )
    try:
        assert wait_for(
            lambda: (
                json.loads((probe.received(f"{prefix}/{KITCHEN_LIGHT}") or [("", "{}")])[-1][1])
                == {"state": "ON"}
            ),
            40,
        ), (tmp_path / "sat.log").read_text()[-3000:]
        assert wait_for(lambda: out.exists() and out.stat().st_size > 22050 * 2, 20)
        time.sleep(1.0)
        reply = np.frombuffer(out.read_bytes()[: len(out.read_bytes()) // 2 * 2], np.int16)
        assert "kitchen" in said(engines, resample(reply, 22050, 16000))
    finally:
        sat.terminate()
        sat.wait(10)
        wy.stop()
        assistant.close()


def test_our_satellite_redials_a_server_that_went_away(tmp_path):
    """`assistant satellite` keeps its microphone running and dials again until the server is back."""
    from devices.media.sinks import NullSink
    from assistant.satellite_client import SatelliteClient

    port = free_port()

    def serve() -> tuple[Assistant, WyomingServer]:
        cfg = load_config(env={"ASSISTANT_DATA_DIR": str(tmp_path / "data"), "ASSISTANT_TZ": "UTC"})
        cfg = cfg.model_copy(update={"wyoming": WyomingSettings(host="127.0.0.1", port=port)})
        a = Assistant(cfg)
        w = WyomingServer(a)
        w.start(warm_up=False)
        return a, w

    stop = threading.Event()

    def mic():  # silence at real-time pace until the test ends
        while not stop.is_set():
            time.sleep(0.032)
            yield np.zeros(512, np.int16)

    a, w = serve()
    client = SatelliteClient(
        f"tcp://127.0.0.1:{port}", "hall", "Hall", test_settings(), mic(), NullSink(), reconnect_s=0.2
    )
    runner = threading.Thread(target=client.run, daemon=True)
    runner.start()
    try:
        assert wait_for(lambda: "hall" in w.hub.sessions, 10)
        assert w.hub.sessions["hall"].area == "Hall"
        w.stop()
        a.close()
        assert wait_for(lambda: not client.connected.is_set(), 10)
        a, w = serve()  # the server restarts on the same port
        assert wait_for(lambda: "hall" in w.hub.sessions, 10)
    finally:
        stop.set()
        runner.join(15)
        w.stop()
        a.close()
