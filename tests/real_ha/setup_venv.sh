#!/usr/bin/env bash
# Builds, once, the venv with a real Home Assistant core for tests/test_real_home_assistant.py and
# prints its path. Slow (minutes: ~200 packages, some built from source); later runs reuse it.
#   ASSISTANT_HA_VENV  where the venv lives (default: ~/.cache/assistant/ha-2024.3.3)
# Home Assistant 2024.3.3 is the newest release that installs on Python 3.11. The extra packages are
# what the integrations the test loads need (frontend, conversation, mqtt, backup, acme's josepy<2),
# pinned to what 2024.3.3's manifests ask for; Home Assistant is then started with --skip-pip.
set -euo pipefail
VENV="${ASSISTANT_HA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/assistant/ha-2024.3.3}"
if [ -f "$VENV/.complete" ]; then echo "$VENV"; exit 0; fi
PY="${ASSISTANT_HA_PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
mkdir -p "$(dirname "$VENV")"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q homeassistant==2024.3.3 >&2
"$VENV/bin/pip" install -q home-assistant-frontend==20240307.0 hassil==1.6.1 home-assistant-intents==2024.3.12 paho-mqtt==1.6.1 janus==1.0.0 Pillow==10.2.0 securetar==2024.2.1 josepy==1.14.0 \
    psutil-home-assistant==0.0.1 SQLAlchemy==2.0.27 fnv-hash-fast==0.5.0 >&2
touch "$VENV/.complete"
echo "$VENV"
