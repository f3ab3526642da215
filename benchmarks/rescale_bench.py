#!/usr/bin/env python3
"""Rescale downtime with large RocksDB state (issue #4 benchmark), on real processes.

  python3 benchmarks/rescale_bench.py [--bin-dir build/bin] [--state-gb 1.0] [--type native]

A JobManager and two TaskManagers (4 slots each) run a keyed 1-day tumbling window over a
DataGen source at parallelism 2 with the RocksDB backend and incremental checkpoints every 10 s:
every generated row is a new key (a sequence field), so the window state grows until the job
stops. Once the job metric `state.size-bytes` (RocksDB memtables + SST files over all subtasks)
reaches --state-gb, `sluice rescale JOB -p 4 --type TYPE` stops the job with a savepoint and
restores it at parallelism 4. Printed: state size, savepoint duration (as the CLI reports it),
the downtime the CLI reports (savepoint completed -> every subtask of the new job RUNNING) and
the savepoint's size on disk, as a markdown row for benchmarks/RESULTS.md. Not run by ctest.
"""

import argparse
import json
import os
import re
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from testing import harness  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import wait_until  # noqa: E402

SPEC = """name: rescale-bench
parallelism: 2
checkpointing:
  interval: 10 s
  dir: {checkpoints}
state:
  backend: rocksdb
source:
  name: events
  type: datagen
  rows-per-second: {rate}
  number-of-rows: 200000000
  schema: {{user: int64, amount: double, ts: timestamp}}
  fields:
    user: {{kind: sequence, start: 0, end: 199999999}}
    amount: {{kind: random, min: 0, max: 100}}
    ts: {{kind: sequence, start: 2024-01-01T00:00:00Z, end: 2024-12-31T23:59:59Z}}
  event-time: {{field: ts, max-out-of-orderness: 1 s}}
pipeline:
  - key-by: [user]
  - window: {{type: tumbling, size: 365 d, aggregates: {{n: count(), total: sum(amount)}}}}
sink: {{name: out, type: file, path: {out}}}
"""


def metric(cluster, job_id, name):
    values = cluster.rest_json(f"/jobs/{job_id}/metrics?get={name}")
    return int(values[0]["value"]) if values else 0


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"))
    p.add_argument("--state-gb", type=float, default=1.0)
    p.add_argument("--rate", type=int, default=600000)
    p.add_argument("--type", choices=["native", "canonical"], default="native")
    p.add_argument("--keep-temp", action="store_true", help="keep the cluster's logs")
    args = p.parse_args()
    harness.parse_args(["--bin-dir", args.bin_dir, "--repo", REPO] +
                       (["--keep-temp"] if args.keep_temp else []))
    with Cluster(taskmanagers=2, slots=4, name="rescale-bench") as cluster:
        spec = os.path.join(cluster.dir, "job.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.format(checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                                rate=args.rate, out=json.dumps(os.path.join(cluster.dir, "out"))))
        job_id = cluster.submit(spec)
        target = int(args.state_gb * (1 << 30))
        t0 = time.time()
        wait_until(lambda: metric(cluster, job_id, "state.size-bytes") >= target, 1800,
                   f"state of {args.state_gb} GB")
        state = metric(cluster, job_id, "state.size-bytes")
        keys = metric(cluster, job_id, "rocksdb.estimate-num-keys")
        print(f"state {state / 1e9:.2f} GB, ~{keys / 1e6:.1f}M keys after {time.time() - t0:.0f} s",
              flush=True)
        savepoints = os.path.join(cluster.dir, "savepoints")
        r = cluster.cli("rescale", job_id, "--parallelism", "4", "--dir", savepoints,
                        "--type", args.type, timeout_s=1800)
        print(r.stdout, r.stderr, flush=True)
        if r.returncode != 0:
            sys.exit(1)
        downtime = re.search(r"downtime ([\d.]+) ?(ms|s)", r.stdout)
        took = re.search(r"Done after ([\d.]+) s", r.stdout)
        size = du(savepoints)
        print(f"| {state / 1e9:.2f} GB ({keys / 1e6:.1f}M keys) | {args.type} | "
              f"{took.group(1) if took else '?'} s | {size / 1e9:.2f} GB | "
              f"{downtime.group(0) if downtime else '?'} |", flush=True)
        new_id = r.stdout.split(" as job ")[1].split()[0]
        cluster.cli("cancel", new_id)


if __name__ == "__main__":
    main()
