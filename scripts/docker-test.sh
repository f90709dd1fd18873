#!/usr/bin/env bash
# Build every tap-*/Dockerfile and run each image the way a user does, against the emulators:
#
#   printf '<signing key>\n<shop guid>\n<answers>\n' | docker run -i --rm --network host IMAGE
#
# then check that the products arrived in the Gateway emulator, that a second run continues
# from the state kept in /data, that the signing key appears nowhere in what the container
# printed, and that what it printed is gateway-sync's plain text (its progress line, no JSON
# log record of the children it runs with structured logging). Run by `make docker-test` and
# by .ci/run.
#
# Docker engine: the one `docker` reaches if any; else ../shared/tools/local-docker.sh up
# (machines with only the docker CLI: it installs Debian's engine and makes local base images),
# stopped again at the end; else "no Docker engine available" and exit 3, never a silent pass.
#
# Per tap, tap-<platform>/docker-test.answers holds the answers after the key and the guid,
# one per line, `{url}` standing for the platform emulator's URL (`python -m
# sandbox.<platform>`, started from this repository's .venv); lines starting with # are
# comments. A new tap needs its Dockerfile, that file and its emulator, nothing here.
#
# Env: DOCKER_TEST_TAPS="tap-shoper ..." to test only some taps; DOCKER_TEST_PRODUCTS (20).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=$ROOT/.venv/bin/python
PRODUCTS=${DOCKER_TEST_PRODUCTS:-20}
WORK=$(mktemp -d /tmp/docker-test.XXXXXX)
PIDS=()
STARTED_ENGINE=""

log() { printf '[docker-test %(%T)T] %s\n' -1 "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$STARTED_ENGINE" ] && [ -z "${KEEP_DOCKER:-}" ]; then
    bash "$STARTED_ENGINE" down >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$PY" ] || { echo "Run 'make setup' first (it creates .venv)." >&2; exit 2; }
command -v docker >/dev/null || { echo "no docker CLI: docker image test NOT run" >&2; exit 3; }

# -- a Docker engine ------------------------------------------------------------------------
find_local_docker() {
  local top candidate
  top=$(git rev-parse --show-toplevel 2>/dev/null || echo "$ROOT")
  for candidate in "${LOCAL_DOCKER:-}" "$top/../shared/tools/local-docker.sh" \
                   "$ROOT/../shared/tools/local-docker.sh"; do
    [ -n "$candidate" ] && [ -f "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

SECONDS=0
if docker version >/dev/null 2>&1; then
  log "using the Docker engine at ${DOCKER_HOST:-the default socket}"
elif TOOL=$(find_local_docker); then
  log "no reachable Docker engine: starting one with $TOOL up"
  # One the tool started before (e.g. by hand) is left running; one started here is stopped.
  DOCKER_HOST=unix://${DK:-/tmp/ci-docker}/docker.sock docker version >/dev/null 2>&1 \
    || STARTED_ENGINE=$TOOL
  if ! bash "$TOOL" up 2>"$WORK/local-docker.log"; then
    cat "$WORK/local-docker.log" >&2
    echo "no Docker engine available ($TOOL up failed): docker image test NOT run" >&2
    exit 3
  fi
  host=$(sed -n 's/.*ready: export DOCKER_HOST=//p' "$WORK/local-docker.log" | tail -1)
  export DOCKER_HOST=${host:-unix:///tmp/ci-docker/docker.sock}
  docker version >/dev/null 2>&1 \
    || { echo "no Docker engine available at $DOCKER_HOST: docker image test NOT run" >&2; exit 3; }
  log "engine ready in ${SECONDS}s (DOCKER_HOST=$DOCKER_HOST)"
else
  echo "no Docker engine available (no reachable engine, no local-docker.sh):" \
       "docker image test NOT run" >&2
  exit 3
fi

# -- emulators ------------------------------------------------------------------------------
# start_emulator NAME ARGS...: runs python -m sandbox.NAME on a free port, sets $URL.
start_emulator() {
  local name=$1 out=$WORK/$1.log
  shift
  "$PY" -m "sandbox.$name" --port 0 "$@" >"$out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    URL=$(sed -n "s/^$name listening on //p" "$out")
    [ -n "$URL" ] && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$out" >&2
  fail "the $name emulator did not start"
}

# -- every tap image ------------------------------------------------------------------------
TAPS=${DOCKER_TEST_TAPS:-$(for f in tap-*/Dockerfile; do [ -f "$f" ] && dirname "$f"; done)}
[ -n "$TAPS" ] || fail "no tap-*/Dockerfile found"

KEY=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
GUID=$("$PY" -c 'import uuid; print(uuid.uuid4())')
start_emulator gateway --shop "$GUID:$KEY"
GATEWAY_URL=$URL

for tap in $TAPS; do
  platform=${tap#tap-}
  answers_file=$tap/docker-test.answers
  [ -f "$answers_file" ] || fail "$answers_file is missing (the answers after key and guid)"
  image=$tap:docker-test

  SECONDS=0
  log "$tap: docker build -f $tap/Dockerfile"
  docker build --network host -f "$tap/Dockerfile" -t "$image" . >"$WORK/build-$tap.log" 2>&1 \
    || { tail -40 "$WORK/build-$tap.log" >&2; fail "$tap: docker build failed"; }
  log "$tap: built in ${SECONDS}s"
  user=$(docker image inspect -f '{{.Config.User}}' "$image")
  case "$user" in ''|root|0|0:*) fail "$tap: the image runs as root" ;; esac

  start_emulator "$platform" --products "$PRODUCTS"
  PLATFORM_URL=$URL
  expected=$("$PY" -c "from sandbox.catalog import generate_catalog as g
print(g(n_products=$PRODUCTS, seed=42).variant_count())")
  answers=$(sed -e '/^#/d' -e "s|{url}|$PLATFORM_URL|g" "$answers_file")
  data=$WORK/data-$tap  # mounted on /data: the image's non-root user must write there
  mkdir -p "$data"
  chmod 777 "$data"

  for run in 1 2; do
    SECONDS=0
    out=$WORK/run-$tap-$run.log
    status=0
    printf '%s\n%s\n%s\n' "$KEY" "$GUID" "$answers" \
      | timeout 600 docker run -i --rm --network host -v "$data:/data" \
          -e TARGET_GATEWAY_API_URL="$GATEWAY_URL" \
          -e TARGET_GATEWAY_ALLOW_PRIVATE_IMAGE_HOSTS=true \
          "$image" >"$out" 2>&1 || status=$?
    log "$tap: run $run exited $status in ${SECONDS}s"
    if grep -qF -- "$KEY" "$out"; then fail "$tap: the signing key appears in the output"; fi
    [ "$status" = 0 ] || { cat "$out" >&2; fail "$tap: run $run exited $status"; }
    grep -q '^gateway-sync: OK' "$out" || { cat "$out" >&2; fail "$tap: no OK line"; }
    if grep -qE '^[[:space:]]*\{' "$out"; then
      cat "$out" >&2; fail "$tap: run $run printed JSON log records"
    fi
    if [ "$run" = 1 ] && ! grep -q '^progress: read ' "$out"; then
      cat "$out" >&2; fail "$tap: run 1 printed no progress line"
    fi
    got=$("$PY" -c "import json, urllib.request
state = json.load(urllib.request.urlopen('$GATEWAY_URL/_emulator/state', timeout=30))
print(sum(p['owner_guid'] == '$GUID' for p in state['products']))")
    [ "$got" = "$expected" ] \
      || { cat "$out" >&2; fail "$tap: run $run: $got products in the Gateway, expected $expected"; }
    log "$tap: run $run: $got/$expected products in the Gateway emulator, no key in the output"
  done
  grep -q "continuing from /data/state.json" "$out" \
    || { cat "$out" >&2; fail "$tap: the second run did not continue from /data/state.json"; }
  [ -f "$data/state.json" ] || fail "$tap: no state.json kept in /data"
  log "$tap: what the first run printed:"
  sed 's/^/    /' "$WORK/run-$tap-1.log" >&2
  log "$tap: OK"
done
log "docker test passed: $(echo $TAPS)"
