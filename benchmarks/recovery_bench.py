#!/usr/bin/env python3
"""Fault-tolerance benchmarks (issue #3), on real processes; not run by ctest.

  python3 benchmarks/recovery_bench.py [--bin-dir build/bin] [--kills 3] [--copies 8]

1. Recovery time: JobManager + 3 TaskManagers (2 slots), the flight-delays job at parallelism 2
   on the full file, source rate-limited, checkpoints every second, default restart strategy
   (exponential-delay, 100 ms initial backoff) and default failure detection. After the job has
   run and checkpointed for a while, SIGKILL a TaskManager running subtasks and measure the
   wall time until REST shows every subtask RUNNING again as a new attempt (polled every 5 ms).
2. Checkpoint duration and synchronous pause: from /jobs/:id/checkpoints of that job — per
   completed checkpoint the end-to-end duration and the largest synchronous part of any task.
3. Throughput cost of checkpointing: the job without rate limit on `--copies` copies of the full
   file (24M rows by default), once without checkpointing and once with a checkpoint every 10 s.
Prints markdown rows for benchmarks/RESULTS.md.
"""

import argparse
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from testing import harness  # noqa: E402
from testing.cluster import Cluster, cpu_seconds  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402

SPEC = """name: {name}
parallelism: 2
{checkpointing}
source:
  name: flights
  type: file
  path: {data}
  rate: {rate}
  schema: {{date: timestamp, delay: int64, distance: int64, origin: string, destination: string}}
  event-time: {{field: date, max-out-of-orderness: 1 min}}
pipeline:
  - key-by: [origin]
  - window: {{size: 1 h, aggregates: {{flights: count(), avg_delay: avg(delay), max_delay: max(delay)}}}}
sink: {{name: delays, type: file, path: {out}}}
"""


def write_spec(cluster, name, data, rate, interval):
    checkpointing = ""
    if interval:
        checkpointing = (f"checkpointing:\n  interval: {interval}\n"
                         f"  dir: {json.dumps(os.path.join(cluster.dir, 'chk'))}")
    path = os.path.join(cluster.dir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(SPEC.format(name=name, checkpointing=checkpointing, data=json.dumps(data),
                            rate=rate, out=json.dumps(os.path.join(cluster.dir, "out"))))
    return path


def subtasks(cluster, job_id):
    job = cluster.job(job_id)
    return job, [s for v in job["vertices"] for s in v["subtasks"]]


def recovery(args, data):
    times = []
    with Cluster(taskmanagers=3, slots=2, name="bench-recovery") as cluster:
        job_id = cluster.submit(write_spec(cluster, "recovery", data, 60000, "1 s"))
        for k in range(args.kills):
            def steady():
                job, subs = subtasks(cluster, job_id)
                done = cluster.rest_json(f"/jobs/{job_id}/metrics?get=numberOfCompletedCheckpoints")
                ok = (job["state"] == "RUNNING" and all(s["status"] == "RUNNING" for s in subs)
                      and done and int(done[0]["value"]) >= 2 * (k + 1))
                return subs if ok else None
            subs = wait_until(steady, 120, "steady state")
            attempts = {(s["subtask"], s["attempt"]) for s in subs}
            busy = {s["taskmanager-id"] for s in subs}
            victim = next(tm for tm in cluster.taskmanagers if tm.alive() and tm.id in busy)
            killed = time.monotonic()
            victim.kill()

            def all_running_again():
                job, subs = subtasks(cluster, job_id)
                new = all((s["subtask"], s["attempt"]) not in attempts for s in subs)
                return new and job["state"] == "RUNNING" and all(
                    s["status"] == "RUNNING" for s in subs)
            wait_until(all_running_again, 60, "recovery", interval_s=0.005)
            times.append((time.monotonic() - killed) * 1000)
            cluster.add_taskmanager()
        stats = cluster.rest_json(f"/jobs/{job_id}/checkpoints")
        cluster.cli("cancel", job_id)
    completed = [h for h in stats["history"] if h["status"] == "COMPLETED"]
    return times, completed


def throughput(args, data, interval):
    with Cluster(taskmanagers=2, slots=2, name="bench-throughput") as cluster:
        spec = write_spec(cluster, "throughput", [data] * args.copies, 0, interval)
        daemons = [cluster.jobmanager] + cluster.taskmanagers
        cpu0 = sum(cpu_seconds(d.pid) for d in daemons)
        start = time.monotonic()
        r = cluster.cli("run", spec, timeout_s=900)
        wall = time.monotonic() - start
        cpu = sum(cpu_seconds(d.pid) for d in daemons) - cpu0 + r.cpu_s
        if r.returncode != 0:
            raise AssertionError(r.describe())
        return wall, cpu


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"))
    p.add_argument("--kills", type=int, default=3)
    p.add_argument("--copies", type=int, default=8)
    args = p.parse_args()
    harness.parse_args(["--bin-dir", args.bin_dir, "--repo", REPO])
    data = Config.shared_data("flights-3m.csv.gz")

    times, completed = recovery(args, data)
    print("| kill | recovery ms (SIGKILL -> all subtasks RUNNING) |")
    for i, t in enumerate(times, 1):
        print(f"| {i} | {t:.0f} |")
    durations = [h["end_to_end_duration"] for h in completed]
    syncs = [h.get("sync_duration", 0) for h in completed]
    sizes = [h["state_size"] for h in completed]
    print(f"\ncheckpoints: {len(completed)} completed in history; end-to-end ms median "
          f"{statistics.median(durations)} max {max(durations)}; sync pause ms (max over tasks) "
          f"median {statistics.median(syncs)} max {max(syncs)}; state size bytes median "
          f"{statistics.median(sizes)}")

    rows = args.copies * 3_000_000
    base_wall, base_cpu = throughput(args, data, None)
    cp_wall, cp_cpu = throughput(args, data, "10 s")
    print(f"\n| checkpointing | rows | wall s | records/s | CPU s |")
    print(f"| off | {rows:,} | {base_wall:.2f} | {rows / base_wall:,.0f} | {base_cpu:.2f} |")
    print(f"| every 10 s | {rows:,} | {cp_wall:.2f} | {rows / cp_wall:,.0f} | {cp_cpu:.2f} |")
    print(f"throughput loss: {100 * (1 - base_wall / cp_wall):.1f} %")


if __name__ == "__main__":
    main()
