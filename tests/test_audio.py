"""Audio sources and sinks (no sound card needed, except the error-message checks)."""

import io
import shutil
import subprocess
import time
import wave

import numpy as np
import pytest

from assistant.audio import (
    ArraySource,
    AudioDeviceError,
    FileSource,
    MicSource,
    RawPcmSource,
    SpeakerSink,
    blocks,
    read_audio_file,
    resample,
    write_wav,
)
from devices.media.sinks import AudioSink, NullSink, WavSink, fit


def tone(seconds=1.0, rate=16000, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * 10000).astype(np.int16)


def test_blocks_pad_last():
    out = list(blocks(np.arange(1000, dtype=np.int16), 512))
    assert [len(b) for b in out] == [512, 512]
    assert out[1][-24:].tolist() == [0] * 24 and out[1][0] == 512


def test_wav_roundtrip_resamples_and_downmixes(tmp_path):
    mono = tone(1.0, 22050)
    stereo = np.stack([mono, mono], axis=1).reshape(-1)
    path = tmp_path / "s.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(stereo.tobytes())
    audio = read_audio_file(path)
    assert audio.dtype == np.int16 and abs(len(audio) - 16000) <= 2
    assert np.corrcoef(audio[100:15000], tone(1.0)[100:15000])[0, 1] > 0.99


@pytest.mark.parametrize("ext", ["flac", "ogg"])
def test_compressed_files_decode(tmp_path, ext):
    if shutil.which("sox") is None:
        pytest.fail("sox is not installed (apt-get install sox)")
    src = tmp_path / "t.wav"
    write_wav(src, tone(1.0, 16000))
    dst = tmp_path / f"t.{ext}"
    subprocess.run(["sox", str(src), "-r", "44100", str(dst)], check=True)
    audio = read_audio_file(dst)
    assert abs(len(audio) - 16000) < 800
    assert np.abs(audio).max() > 5000
    assert len(list(FileSource(dst))) == int(np.ceil(len(audio) / 512))


def test_missing_file_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="Audio file not found"):
        read_audio_file(tmp_path / "nope.wav")


def test_raw_pcm_source_from_stream():
    data = tone(0.1)
    got = np.concatenate(list(RawPcmSource(io.BytesIO(data.tobytes()), 512)))
    assert got[: len(data)].tolist() == data.tolist() and len(got) % 512 == 0


def test_array_source_realtime_paces():
    t0 = time.monotonic()
    n = sum(1 for _ in ArraySource(np.zeros(8000, np.int16), 512, realtime=True))
    assert n == 16 and time.monotonic() - t0 >= 0.4
    t0 = time.monotonic()
    list(ArraySource(np.zeros(160000, np.int16), 512))
    assert time.monotonic() - t0 < 0.5  # faster than real time


def test_sinks(tmp_path):
    sink = WavSink(tmp_path / "o.wav", 22050)
    sink.play(tone(0.5, 16000), 16000)
    sink.close()
    with wave.open(str(tmp_path / "o.wav")) as w:
        assert w.getframerate() == 22050 and abs(w.getnframes() - 11025) < 5
    null = NullSink()
    null.play(tone(0.5), 16000)
    assert null.seconds == pytest.approx(0.5)


def test_one_sink_protocol_for_speech_and_music(tmp_path):
    """Spoken replies (mono, the voice's rate) and the music player (frames x channels at the sink's
    rate) play to the same AudioSink; a sink converts what is not its own rate or channels."""
    stereo = WavSink(tmp_path / "s.wav", 22050, channels=2)
    for sink in (stereo, NullSink(), SpeakerSink.__new__(SpeakerSink)):  # no sound card here: unopened
        assert isinstance(sink, AudioSink)
    stereo.play(tone(0.5, 16000), 16000)  # a reply: resampled, both channels
    stereo.play(np.zeros((2205, 2), np.int16), 22050)  # music: as it is
    stereo.close()
    with wave.open(str(tmp_path / "s.wav")) as w:
        assert w.getnchannels() == 2 and abs(w.getnframes() - 11025 - 2205) < 5
        frames = np.frombuffer(w.readframes(100), np.int16).reshape(-1, 2)
    assert (frames[:, 0] == frames[:, 1]).all()
    assert fit(np.ones((4, 2), np.int16), 8000, 8000, 1).shape == (4, 1)


def test_resample_float_and_int():
    assert len(resample(np.zeros(22050, np.float32), 22050, 16000)) == 16000
    x = tone(0.1)
    assert resample(x, 16000, 16000).tolist() == x.tolist()


def test_no_sound_card_gives_clear_errors():
    import sounddevice as sd

    if sd.query_devices():
        pytest.fail("this test expects a machine without audio devices")
    with pytest.raises(AudioDeviceError, match=r"arecord -l.*audio.input_device"):
        MicSource(None).start()
    with pytest.raises(AudioDeviceError, match="audio.output_device"):
        SpeakerSink(None)


def test_an_overrunning_microphone_warns_once_not_per_block(caplog):
    """Processing too slow for the microphone: a long-running service must not flood its log."""
    mic = MicSource(None, block=512)
    block = np.zeros((512, 1), np.int16)
    with caplog.at_level("WARNING", logger="assistant.audio"):
        for _ in range(mic._queue.maxsize + 300):  # the sounddevice thread's calls, 300 too many
            mic._callback(block, 512, None, None)
    warnings = [r.getMessage() for r in caplog.records if "queue full" in r.getMessage()]
    assert warnings == [
        "Audio queue full: dropped 1 block(s) of microphone audio since the last warning (processing too slow)"
    ]
    assert mic._dropped == 299  # counted, and said with the next warning


class _HoldingEvent:
    """MicSource's closed flag; a reader that waits on it (a hold) is handed ``during_hold``'s blocks
    meanwhile, as the sound card's thread would."""

    def __init__(self, during_hold):
        import threading

        self._event, self.during_hold, self.waits = threading.Event(), during_hold, 0

    def wait(self, timeout=None):
        self.waits += 1
        self.during_hold()
        return self._event.wait(timeout)

    def set(self):
        self._event.set()

    def is_set(self):
        return self._event.is_set()


def test_a_held_microphone_hands_over_blocks_in_bursts_and_loses_none():
    """While only the wake word counts, the loop is woken once per burst, not once per block."""
    mic = MicSource(None, block=512)
    mic._stream = object()  # started: no sound card here; the test plays sounddevice's thread
    sent = [np.full((512, 1), i, np.int16) for i in range(12)]
    later = list(sent[3:])
    closed = _HoldingEvent(lambda: [mic._callback(later.pop(0), 512, None, None) for _ in range(3)])
    mic._closed = closed
    for b in sent[:3]:
        mic._callback(b, 512, None, None)
    mic.hold_s = 0.01
    reader = iter(mic)
    got = [next(reader) for _ in range(3)]  # queued already: no hold
    assert closed.waits == 0
    got += [next(reader) for _ in range(9)]  # three times the queue ran dry: a hold, then a burst of 3
    assert closed.waits == 3
    assert [int(b[0]) for b in got] == list(range(12))
    mic.hold_s = 0.0  # listening for a command: each block as it comes, no hold
    mic._callback(sent[0], 512, None, None)
    assert int(next(reader)[0]) == 0 and closed.waits == 3
    closed.set()
    assert list(reader) == []
