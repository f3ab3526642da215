#!/usr/bin/env python3
"""Throughput benchmark: the flight-delays example on the full 3-million-row data set.

Starts a JobManager and two TaskManagers (2 slots each, by default) as separate processes on
loopback, runs examples/flight-delays.yaml pointed at ../shared/data/flights-3m.csv.gz with
`sluice run` (attached) at the chosen parallelism, and measures
  - wall time of `sluice run` (submission to FINISHED),
  - records/s = 3,000,000 / wall,
  - CPU seconds of all Sluice processes: JobManager + TaskManagers (utime+stime from
    /proc/<pid>/stat, taken just before submission and just before stopping them; the
    difference is reported, so idle start-up time is not counted) plus the CLI's own rusage,
  - records/s per CPU core used = records / cpu seconds.
It prints one markdown table row per run (and checks the job FINISHED and wrote output).

Usage (after building Release into build/):
    python3 benchmarks/flight_delays_bench.py [--bin-dir build/bin] [--parallelism 4] [--runs 3]
Not run by ctest.
"""

import argparse
import glob
import os
import platform
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from testing import harness, specs  # noqa: E402
from testing.cluster import Cluster, cpu_seconds  # noqa: E402
from testing.harness import Config  # noqa: E402

TOTAL_RECORDS = 3_000_000


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def daemons_cpu(cluster):
    return sum(cpu_seconds(d.pid) for d in [cluster.jobmanager] + cluster.taskmanagers)


def run_once(args, data):
    with Cluster(taskmanagers=args.taskmanagers, slots=args.slots, name="bench") as cluster:
        out_dir = os.path.join(cluster.dir, "out")
        spec = specs.write_example_copy(Config.repo, cluster.dir, source_path=data,
                                        sink_path=out_dir)
        cpu_before = daemons_cpu(cluster)
        r = cluster.cli("run", spec, "--parallelism", str(args.parallelism),
                        timeout_s=args.timeout)
        cpu_after = daemons_cpu(cluster)
        if r.returncode != 0:
            cluster.dump_logs()
            raise SystemExit(f"job did not finish:\n{r.describe()}")
        rows = 0
        for part in glob.glob(os.path.join(out_dir, "part-*.csv")):
            with open(part) as f:
                rows += sum(1 for _ in f) - 1
        codes = cluster.stop()
        if any(c != 0 for c in codes.values()):
            print(f"warning: daemon exit codes {codes}", file=sys.stderr)
    cpu = (cpu_after - cpu_before) + r.cpu_s
    return {"wall": r.wall_s, "cpu": cpu, "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"))
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--taskmanagers", type=int, default=2)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per run")
    args = parser.parse_args()
    harness.parse_args(["--bin-dir", args.bin_dir, "--repo", REPO])
    data = Config.shared_data("flights-3m.csv.gz")

    print(f"machine: {os.cpu_count()} cores, {cpu_model()}", file=sys.stderr)
    print("| parallelism | TMs x slots | wall s | records/s | CPU s | records/s per core | "
          "output rows |")
    print("| ---: | :---: | ---: | ---: | ---: | ---: | ---: |")
    for _ in range(args.runs):
        start = time.monotonic()
        m = run_once(args, data)
        print(f"| {args.parallelism} | {args.taskmanagers} x {args.slots} | {m['wall']:.2f} | "
              f"{TOTAL_RECORDS / m['wall']:,.0f} | {m['cpu']:.2f} | "
              f"{TOTAL_RECORDS / m['cpu']:,.0f} | {m['rows']:,} |", flush=True)
        print(f"(run incl. cluster start/stop: {time.monotonic() - start:.1f} s)",
              file=sys.stderr)


if __name__ == "__main__":
    main()
