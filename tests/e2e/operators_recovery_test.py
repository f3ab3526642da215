#!/usr/bin/env python3
"""Session windows and interval joins stay exactly-once across a TaskManager kill, and across a
savepoint restored at another parallelism and into another state backend.

A JobManager and three TaskManagers (2 slots each) run a job over the January 2001 sample,
rate-limited so it runs for ~10 s, with a checkpoint every second on incremental RocksDB
checkpoints and exactly-once file sinks. It has two branches off the same source:
  - sessions: flights keyed by origin into session windows with a 10-minute gap (count, avg and
    max delay): sessions merge and are open across checkpoints;
  - connections: the flights delayed more than two hours, an interval join of each departure
    with the delayed arrivals at its airport in the 30 minutes before it (buffered join state).
One TaskManager running subtasks is killed with SIGKILL at a random moment after a completed
checkpoint (testing/chaos.py) and replaced. The job must finish with one restart, and both
committed outputs must equal the answers computed from the CSV alone: every session (per
origin, a new session when the next flight is more than 10 minutes after the last; window_end
= last flight + 10 minutes) and every pair, none lost and none duplicated.
"""

import collections
import csv
import datetime
import glob
import gzip
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import chaos, harness, reference  # noqa: E402
from testing.chaos import metric  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config  # noqa: E402

GAP = datetime.timedelta(minutes=10)

SPEC = """name: operators-recovery
parallelism: 2
checkpointing: {{interval: 1 s, dir: {checkpoints}}}
state: {{backend: rocksdb}}
sources:
  flights:
    type: file
    path: {data}
    rate: 50000
    schema: {{date: timestamp, delay: int64, distance: int64, origin: string, destination: string}}
    event-time: {{field: date, max-out-of-orderness: 1 min}}
pipeline:
  - key-by: [origin]
    input: flights
  - window:
      type: session
      gap: 10 min
      aggregates: {{flights: count(), avg_delay: avg(delay), max_delay: max(delay)}}
    name: sessions
    uid: session-windows
  - filter: delay > 120
    input: flights
    name: delayed
  - interval-join:
      left: {{input: delayed, key: [origin]}}
      right: {{input: delayed, key: destination}}
      between: {{lower: -30 min, upper: 0 s}}
      right-prefix: in_
    name: connections
    uid: connection-pairs
sinks:
  sessions: {{input: sessions, type: file, path: {out}/sessions}}
  connections: {{input: connections, type: file, path: {out}/connections}}
"""


def parse(date):
    return datetime.datetime.fromisoformat(date.replace("Z", "+00:00"))


def expected_outputs(data):
    """(session rows as reference.read_output parses them, sorted connection lines)."""
    with gzip.open(data, "rt", newline="") as f:
        rows = list(csv.DictReader(f))
    by_origin = collections.defaultdict(list)
    for r in rows:
        by_origin[r["origin"]].append((parse(r["date"]), int(r["delay"])))
    sessions = []
    for origin, flights in by_origin.items():
        flights.sort()
        group = [flights[0]]
        for ts, delay in flights[1:]:
            if ts > group[-1][0] + GAP:
                sessions.append((origin, group))
                group = []
            group.append((ts, delay))
        sessions.append((origin, group))
    session_rows = [(o, reference._format_ts(g[0][0]), reference._format_ts(g[-1][0] + GAP),
                     len(g), sum(d for _, d in g) / len(g), max(d for _, d in g))
                    for o, g in sessions]
    delayed = [r for r in rows if int(r["delay"]) > 120]
    into = collections.defaultdict(list)
    for r in delayed:
        into[r["destination"]].append(r)
    fields = ["date", "delay", "distance", "origin", "destination"]
    pairs = sorted(",".join([a[k] for k in fields] + [b[k] for k in fields])
                   for a in delayed for b in into[a["origin"]]
                   if parse(a["date"]) - datetime.timedelta(minutes=30) <= parse(b["date"])
                   <= parse(a["date"]))
    return session_rows, pairs


def write_spec(cluster, data):
    """The job's spec in the cluster's dir; returns (output dir, spec path)."""
    out = os.path.join(cluster.dir, "out")
    spec = os.path.join(cluster.dir, "job.yaml")
    with open(spec, "w") as f:
        f.write(SPEC.format(checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                            data=json.dumps(data), out=out))
    return out, spec


class OperatorsRecoveryTest(unittest.TestCase):

    def assert_outputs(self, out, sessions, pairs):
        header = ["origin"] + reference.OUTPUT_HEADER[1:]
        reference.assert_output_matches(self, os.path.join(out, "sessions"), sessions,
                                        header=header)
        actual = []
        for part in sorted(glob.glob(os.path.join(out, "connections", "part-*.csv"))):
            with open(part) as f:
                actual.extend(f.read().splitlines()[1:])
        self.assertEqual(len(actual), len(pairs), "pairs lost or duplicated")
        self.assertEqual(sorted(actual), pairs)

    def test_sessions_and_interval_join_exactly_once_across_a_kill(self):
        data = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        sessions, pairs = expected_outputs(data)
        self.assertGreater(len(sessions), 1000)
        self.assertGreater(len(pairs), 1000)
        rng = random.Random(os.environ.get("SLUICE_CHAOS_SEED"))
        with Cluster(taskmanagers=3, slots=2, name="operators-recovery") as cluster:
            out, spec = write_spec(cluster, data)
            job_id = cluster.submit(spec)
            chaos.kill_taskmanagers(cluster, job_id, 1, rng)
            cluster.wait_for_job_state(job_id, {"FINISHED"}, 300, 0.2)
            self.assertEqual(metric(cluster, job_id, "numRestarts"), 1)
            self.assert_outputs(out, sessions, pairs)

    def test_sessions_and_interval_join_restore_at_another_parallelism_and_backend(self):
        """Stop with a savepoint mid-run (open sessions and buffered join rows in RocksDB),
        restore at parallelism 3 on the heap backend: outputs exact, as if never stopped."""
        data = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        sessions, pairs = expected_outputs(data)
        with Cluster(taskmanagers=3, slots=2, name="operators-savepoint") as cluster:
            out, spec = write_spec(cluster, data)
            job_id = cluster.submit(spec)
            harness.wait_until(
                lambda: (metric(cluster, job_id, "numberOfCompletedCheckpoints") or 0) >= 2, 60,
                "two completed checkpoints")
            _, location = cluster.stop_with_savepoint(job_id, os.path.join(cluster.dir, "sp"))
            cluster.wait_for_job_state(job_id, {"FINISHED"}, 60, 0.1)
            heap = os.path.join(cluster.dir, "heap.yaml")
            with open(spec) as f, open(heap, "w") as g:
                g.write(f.read().replace("state: {backend: rocksdb}", "state: {backend: heap}")
                        .replace("rate: 50000", "rate: 0"))
            r = cluster.cli("run", heap, "--from-savepoint", location, "--parallelism", "3",
                            timeout_s=300)
            self.assertEqual(r.returncode, 0, r.describe())
            self.assert_outputs(out, sessions, pairs)


if __name__ == "__main__":
    harness.main()
