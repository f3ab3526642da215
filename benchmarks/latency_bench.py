#!/usr/bin/env python3
"""End-to-end latency of Sluice jobs (issue 15), on real processes. Not run by ctest.

  python3 benchmarks/latency_bench.py [--bin-dir build/bin]
      [--scenario kafka|datagen|exactly-once|all]
      [--rates 1000,5000] [--duration 60] [--warmup 10] [--checkpoint-interval 0,1000]
      [--max-throughput] [--no-direct] [--keys 1000000] [--state-backend heap|rocksdb]

Every run is a JobManager and 2 TaskManagers (1 slot each, so the 2 subtasks of every vertex
run on different TaskManagers) and sluice-latency-probe (benchmarks/latency/probe.cc), which
stamps records with their creation time (wall clock, µs) and takes their arrival time:

  kafka:   probe -> topic lat-in (4 partitions, sluice-kafka-dev) -> Kafka source -> filter ->
           Kafka sink (at-least-once) -> topic lat-out -> probe. `--shuffle` puts a `rebalance`
           before the filter, so that records also cross between the TaskManagers. The probe's
           own figure, reading lat-in directly, is printed beside ("direct").
  datagen: DataGen (`now`, epoch ms, read once per generated batch) -> key-by -> aggregate
           (one output row per input row, --keys keys, 1 min ttl, state in --state-backend heap or
           rocksdb) -> print sink; the probe
           follows both TaskManagers' stdout files (inotify) and times each printed line. Records cross the network for the
           hash exchange. The stamp has ms resolution: figures are up to 1 ms high.
  exactly-once: DataGen -> rebalance -> filter -> file sink, which commits its part files when
           a checkpoint completes (two-phase commit); the probe watches the output directory
           and times each row by the moment its file appeared. Runs only with checkpoints.

Each configuration runs for --duration s; the first --warmup s are left out. Printed: one
markdown row per run (p50/p99/p99.9/p99.99/max in ms, the rate reached) and the per-10-s p99s,
which show whether latency stays flat, and per run the episodes of samples at or above p99.99
(seconds after the warm-up, worst latency, samples), which tell periodic stalls from scattered
ones, with the machine's CPU steal time (a VM's vCPUs taken away by the hypervisor) beside them;
kafka runs also print the part of the latency up to the sink's produce and the dev broker's
answers slower than --broker-slow-ms, datagen runs the checkpoints' synchronous and
asynchronous durations. --max-throughput first measures the kafka scenario's
throughput with the probe producing as fast as it can.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from testing import harness  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config  # noqa: E402
from testing.kafka import KafkaDev  # noqa: E402

KAFKA_SPEC = """name: latency-kafka
parallelism: 2
{checkpointing}
source:
  type: kafka
  bootstrap-servers: {bootstrap}
  topic: lat-in
  starting-offsets: latest
  properties: {{{source_properties}}}
  schema: {{seq: int64, created: int64, pad: string}}
pipeline:
{shuffle}  - filter: seq >= 0
sink:
  type: kafka
  bootstrap-servers: {bootstrap}
  topic: lat-out
  properties: {{{sink_properties}}}
"""

# Random ids below {max_key} + 1, stamped with the time each batch is generated (epoch ms).
STAMPED_DATAGEN = """source:
  type: datagen
  rows-per-second: {rate}
  schema: {{id: int64, created: int64}}
  fields:
    id: {{kind: random, min: 0, max: {max_key}}}
    created: {{kind: now}}
"""

DATAGEN_SPEC = """name: latency-datagen
parallelism: 2
{checkpointing}
state: {{backend: {backend}}}
""" + STAMPED_DATAGEN + """pipeline:
  - key-by: [id]
  - aggregate:
      aggregates: {{n: count(), created: max(created)}}
      ttl: 1 min
sink: {{type: print}}
"""


FILE_SPEC = """name: latency-exactly-once
parallelism: 2
{checkpointing}
""" + STAMPED_DATAGEN + """pipeline:
  - rebalance
  - filter: created > 0
sink: {{type: file, path: {path}}}
"""


def probe():
    return Config.binary("sluice-latency-probe")


def checkpointing(interval_ms, directory):
    if not interval_ms:
        return ""
    return f"checkpointing: {{interval: {interval_ms} ms, dir: {directory}}}"


def run_job(cluster, name, text):
    path = os.path.join(cluster.dir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(text)
    r = cluster.cli("run", path, "--detached", timeout_s=60)
    if r.returncode != 0:
        raise SystemExit(f"submitting {name} failed:\n{r.describe()}")
    job_id = r.job_id()
    cluster.wait_for_job_state(job_id, ["RUNNING"], timeout_s=60)
    harness.wait_until(lambda: all(v.get("status") == "RUNNING"
                                   for v in cluster.job(job_id)["vertices"]),
                       60, "every vertex to run")
    return job_id


def report_checkpoints(cluster, job_id, label):
    """Prints the completed checkpoints' synchronous and asynchronous parts (max over the
    subtasks; the synchronous part is what stops a task at the barrier) and their size."""
    history = cluster.rest_json(f"/jobs/{job_id}/checkpoints").get("history", [])
    done = [c for c in history if c.get("status") == "COMPLETED"]
    if not done:
        return
    def spread(key):
        values = sorted(c.get(key, 0) for c in done)
        return f"median {values[len(values) // 2]}, max {values[-1]}"
    size_mb = sorted(c.get("state_size", 0) for c in done)[len(done) // 2] / 2**20
    print(f"{label}: {len(done)} checkpoints, sync part ms {spread('sync_duration')}, async "
          f"part ms {spread('async_duration')}, state {size_mb:.1f} MB", file=sys.stderr)


def cancel(cluster, job_id):
    cluster.cli("cancel", job_id, timeout_s=60)
    cluster.wait_for_job_state(job_id, ["CANCELED", "FAILED", "FINISHED"], timeout_s=60)


class StealMonitor:
    """Samples the machine's CPU steal time (/proc/stat: time the hypervisor ran something else
    while this VM's vCPUs wanted to run) twice a second while a probe runs. On a VM, steal can
    stall every process at once for tens of ms, a latency spike no software in the guest can
    remove, so each run reports which of its spike episodes coincide with steal."""

    def __init__(self):
        self.samples = []  # (epoch s at the end of the sample, steal % of the sample)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _read():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return fields[7] if len(fields) > 7 else 0, sum(fields[:8])

    def _run(self):
        steal, total = self._read()
        while not self._stop.wait(0.5):
            s, t = self._read()
            if t > total:
                self.samples.append((time.time(), 100.0 * (s - steal) / (t - total)))
            steal, total = s, t

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_probe(argv, timeout_s):
    with StealMonitor() as steal:
        r = subprocess.run([probe()] + argv, capture_output=True, text=True, timeout=timeout_s)
    if r.returncode != 0:
        raise SystemExit(f"the probe failed ({r.returncode}): {r.stderr[-2000:]}")
    result = json.loads(r.stdout.strip().splitlines()[-1])
    result["steal"] = steal.samples
    return result


def steal_report(result):
    """One line: the CPU steal after the warm-up, and which spike episodes had steal within
    1 s of their start."""
    start = result.get("measured_from_us", 0) / 1e6
    steal = [(t - start, pct) for t, pct in result.get("steal", []) if t >= start and pct > 0]
    if not steal:
        return "no CPU steal after the warm-up"
    spikes = result.get("spikes", [])
    hit = [s for s in spikes if any(abs(t - s["t_s"]) <= 1.0 for t, _ in steal)]
    return (f"CPU steal in {len(steal)} half-seconds after the warm-up (max "
            f"{max(p for _, p in steal):.0f} %); {len(hit)} of {len(spikes)} spike episodes "
            f"within 1 s of steal")


def row(label, rate, result):
    spikes = ", ".join(f"{s['t_s']:.1f} s: {s['max_ms']:.1f} ms ({s['count']})"
                       for s in result.get("spikes", []))
    print(f"{label} at {rate:,}/s: samples >= p99.99 by episode, worst first: {spikes}",
          flush=True)
    print(f"  {steal_report(result)}", flush=True)
    if "distinct" in result:
        print(f"  sent {result['sent']:,}: {result['distinct']:,} came back, "
              f"{result['duplicates']:,} extra copies (seq {result['duplicated_ranges']}), "
              f"{result['missing']:,} never (seq {result['missing_ranges']})", flush=True)
    if "to_sink" in result:
        t = result["to_sink"]
        episodes = ", ".join(f"{s['t_s']:.1f} s: {s['max_ms']:.1f} ms ({s['count']})"
                             for s in t.get("spikes", [])[:8])
        print(f"  of which creation -> the sink's produce (ms resolution): p50 {t['p50_ms']:.2f}, "
              f"p99 {t['p99_ms']:.2f}, p99.99 {t['p9999_ms']:.2f}, max {t['max_ms']:.2f}; "
              f"episodes {episodes}", flush=True)
    flat = " ".join(f"{i['p99_ms']:.1f}" for i in result.get("intervals", []))
    return (f"| {label} | {rate:,} | {result['count']:,} | {result['p50_ms']:.2f} | "
            f"{result['p99_ms']:.2f} | {result['p999_ms']:.2f} | {result['p9999_ms']:.2f} | "
            f"{result['max_ms']:.2f} | {flat} |")


def kafka_dev(args):
    """A fresh broker for every run: the mock finds a fetch's batch by a linear scan over the
    partition's batches (rdkafka_mock.c), so a broker that has held a long run serves the next
    one more slowly."""
    tool = KafkaDev(["--brokers", "3", "--topic", "lat-in:4", "--topic", "lat-out:4",
                     "--slow-request-ms", str(args.broker_slow_ms)], name="latency-kafka")
    return tool, tool.wait_ready()


def probe_kafka(args, bootstrap, output, rate):
    result = run_probe(["kafka", "--bootstrap", bootstrap, "--input", "lat-in", "--output", output,
                        "--rate", str(rate), "--duration", str(args.duration), "--warmup",
                        str(args.warmup), "--linger-ms", str(args.probe_linger_ms)],
                       args.duration + 120)
    if output == "lat-in":  # direct: the message timestamp is the probe's own produce
        result.pop("to_sink", None)
    return result


def kafka_scenario(args, rates, intervals):
    rows = []
    for rate in [] if args.no_direct else rates:
        tool, bootstrap = kafka_dev(args)
        try:
            rows.append(row("direct (probe -> broker -> probe)", rate,
                            probe_kafka(args, bootstrap, "lat-in", rate)))
        finally:
            tool.stop()
    with Cluster(taskmanagers=2, slots=1, name="latency-kafka") as cluster:
        runs = [(None, 0)] if args.max_throughput else []
        runs += [(interval, rate) for interval in intervals for rate in rates]
        for interval, rate in runs:
            tool, bootstrap = kafka_dev(args)
            try:
                spec = KAFKA_SPEC.format(
                    bootstrap=bootstrap, shuffle=shuffle(args),
                    checkpointing=checkpointing(interval, os.path.join(cluster.dir, "chk")),
                    source_properties=args.source_properties,
                    sink_properties=args.sink_properties)
                job_id = run_job(cluster, f"kafka-{interval}-{rate}", spec)
                result = probe_kafka(args, bootstrap, "lat-out", rate)
                cancel(cluster, job_id)
                report_slow_broker(tool, result)
            finally:
                tool.stop()
            if interval is None:
                print(f"max throughput: the probe sent {result['sent_per_s']:,.0f} records/s, "
                      f"{result['received'] / args.duration:,.0f} records/s came back (of "
                      f"{result['sent']:,}, {result['received']:,}); p50 {result['p50_ms']} ms, "
                      f"p99 {result['p99_ms']} ms", flush=True)
                continue
            label = f"Kafka -> {'rebalance -> ' if args.shuffle else ''}filter -> Kafka"
            label += f", checkpoints every {interval} ms" if interval else ", no checkpoints"
            rows.append(row(label, rate, result))
    return rows


def report_slow_broker(tool, result):
    """Prints the broker's slow answers (kafka-dev --slow-request-ms) that fell into the run, as
    seconds after the probe's warm-up, to set beside the latency spikes."""
    start = result.get("measured_from_us")
    if start is None:
        return
    slow = []
    with open(tool.stderr_path, errors="replace") as f:
        for line in f:
            if "took" not in line or "to answer" not in line:
                continue
            stamp = line[:23]  # Sluice's log pattern: "YYYY-mm-dd HH:MM:SS.mmm level [tool] ..."
            try:
                t = datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
            except ValueError:
                continue
            ms = float(line.split(" took ")[1].split(" ms")[0])
            slow.append((t - start / 1e6, ms, line.split("API key ")[-1].strip()))
    slow = [s for s in slow if s[0] >= 0]
    worst = sorted(slow, key=lambda s: -s[1])[:10]
    print(f"  broker answers slower than the threshold after the warm-up: {len(slow)}; worst: " +
          ", ".join(f"{t:.1f} s: {ms:.1f} ms (API {api})" for t, ms, api in worst), flush=True)


def shuffle(args):
    return "  - rebalance\n" if args.shuffle else ""


def datagen_scenario(args, rates, intervals):
    rows = []
    with Cluster(taskmanagers=2, slots=1, name="latency-datagen") as cluster:
        logs = [tm.log_path for tm in cluster.taskmanagers]
        for interval in intervals:
            for rate in rates:
                spec = DATAGEN_SPEC.format(
                    rate=rate, max_key=args.keys - 1, backend=args.state_backend,
                    checkpointing=checkpointing(interval, os.path.join(cluster.dir, "chk")))
                job_id = run_job(cluster, f"datagen-{interval}-{rate}", spec)
                argv = ["tail", "--field", "2", "--unit", "ms", "--duration", str(args.duration),
                        "--warmup", str(args.warmup), "--expected-samples",
                        str(int(rate * (args.duration + 1)))]
                for log in logs:
                    argv += ["--file", log]
                result = run_probe(argv, args.duration + 60)
                label = f"DataGen -> key-by -> aggregate ({args.state_backend}) -> print"
                label += f", checkpoints every {interval} ms" if interval else ", no checkpoints"
                report_checkpoints(cluster, job_id, f"{label} at {rate:,}/s")
                cancel(cluster, job_id)
                rows.append(row(label, rate, result))
    return rows


def exactly_once_scenario(args, rates, intervals):
    """The exactly-once file sink (two-phase commit): rows become visible when the checkpoint
    that covers them completes, so latency is about the checkpoint interval."""
    rows = []
    with Cluster(taskmanagers=2, slots=1, name="latency-exactly-once") as cluster:
        for interval in [i for i in intervals if i > 0]:
            for rate in rates:
                out = os.path.join(cluster.dir, f"out-{interval}-{rate}")
                os.makedirs(out)
                spec = FILE_SPEC.format(
                    rate=rate, max_key=args.keys - 1, path=out,
                    checkpointing=checkpointing(interval, os.path.join(cluster.dir, "chk")))
                job_id = run_job(cluster, f"file-{interval}-{rate}", spec)
                result = run_probe(["dir", "--dir", out, "--field", "1", "--unit", "ms",
                                    "--duration", str(args.duration), "--warmup",
                                    str(args.warmup), "--expected-samples",
                                    str(int(rate * (args.duration + 1)))], args.duration + 60)
                cancel(cluster, job_id)
                rows.append(row(f"DataGen -> rebalance -> filter -> file sink (exactly-once), "
                                f"checkpoints every {interval} ms", rate, result))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"))
    parser.add_argument("--scenario", choices=["kafka", "datagen", "exactly-once", "all"],
                        default="all")
    parser.add_argument("--rates", default="1000,5000")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--checkpoint-interval", default="0,1000",
                        help="comma-separated ms; 0 = no checkpoints")
    parser.add_argument("--shuffle", action="store_true")
    parser.add_argument("--keys", type=int, default=1_000_000,
                        help="datagen: distinct keys (the aggregate's state holds up to this many)")
    parser.add_argument("--state-backend", choices=["heap", "rocksdb"], default="heap",
                        help="datagen: the aggregate's keyed state backend (rocksdb: incremental "
                             "checkpoints, the default with it)")
    parser.add_argument("--max-throughput", action="store_true")
    parser.add_argument("--no-direct", action="store_true",
                        help="kafka: skip the probe's direct run (probe -> broker -> probe)")
    parser.add_argument("--probe-linger-ms", type=int, default=1,
                        help="linger.ms of the probe's producer")
    parser.add_argument("--broker-slow-ms", type=int, default=10,
                        help="kafka: report the dev broker's answers slower than this (ms)")
    parser.add_argument("--source-properties", default="")
    parser.add_argument("--sink-properties", default="")
    parser.add_argument("--keep-temp", action="store_true", help="keep the daemons' logs")
    args, _ = parser.parse_known_args()
    harness.parse_args(["--bin-dir", args.bin_dir, "--repo", REPO] +
                       (["--keep-temp"] if args.keep_temp else []))
    rates = [int(r) for r in args.rates.split(",")]
    intervals = [int(i) for i in args.checkpoint_interval.split(",")]
    rows = []
    if args.scenario in ("kafka", "all"):
        rows += kafka_scenario(args, rates, intervals)
    if args.scenario in ("datagen", "all"):
        rows += datagen_scenario(args, rates, intervals)
    if args.scenario in ("exactly-once", "all"):
        rows += exactly_once_scenario(args, rates, intervals)
    print("| path | records/s | samples | p50 ms | p99 ms | p99.9 ms | p99.99 ms | max ms | "
          "p99 per 10 s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
