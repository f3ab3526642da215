#!/usr/bin/env bash
# Builds Sluice and runs the flight-delays example on a local cluster of real processes:
# one JobManager and two TaskManagers (2 slots each) on 127.0.0.1 (ephemeral ports), then
# `sluice run examples/flight-delays.yaml`. Results land in out/flight-delays/, daemon logs in
# out/logs/. Idempotent: safe to run again (deps and build are incremental, output is replaced).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2

BIN="$REPO/build/bin"
LOGS="$REPO/out/logs"
mkdir -p "$LOGS"
PORTS="$LOGS/jobmanager.ports"
rm -f "$PORTS"

PIDS=()
stop_daemons() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

"$BIN/sluice-jobmanager" --rpc-port 0 --rest-port 0 --bind-host 127.0.0.1 \
  --ports-file "$PORTS" >"$LOGS/jobmanager.log" 2>&1 &
PIDS+=($!)

# Wait (up to 30 s) for the JobManager to report its ports.
for _ in $(seq 300); do
  if [ -f "$PORTS" ] && grep -q '^rest=' "$PORTS" && grep -q '^rpc=' "$PORTS"; then break; fi
  if ! kill -0 "${PIDS[0]}" 2>/dev/null; then
    echo "the JobManager exited; log:" >&2; cat "$LOGS/jobmanager.log" >&2; exit 1
  fi
  sleep 0.1
done
RPC_PORT="$(sed -n 's/^rpc=//p' "$PORTS")"
REST_PORT="$(sed -n 's/^rest=//p' "$PORTS")"
if [ -z "$RPC_PORT" ] || [ -z "$REST_PORT" ]; then
  echo "the JobManager did not write $PORTS within 30 s; log:" >&2
  cat "$LOGS/jobmanager.log" >&2
  exit 1
fi

for i in 0 1; do
  "$BIN/sluice-taskmanager" --jobmanager "127.0.0.1:$RPC_PORT" --slots 2 --host 127.0.0.1 \
    >"$LOGS/taskmanager-$i.log" 2>&1 &
  PIDS+=($!)
done

# Wait (up to 30 s) until both TaskManagers are registered.
registered=0
for _ in $(seq 300); do
  registered="$(curl -fsS "http://127.0.0.1:$REST_PORT/taskmanagers" 2>/dev/null \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["taskmanagers"]))' 2>/dev/null \
    || echo 0)"
  if [ "${registered:-0}" -ge 2 ]; then break; fi
  sleep 0.1
done
if [ "${registered:-0}" -lt 2 ]; then
  echo "TaskManagers did not register within 30 s; logs in $LOGS" >&2
  exit 1
fi

echo "cluster: JobManager rpc 127.0.0.1:$RPC_PORT, REST http://127.0.0.1:$REST_PORT, 2 TaskManagers x 2 slots"
rm -rf "$REPO/out/flight-delays"
start=$(date +%s%N)
if ! "$BIN/sluice" run examples/flight-delays.yaml --jobmanager "127.0.0.1:$RPC_PORT"; then
  echo "the job did not finish; daemon logs in $LOGS" >&2
  exit 1
fi
end=$(date +%s%N)

rows=0
for f in "$REPO"/out/flight-delays/part-*.csv; do
  [ -e "$f" ] || continue
  n=$(wc -l <"$f")
  rows=$((rows + n - 1))
done
echo
echo "results: $REPO/out/flight-delays (part-*.csv, one per sink subtask)"
echo "rows written: $rows (origin,window_start,window_end,flights,avg_delay,max_delay)"
ms=$(( (end - start) / 1000000 ))
printf 'time taken: %d.%03d s\n' $((ms / 1000)) $((ms % 1000))
echo "daemon logs: $LOGS"
