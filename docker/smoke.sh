#!/usr/bin/env bash
# Opt-in smoke test of the docker stack (not part of CI: the build alone takes minutes):
# build the image, start the `cpu` profile (mosquitto with a password + the assistant), wait until
# the assistant is healthy, ask by text (/api/ask) and by voice (/api/audio), tear everything down.
#
#   docker/smoke.sh                          # Docker Hub reachable: python:3.11-slim, eclipse-mosquitto:2
#   SMOKE_LOCAL_BASE=1 docker/smoke.sh       # no Docker Hub: base images from `debootstrap bookworm` (root,
#                                            # apt-get install debootstrap); pip and apt use the host network
# Prints the figures docs/deploy.md quotes. Needs curl and python3 on the host.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd .. && pwd)

if [ -z "${COMPOSE:-}" ]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE="docker-compose"; fi
fi
PROJECT=assistant-smoke
PORT=${SMOKE_PORT:-18300}
export MQTT_PASSWORD="smoke-mqtt-$RANDOM$RANDOM" ASSISTANT_HTTP_TOKEN="smoke-token-$RANDOM$RANDOM"
export ASSISTANT_PUBLISH="127.0.0.1:$PORT" MQTT_PUBLISH="127.0.0.1:${SMOKE_MQTT_PORT:-11883}"
compose() { $COMPOSE -p "$PROJECT" -f compose.yaml --profile cpu "$@"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

build_local_bases() {
  # Debian bookworm from its own mirror -> local/debian:bookworm -> Python and mosquitto images
  if ! docker image inspect local/debian:bookworm >/dev/null 2>&1; then
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    tar -C "$rootfs" -c . | docker import - local/debian:bookworm >/dev/null
    rm -rf "$rootfs"
  fi
  ctx=$(mktemp -d)
  # a TLS-intercepting proxy between this host and PyPI: the image trusts what the host trusts
  cp "${SMOKE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/host-ca.crt"
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM local/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY host-ca.crt /etc/ssl/certs/host-ca.crt
ENV PIP_CERT=/etc/ssl/certs/host-ca.crt SSL_CERT_FILE=/etc/ssl/certs/host-ca.crt
DOCKERFILE
  docker build -q --network host -t local/python:3.11 "$ctx" >/dev/null
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM local/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto mosquitto-clients \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /mosquitto/config /mosquitto/data && chown mosquitto:mosquitto /mosquitto/data
CMD ["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]
DOCKERFILE
  docker build -q --network host -t local/mosquitto:2 "$ctx" >/dev/null
  rm -rf "$ctx"
  export PYTHON_IMAGE=local/python:3.11 MOSQUITTO_IMAGE=local/mosquitto:2
}

cleanup() { compose down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT

if [ -n "${SMOKE_LOCAL_BASE:-}" ]; then
  t=$(now); build_local_bases; echo "local base images: $(since "$t") s"
fi
t=$(now)
docker build -q --network host --build-arg "BASE=${PYTHON_IMAGE:-python:3.11-slim}" \
  -f Dockerfile -t home-assistant-voice:local "$ROOT" >/dev/null
echo "image build: $(since "$t") s; size: $(docker image inspect -f '{{.Size}}' home-assistant-voice:local | awk '{printf "%.0f MB", $1/1e6}')"
echo "image user: $(docker image inspect -f '{{.Config.User}}' home-assistant-voice:local)"

t=$(now)
compose up -d --no-build >/dev/null 2>&1 || { compose logs; exit 1; }
cid=$(compose ps -q assistant)
for _ in $(seq 1 120); do
  state=$(docker inspect -f '{{.State.Health.Status}}' "$cid")
  [ "$state" = healthy ] && break
  [ "$state" = unhealthy ] && { compose logs; echo "assistant unhealthy"; exit 1; }
  sleep 2
done
[ "$state" = healthy ] || { compose logs; echo "assistant not healthy after 240 s"; exit 1; }
echo "up to healthy: $(since "$t") s"

URL="http://127.0.0.1:$PORT"
auth=(-H "Authorization: Bearer $ASSISTANT_HTTP_TOKEN")
health=$(curl -fsS "$URL/health")
echo "health: $health"
python3 -c "import json, sys; h = json.loads(sys.argv[1]); assert h['ready'] and h['parts']['mqtt']['connected'], h" "$health"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/alarms")" = 401 ] || { echo "the API answered without a token"; exit 1; }

t=$(now)
ask=$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' -d '{"text": "set a pasta timer for 9 minutes"}' "$URL/api/ask")
echo "ask ($(since "$t") s): $ask"
python3 -c "import json, sys; r = json.loads(sys.argv[1]); assert r['intent'] == 'HassStartTimer', r" "$ask"

# a spoken command: Piper inside the container says it, /api/audio hears it
docker exec "$cid" assistant say "What time is it?" -o /tmp/command.wav
docker cp "$cid:/tmp/command.wav" "${TMPDIR:-/tmp}/smoke-command.wav"
for round in first second; do
  t=$(now)
  audio=$(curl -fsS "${auth[@]}" -H 'Content-Type: audio/wav' --data-binary "@${TMPDIR:-/tmp}/smoke-command.wav" "$URL/api/audio")
  echo "audio, $round request ($(since "$t") s): $(python3 -c "import json, sys; r = json.loads(sys.argv[1]); x = r['results'][0]; print(repr(x['transcript']), '->', x['intent'], '|', x['response'], '| timings_ms', x['timings_ms'], '| reply WAV', len(r['reply_wav']) * 3 // 4, 'bytes')" "$audio")"
done
python3 -c "import json, sys; r = json.loads(sys.argv[1]); assert r['results'][0]['intent'] == 'HassGetCurrentTime' and r['reply_wav'], r" "$audio"
echo "memory: $(docker stats --no-stream --format '{{.MemUsage}}' "$cid")"
t=$(now)
compose stop -t 20 assistant >/dev/null 2>&1
echo "stop (SIGTERM): $(since "$t") s, exit code $(docker inspect -f '{{.State.ExitCode}}' "$cid")"
echo "smoke test passed"
