#!/usr/bin/env python3
"""Nexmark throughput: q0, q1, q2 on a local cluster of separate processes (run.sh drives it).

For each query: starts a JobManager and TaskManagers (separate processes on 127.0.0.1), runs
benchmarks/nexmark/<query>.yaml with its event count set to --events (default 50 M) and
exactly-once checkpoints every 10 s into the run's temp dir, attached (`sluice run`), and
measures the CPU seconds of all Sluice processes (JobManager + TaskManagers from /proc, plus
the CLI) over the run. In the same run, `nexmark_handwritten` (the same generator and query as
a plain single-threaded loop, no engine) measures the per-core limit. Prints one markdown row
per query:
  events, wall s, CPU s, events/s, events/s per core, x Flink 1.13 per core (q0 155 K,
  q1 158 K, q2 175 K events/s per core, nexmark/nexmark's published figures), the loop's
  events/s per core, and Sluice's fraction of it.
Not run by ctest.
"""

import argparse
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests"))

from testing import harness  # noqa: E402
from testing.cluster import Cluster, cpu_seconds  # noqa: E402
from testing.harness import Config  # noqa: E402

FLINK_113_PER_CORE = {"q0": 155_000, "q1": 158_000, "q2": 175_000}


def daemons_cpu(cluster):
    return sum(cpu_seconds(d.pid) for d in [cluster.jobmanager] + cluster.taskmanagers)


def write_spec(query, directory, events):
    with open(os.path.join(REPO, "benchmarks", "nexmark", f"{query}.yaml")) as f:
        text = f.read()
    text = text.replace("events: 50000000", f"events: {events}")
    text = text.replace("interval: 10 s",
                        f"interval: 10 s\n  dir: {os.path.join(directory, 'checkpoints')}")
    path = os.path.join(directory, f"{query}.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run_engine(args, query):
    with Cluster(taskmanagers=args.taskmanagers, slots=args.slots, name=f"nexmark-{query}") as c:
        spec = write_spec(query, c.dir, args.events)
        before = daemons_cpu(c)
        r = c.cli("run", spec, "--parallelism", str(args.parallelism), timeout_s=args.timeout)
        after = daemons_cpu(c)
        if r.returncode != 0:
            c.dump_logs()
            raise SystemExit(f"{query} did not finish:\n{r.describe()}")
        c.stop()
    return {"wall": r.wall_s, "cpu": after - before + r.cpu_s}


def run_loop(args, query):
    out = subprocess.run([Config.binary("nexmark_handwritten"), "--query", query, "--events",
                          str(args.events)], capture_output=True, text=True, check=True)
    m = re.search(r"events_per_second=([0-9.e+]+)", out.stdout)
    if not m:
        raise SystemExit(f"unexpected nexmark_handwritten output: {out.stdout}")
    return float(m.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("queries", nargs="*", default=["q0", "q1", "q2"])
    parser.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"))
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--taskmanagers", type=int, default=1)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per query")
    args = parser.parse_args()
    harness.parse_args(["--bin-dir", args.bin_dir, "--repo", REPO])
    for q in args.queries:
        if q not in FLINK_113_PER_CORE:
            raise SystemExit(f"unknown query {q!r} (expected q0, q1 or q2)")
    print(f"machine: {os.cpu_count()} cores; parallelism {args.parallelism}, "
          f"{args.taskmanagers} TaskManager(s) x {args.slots} slots", file=sys.stderr)
    print("| query | events | wall s | CPU s | events/s | events/s per core | x Flink 1.13 | "
          "loop events/s per core | of the loop |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for q in args.queries:
        start = time.monotonic()
        m = run_engine(args, q)
        loop = run_loop(args, q)
        per_core = args.events / m["cpu"]
        print(f"| {q} | {args.events:,} | {m['wall']:.2f} | {m['cpu']:.2f} | "
              f"{args.events / m['wall']:,.0f} | {per_core:,.0f} | "
              f"{per_core / FLINK_113_PER_CORE[q]:.1f} | {loop:,.0f} | "
              f"{100 * per_core / loop:.0f} % |", flush=True)
        print(f"({q}: {time.monotonic() - start:.1f} s incl. cluster start/stop and the loop)",
              file=sys.stderr)


if __name__ == "__main__":
    main()
