#!/usr/bin/env bash
# Nexmark q0, q1, q2 on a local cluster of separate processes, with exactly-once checkpoints
# every 10 s, against the hand-written single-threaded loop (nexmark_bench.py says what is
# measured). Usage, after a Release build into build/:
#   benchmarks/nexmark/run.sh [q0 q1 q2] [--events N] [--parallelism P] [--bin-dir DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec python3 "$here/nexmark_bench.py" "$@"
