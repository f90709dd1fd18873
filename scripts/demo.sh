#!/usr/bin/env bash
# `make demo`: sync the seeded demo shop from the Shoper emulator into the Gateway emulator.
#
# Starts both emulators on free ports of 127.0.0.1 (the Shoper one with Shoper's documented
# rate limit, a leaky bucket of 10 calls draining 2 per second), runs
#     tap-shoper --config tap.json | target-gateway --config target.json
# prints the target's summary, saves what the Gateway ended up with to
# demo-output/gateway-state.json (plus the logs and the run report), then runs again from the
# first run's state to show that an unchanged shop costs no write. Stops the emulators and
# exits with the first failing status. Nothing to type; no network beyond 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
OUT=demo-output
[ -x "$BIN/tap-shoper" ] && [ -x "$BIN/target-gateway" ] || {
  echo "Run 'make setup' first (it creates .venv)." >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gateway-demo.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"  # the configs hold the demo credentials and signing key
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # VAR name args...: start an emulator, put its URL (its first output line) in VAR
  local var=$1 name=$2; shift 2
  "$BIN/python" -m "sandbox.$name" --port 0 "$@" >"$WORK/$name.out" 2>&1 &
  local pid=$! line
  PIDS+=("$pid")  # in this shell, not a subshell, so that cleanup stops it
  for _ in $(seq 100); do
    line=$(head -n 1 "$WORK/$name.out" 2>/dev/null || true)
    case "$line" in *"listening on http"*) printf -v "$var" '%s' "${line##* }"; return 0 ;; esac
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the $name emulator did not start:" >&2; cat "$WORK/$name.out" >&2; exit 1
}

start SHOPER_URL shoper --products 60 --seed 42 --rate-limit 10/2
start GATEWAY_URL gateway
echo "Shoper emulator:  $SHOPER_URL  (60 products, rate limit 10 calls, 2/s)"
echo "Gateway emulator: $GATEWAY_URL"

mkdir -p "$OUT"
umask 077
"$BIN/python" - "$WORK" "$SHOPER_URL" "$GATEWAY_URL" "$OUT" <<'PY'
import json, sys
from pathlib import Path
from sandbox.gateway import DEMO_SHOP_GUID, DEMO_SIGNING_KEY
work, shop, gateway, out = sys.argv[1:]
Path(work, "tap.json").write_text(json.dumps(
    {"shop_url": shop, "username": "demo", "password": "demo-password"}))
Path(work, "target.json").write_text(json.dumps(
    {"api_url": gateway, "shop_guid": DEMO_SHOP_GUID, "signing_key": DEMO_SIGNING_KEY,
     "allow_private_image_hosts": True,
     "report_file": str(Path(out, "report.json").resolve())}))
PY
umask 022

sync() {  # NAME [tap args...]: one tap-shoper | target-gateway run; its STATE lines kept in $WORK
  local name=$1; shift
  set +e
  "$BIN/tap-shoper" --config "$WORK/tap.json" "$@" 2>"$OUT/$name-tap.log" \
    | "$BIN/target-gateway" --config "$WORK/target.json" >"$WORK/$name-states.jsonl" \
      2>"$OUT/$name-target.log"
  local status=("${PIPESTATUS[@]}")
  set -e
  # the target's human summary: every line of its log that is not a timestamped log record
  grep -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' "$OUT/$name-target.log" || true
  if [ "${status[0]}" != 0 ]; then
    echo "tap-shoper failed (exit ${status[0]}); the end of $OUT/$name-tap.log:" >&2
    grep -v METRIC "$OUT/$name-tap.log" | tail -n 15 >&2
  fi
  local code
  for code in "${status[@]}"; do [ "$code" = 0 ] || exit "$code"; done
}

echo
echo "First run: tap-shoper | target-gateway   (logs: $OUT/first-tap.log, $OUT/first-target.log)"
sync first
"$BIN/python" - "$GATEWAY_URL" "$SHOPER_URL" "$OUT" <<'PY'
import json, sys, urllib.request
from pathlib import Path
gateway, shop, out = sys.argv[1:]
def get(url):
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - 127.0.0.1 only
        return json.loads(answer.read(64 * 1024 * 1024))
state = get(f"{gateway}/_emulator/state")
Path(out, "gateway-state.json").write_text(json.dumps(state, ensure_ascii=False, indent=2))
calls = get(f"{shop}/_emulator/requests")
variants = [t for t in state["tags"] if t.get("type") == "variant"]
print()
print(f"Gateway now holds {len(state['products'])} products (one per variant), "
      f"{len(variants)} variant tags, {len(state['bucket'])} copied images.")
api_calls = sum(n for route, n in calls["by_route"].items() if " /webapi/rest/" in route)
print(f"tap-shoper made {api_calls} Shoper API calls, paced under the shop's rate limit "
      f"({calls['rate_limited']} answered 429).")
print(f"Everything the Gateway emulator holds: {Path(out, 'gateway-state.json').resolve()}")
print(f"Run report: {Path(out, 'report.json').resolve()}")
PY

# The second run resumes from the first run's last STATE. Nothing changed in the shop, so the
# Gateway must receive no write at all: its summary says so and the emulator's log proves it.
tail -n 1 "$WORK/first-states.jsonl" >"$WORK/state.json"  # the target prints bare state values
"$BIN/python" -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1] + "/_emulator/clear", method="POST"), timeout=30)' "$GATEWAY_URL"
echo
echo "Second run, from the first run's state (logs: $OUT/second-*.log):"
sync second --state "$WORK/state.json"
"$BIN/python" - "$GATEWAY_URL" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(f"{sys.argv[1]}/_emulator/requests", timeout=30) as answer:  # noqa: S310
    by_route = json.loads(answer.read())["by_route"]
writes = sum(n for route, n in by_route.items()
             if route.split()[0] in ("POST", "PUT", "PATCH", "DELETE") and "_query" not in route)
print()
print(f"Second run: {writes} write requests reached the Gateway (the shop did not change).")
PY

