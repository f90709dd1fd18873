#!/usr/bin/env bash
# Start or stop the local emulators that Meltano's `dev` environment points at, on fixed ports:
#   Gateway 127.0.0.1:8730, Shoper demo shop :8731, vendor shops A :8732 and B :8733,
#   PrestaShop demo shop :8734, IdoSell demo shop :8735, product feeds (Ceneo/Google) :8736,
#   Magento demo store :8737.
# Usage: scripts/emulators.sh start|stop|status. PIDs and logs live in .emulators/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DIR=.emulators
# The demo shops' Gateway identities: emulator-only values, not secrets of any real shop.
SHOP_A=11111111-1111-4111-8111-111111111111
SHOP_B=22222222-2222-4222-8222-222222222222
KEY_A=c2hvcC1hLWRlbW8tc2lnbmluZy1rZXktMDAwMDAwMDA=
KEY_B=c2hvcC1iLWRlbW8tc2lnbmluZy1rZXktMDAwMDAwMDA=

start_one() {  # name port args...
  local name=$1 port=$2; shift 2
  if [ -f "$DIR/$name.pid" ] && kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then
    echo "$name already running (pid $(cat "$DIR/$name.pid"))"; return
  fi
  "$PY" -m "sandbox.${name%%-*}" --port "$port" "$@" >"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
  for _ in $(seq 50); do
    grep -q "listening on" "$DIR/$name.log" 2>/dev/null && { echo "$name on http://127.0.0.1:$port"; return; }
    kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null || break
    sleep 0.2
  done
  echo "$name did not start; see $DIR/$name.log" >&2; cat "$DIR/$name.log" >&2; exit 1
}

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    start_one gateway 8730 --shop "$SHOP_A:$KEY_A" --shop "$SHOP_B:$KEY_B"
    start_one shoper 8731 --seed 42
    start_one shoper-a 8732 --seed 1 --products 25
    start_one shoper-b 8733 --seed 2 --products 15
    # Subiekt GT has no API: its "emulator" is a generated database file, no port
    "$PY" -m sandbox.subiektgt --out "$DIR/subiektgt.sqlite" --seed 42
    start_one prestashop 8734 --seed 42
    start_one idosell 8735 --seed 42
    start_one feeds 8736 --seed 42
    start_one magento 8737 --seed 42
    ;;
  stop)
    for pidfile in "$DIR"/*.pid; do
      [ -e "$pidfile" ] || continue
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    done
    echo "emulators stopped"
    ;;
  status)
    for pidfile in "$DIR"/*.pid; do
      [ -e "$pidfile" ] || continue
      name=$(basename "$pidfile" .pid)
      if kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "$name running"; else echo "$name dead"; fi
    done
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
