#!/usr/bin/env python3
"""Kafka source throughput against `kcat -C` (issue #5 benchmark), on real processes.

  python3 benchmarks/kafka_source_bench.py [--bin-dir build/bin] [--partitions 8] [--runs 3]

sluice-kafka-dev (librdkafka's mock cluster, 3 brokers on 127.0.0.1) holds the full flights CSV
(3,000,000 rows, one message per line, zstd batches, written round-robin by `kcat -P`). Then,
from the same broker and topic, in one run:
  - `kcat -C -e -o beginning -f '%s\\n'` consumes every message to /dev/null (one librdkafka
    consumer, no decoding: the ceiling of what a librdkafka client gets from this broker);
  - a Sluice job (JobManager + one TaskManager) reads the topic with the Kafka source
    (`stop-at: latest`, csv decoding into typed columns, event time and per-partition
    watermarks) at parallelism 1 and 2, followed by a filter that drops every row, so the sink
    writes nothing. Its time is the job's duration as the JobManager reports it (first subtask
    start to end), which includes deployment.
Printed: rows/s for each and the ratio to kcat with the source's librdkafka setting
(queued.min.messages=1000000; kcat with librdkafka's defaults is printed too), as markdown rows
for benchmarks/RESULTS.md. Best of --runs. Not run by ctest.
"""

import argparse
import gzip
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from testing import harness  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config  # noqa: E402
from testing.kafka import KafkaDev, end_offsets, kcat, produce_lines  # noqa: E402

SPEC = """name: kafka-source-bench
parallelism: {parallelism}
source:
  type: kafka
  bootstrap-servers: {bootstrap}
  topic: flights
  stop-at: latest
  properties: {{{properties}}}
  schema:
    date: timestamp
    delay: int64
    distance: int64
    origin: string
    destination: string
  event-time: {{field: date, max-out-of-orderness: 1 min}}
pipeline:
  - filter: delay < -1000000
sink: {{type: file, path: {out}}}
"""


def time_kcat(bootstrap, rows, extra=()):
    start = time.monotonic()
    r = subprocess.run([kcat(), "-C", "-b", bootstrap, "-t", "flights", "-o", "beginning", "-e",
                        "-q", "-f", "%s\n"] + list(extra), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    elapsed = time.monotonic() - start
    lines = r.stdout.count(b"\n")
    if r.returncode != 0 or lines != rows:
        raise SystemExit(f"kcat -C read {lines} of {rows} rows (exit {r.returncode}): "
                         f"{r.stderr.decode()[-2000:]}")
    return elapsed


def time_sluice(cluster, bootstrap, parallelism, rows, properties=""):
    out = os.path.join(cluster.dir, f"out-{parallelism}-{time.monotonic_ns()}")
    spec = os.path.join(cluster.dir, "bench.yaml")
    with open(spec, "w") as f:
        f.write(SPEC.format(parallelism=parallelism, bootstrap=bootstrap, out=out,
                            properties=properties))
    r = cluster.cli("run", spec, timeout_s=600)
    if r.returncode != 0:
        raise SystemExit(f"the job failed:\n{r.describe()}")
    job_id = r.job_id()
    values = cluster.rest_json(f"/jobs/{job_id}/metrics?get=kafka.records-consumed-total")
    consumed = int(values[0]["value"]) if values else -1
    if consumed != rows:
        raise SystemExit(f"the source consumed {consumed} of {rows} rows")
    job = cluster.job(job_id)
    return job["duration"] / 1000.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"))
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--properties", default="",
                        help="librdkafka properties for the source, e.g. 'fetch.wait.max.ms: 10'")
    args, _ = parser.parse_known_args()
    harness.parse_args(["--bin-dir", args.bin_dir, "--repo", REPO])
    data = Config.shared_data("flights-3m.csv.gz")
    tool = KafkaDev(["--brokers", "3", "--topic", f"flights:{args.partitions}"],
                    name="kafka-bench")
    try:
        bootstrap = tool.wait_ready()
        with gzip.open(data, "rb") as f:
            f.readline()
            rows = produce_lines(bootstrap, "flights", args.partitions,
                                 (line.rstrip(b"\n") for line in f))
        held = sum(end_offsets(bootstrap, "flights", args.partitions))
        first = end_offsets(bootstrap, "flights", args.partitions, which=-2)
        if held != rows or any(first):
            raise SystemExit(f"the broker holds {held} rows from offsets {first}; wrote {rows}")
        kcat_default_s = min(time_kcat(bootstrap, rows) for _ in range(args.runs))
        # The source's librdkafka setting (kafka_source.h), for a like-for-like ratio.
        kcat_s = min(time_kcat(bootstrap, rows, ["-X", "queued.min.messages=1000000"])
                     for _ in range(args.runs))
        results = {}
        with Cluster(taskmanagers=1, slots=2, name="kafka-bench") as cluster:
            for p in (1, 2):
                results[p] = min(time_sluice(cluster, bootstrap, p, rows, args.properties)
                                 for _ in range(args.runs))
        print("| reader | time | rows/s | ratio to kcat |")
        print("| --- | ---: | ---: | ---: |")
        print(f"| `kcat -C`, librdkafka defaults | {kcat_default_s:.2f} s | "
              f"{rows / kcat_default_s:,.0f} | {kcat_s / kcat_default_s:.2f} |")
        print(f"| `kcat -C -X queued.min.messages=1000000` | {kcat_s:.2f} s | "
              f"{rows / kcat_s:,.0f} | 1.00 |")
        for p, secs in results.items():
            print(f"| Sluice Kafka source, parallelism {p} | {secs:.2f} s | {rows / secs:,.0f} | "
                  f"{kcat_s / secs:.2f} |")
    finally:
        tool.stop()


if __name__ == "__main__":
    main()
