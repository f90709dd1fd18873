#!/usr/bin/env bash
# Build every tap-*/Dockerfile and run each image the way a user does, against the emulators:
#
#   printf '<signing key>\n<shop guid>\n<answers>\n' | docker run -i --rm --network host IMAGE
#
# then check that the products arrived in the Gateway emulator, that a second run continues
# from the state kept in /data, that the signing key appears nowhere in what the container
# printed, and that what it printed is gateway-sync's plain text (its progress line, no JSON
# log record of the children it runs with structured logging). Run by `make docker-test` and
# by .ci/run. Every tap is tried; the end lists each tap's result.
#
# Docker engine: the one `docker` reaches (`docker version` answers): nothing else is needed.
# Only when none answers, and only if it exists, an optional helper that starts an engine is
# used (LOCAL_DOCKER=/path/to/a script taking `up` and `down`, as CI sets it); an engine it
# started is stopped again at the end. No
# engine and no helper: "no Docker engine available" and exit 3, never a silent pass.
#
# What a tap needs, per tap directory:
#   docker-test.answers  the answers after the key and the guid, one per line, `{url}` standing
#                        for the emulator's URL and `{data}` for /data; lines starting with #
#                        are comments.
#   docker-test.env      optional KEY=VALUE lines overriding the defaults below:
#     EMULATOR=<module>       HTTP emulator `python -m sandbox.<module> --port 0 ...` (none:
#                             the tap reads a file, see SETUP)
#     EMULATOR_ARGS=<args>    its arguments (default: --products {products})
#     SETUP=<module args>     run once on the host before the image: `python -m sandbox.<...>`
#                             with {data} = the host directory mounted on /data (e.g. a test
#                             database: `subiektgt --out {data}/subiekt.sqlite --products
#                             {products}`)
#     DOCKER_ENV=<A=1 B=2>    extra env vars for the container
#     EXPECTED=<python expr>  how many Gateway products the run must leave (default: the
#                             variants of sandbox.catalog.generate_catalog(products, seed=42))
# The defaults: each tap's emulator by this mapping, not by its name.
#
# Exit: 0 every tap passed; 1 a tap failed; 3 nothing could run (no engine) or a tap has no
# docker-test.answers (NOT TESTED is never a pass).
# Env: DOCKER_TEST_TAPS="tap-shoper ..." to test only some taps; DOCKER_TEST_PRODUCTS (20).
set -euo pipefail

declare -A DEFAULT_EMULATOR=(
  [tap-shoper]=shoper [tap-iai]=idosell [tap-prestashop]=prestashop [tap-magento]=magento
  [tap-feed]=feeds [tap-subiektgt]=""
)
declare -A DEFAULT_DOCKER_ENV=(
  [tap-feed]="TAP_FEED_ALLOW_LOOPBACK_FEED=true"  # the feed emulator listens on 127.0.0.1
)
declare -A DEFAULT_SETUP=(
  [tap-subiektgt]="subiektgt --out {data}/subiekt.sqlite --products {products}"
)

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
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

[ -x "$PY" ] || { echo "Run 'make setup' first (it creates .venv)." >&2; exit 2; }
command -v docker >/dev/null \
  || { echo "no docker CLI: install Docker; the docker image test was NOT run" >&2; exit 3; }

# -- a Docker engine ------------------------------------------------------------------------
find_engine_helper() {
  [ -n "${LOCAL_DOCKER:-}" ] && [ -f "$LOCAL_DOCKER" ] && { echo "$LOCAL_DOCKER"; return 0; }
  return 1
}

SECONDS=0
if docker version >/dev/null 2>&1; then
  log "using the Docker engine at ${DOCKER_HOST:-the default socket}"
elif TOOL=$(find_engine_helper); then
  log "no reachable Docker engine: starting one with the optional helper $TOOL"
  # One the helper started before (e.g. by hand) is left running; one started here is stopped.
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
  echo "no Docker engine available: 'docker version' reaches no engine (start Docker, or set" \
       "DOCKER_HOST); docker image test NOT run" >&2
  exit 3
fi

# -- emulators ------------------------------------------------------------------------------
# start_emulator NAME ARGS...: runs python -m sandbox.NAME on a free port, sets $URL.
start_emulator() {
  local name=$1 out=$WORK/emulator-$1-$RANDOM.log
  shift
  : >"$out"  # exists before the reader below looks at it
  "$PY" -m "sandbox.$name" --port 0 "$@" >"$out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    URL=$(sed -n "s/^[a-z_]* listening on //p" "$out" | head -1)
    [ -n "$URL" ] && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$out" >&2
  fail "the $name emulator did not start"
}

# tap_setting TAP KEY DEFAULT: KEY from TAP/docker-test.env, else DEFAULT.
tap_setting() {
  local file=$1/docker-test.env line
  if [ -f "$file" ]; then
    line=$(grep -E "^$2=" "$file" | tail -1 || true)
    [ -n "$line" ] && { echo "${line#*=}"; return 0; }
  fi
  echo "$3"
}

fill() { sed -e "s|{products}|$PRODUCTS|g" -e "s|{url}|${2:-}|g" -e "s|{data}|${3:-}|g" <<<"$1"; }

# -- one tap image (in a subshell: its failure ends only its own test) ------------------------
test_tap() {
  local tap=$1 image=$1:docker-test answers_file=$1/docker-test.answers
  local emulator emulator_args setup docker_env expected_expr data user expected run out status
  local got platform_url="" answers
  PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
  emulator=$(tap_setting "$tap" EMULATOR "${DEFAULT_EMULATOR[$tap]-${tap#tap-}}")
  emulator_args=$(tap_setting "$tap" EMULATOR_ARGS "--products {products}")
  setup=$(tap_setting "$tap" SETUP "${DEFAULT_SETUP[$tap]-}")
  docker_env=$(tap_setting "$tap" DOCKER_ENV "${DEFAULT_DOCKER_ENV[$tap]-}")
  expected_expr=$(tap_setting "$tap" EXPECTED \
    "__import__('sandbox.catalog').catalog.generate_catalog(n_products=$PRODUCTS, seed=42).variant_count()")

  SECONDS=0
  log "$tap: docker build -f $tap/Dockerfile"
  docker build --network host -f "$tap/Dockerfile" -t "$image" . >"$WORK/build-$tap.log" 2>&1 \
    || { tail -40 "$WORK/build-$tap.log" >&2; fail "$tap: docker build failed"; }
  log "$tap: built in ${SECONDS}s"
  user=$(docker image inspect -f '{{.Config.User}}' "$image")
  case "$user" in ''|root|0|0:*) fail "$tap: the image runs as root" ;; esac

  data=$WORK/data-$tap  # mounted on /data: the image's non-root user must write there
  mkdir -p "$data"
  chmod 777 "$data"
  if [ -n "$emulator" ]; then
    # shellcheck disable=SC2046  # the arguments are words by design
    start_emulator "$emulator" $(fill "$emulator_args")
    platform_url=$URL
    log "$tap: emulator sandbox.$emulator at $platform_url"
  fi
  if [ -n "$setup" ]; then
    # shellcheck disable=SC2046
    "$PY" -m sandbox.$(fill "$setup" "$platform_url" "$data") >"$WORK/setup-$tap.log" 2>&1 \
      || { cat "$WORK/setup-$tap.log" >&2; fail "$tap: setup sandbox.$setup failed"; }
    chmod -R a+rw "$data"
  fi
  expected=$("$PY" -c "print($expected_expr)")
  answers=$(sed -e '/^#/d' "$answers_file")
  answers=$(fill "$answers" "$platform_url" /data)
  local env_args=()
  for assignment in $docker_env; do env_args+=(-e "$assignment"); done

  for run in 1 2; do
    SECONDS=0
    out=$WORK/run-$tap-$run.log
    status=0
    printf '%s\n%s\n%s\n' "$KEY" "$GUID" "$answers" \
      | timeout 600 docker run -i --rm --network host -v "$data:/data" \
          -e TARGET_GATEWAY_API_URL="$GATEWAY_URL" \
          -e TARGET_GATEWAY_ALLOW_PRIVATE_IMAGE_HOSTS=true "${env_args[@]}" \
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
}

# -- every tap image ------------------------------------------------------------------------
TAPS=${DOCKER_TEST_TAPS:-$(for f in tap-*/Dockerfile; do [ -f "$f" ] && dirname "$f"; done)}
[ -n "$TAPS" ] || fail "no tap-*/Dockerfile found"

KEY=$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
declare -A RESULT=()
for tap in $TAPS; do
  if [ ! -f "$tap/docker-test.answers" ]; then
    log "$tap: NOT TESTED: $tap/docker-test.answers is missing (the answers after key and guid)"
    RESULT[$tap]="NOT TESTED (no docker-test.answers)"
    continue
  fi
  # every tap writes into a Gateway shop of its own, so the counts are its own
  GUID=$("$PY" -c 'import uuid; print(uuid.uuid4())')
  start_emulator gateway --shop "$GUID:$KEY"
  GATEWAY_URL=$URL
  if ( test_tap "$tap" ); then RESULT[$tap]=OK; else RESULT[$tap]=FAILED; fi
  kill "${PIDS[-1]}" 2>/dev/null || true
done

code=0
log "results:"
for tap in $TAPS; do
  log "  $tap: ${RESULT[$tap]}"
  case "${RESULT[$tap]}" in
    OK) ;;
    FAILED) code=1 ;;
    *) [ "$code" = 1 ] || code=3 ;;
  esac
done
[ "$code" = 0 ] && log "docker test passed: $(echo $TAPS)"
exit "$code"
