#!/usr/bin/env bash
# Start N shop workers (`python wsgi.py`, eventlet) on consecutive ports
# BASE_PORT+1 ... BASE_PORT+N, for nginx (deploy/nginx.conf) to balance.
#
#   WORKERS=4 BASE_PORT=8000 deploy/run-workers.sh
#
# Settings come from the environment, or from ENV_FILE (default
# /etc/hearth-and-bean.env) when it exists. A worker that dies is started
# again after a second; SIGTERM or SIGINT stops them all. Each worker's pid
# is in RUN_DIR/worker-PORT.pid and its output in LOG_DIR/worker-PORT.log.
set -euo pipefail

APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
ENV_FILE="${ENV_FILE:-/etc/hearth-and-bean.env}"
if [ -f "$ENV_FILE" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  set +a
fi

WORKERS="${WORKERS:-2}"
BASE_PORT="${BASE_PORT:-8000}"
PYTHON="${PYTHON:-$APP_DIR/.venv/bin/python}"
RUN_DIR="${RUN_DIR:-$APP_DIR/instance/run}"
LOG_DIR="${LOG_DIR:-$RUN_DIR}"
export SHOP_CONFIG="${SHOP_CONFIG:-production}"
export SOCKETIO_ASYNC_MODE="${SOCKETIO_ASYNC_MODE:-eventlet}"
export PROXY_COUNT="${PROXY_COUNT:-1}"
export HOST="${HOST:-127.0.0.1}"

fail() { echo "run-workers: $*" >&2; exit 2; }
[ "$SHOP_CONFIG" != production ] || [ -n "${SECRET_KEY:-}" ] || fail "SECRET_KEY must be set"
[ -n "${DATABASE_URL:-}" ] || fail "DATABASE_URL must be set (postgresql://...)"
case "$DATABASE_URL" in
  sqlite*) [ "$WORKERS" -eq 1 ] || fail "several workers need PostgreSQL, not SQLite" ;;
esac
[ "$WORKERS" -eq 1 ] || [ -n "${SOCKETIO_MESSAGE_QUEUE:-}" ] ||
  fail "several workers need SOCKETIO_MESSAGE_QUEUE=redis://..., or pushes reach only one worker's clients"

# Every socket is a file descriptor: allow as many as the system lets us.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$RUN_DIR" "$LOG_DIR"

supervise() {
  # One worker on one port, started again whenever it dies, until TERM.
  local port=$1 pid= stopping=0
  trap 'stopping=1; [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null' TERM
  while [ "$stopping" -eq 0 ]; do
    PORT="$port" "$PYTHON" "$APP_DIR/wsgi.py" >>"$LOG_DIR/worker-$port.log" 2>&1 &
    pid=$!
    echo "$pid" >"$RUN_DIR/worker-$port.pid"
    wait "$pid" || true
    [ "$stopping" -eq 0 ] || break
    echo "run-workers: worker on port $port exited; starting it again" >&2
    sleep 1
  done
  wait "$pid" 2>/dev/null || true
  rm -f "$RUN_DIR/worker-$port.pid"
}

supervisors=()
for port in $(seq $((BASE_PORT + 1)) $((BASE_PORT + WORKERS))); do
  supervise "$port" &
  supervisors+=($!)
  echo "run-workers: worker on $HOST:$port" >&2
done

trap 'kill -TERM "${supervisors[@]}" 2>/dev/null || true' TERM INT
# `wait` returns early when a trapped signal arrives: wait again for the exits.
wait "${supervisors[@]}" 2>/dev/null || true
wait "${supervisors[@]}" 2>/dev/null || true
