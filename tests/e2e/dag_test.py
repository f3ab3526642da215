#!/usr/bin/env python3
"""A job that is a DAG, on real processes (issue 10).

The full flights file is split in two (odd and even data lines, each with the header), and the
job reads both halves as two file sources, unites them, keys them by origin, aggregates 1-hour
tumbling windows, and writes two exactly-once file sinks: every window (`all`) and, behind a
filter, the windows with a maximum delay above 60 minutes (`delayed`).

test_two_sources_union_window_two_sinks_survive_two_taskmanager_kills:
  Checkpoints every second, the sources rate-limited so the job runs ~30 s; twice, after the job
  recovered and completed a new checkpoint, a TaskManager running subtasks is killed with
  SIGKILL and replaced. The job finishes, numRestarts is 2, and both sinks' committed output
  equals the reference computed from the CSV (the filtered one filtered by the reference too).
  REST shows the chain and the inputs of the window vertex (two HASH inputs).

test_savepoint_then_restore_at_another_parallelism:
  The same job is stopped with a savepoint midway; the savepoint is restored at parallelism 3
  (state redistributed by key groups, source positions and pending sink files by uid); the
  output of both runs together equals the reference, for both sinks.

test_a_sink_that_cannot_start_fails_the_job_cleanly:
  A sink whose directory is a file (restart strategy none): the job ends FAILED with the cause
  naming the path, the other tasks are cancelled, and no daemon logs an illegal state
  transition.
"""

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
from testing.harness import Config, wait_until  # noqa: E402

SPEC = """name: {name}
parallelism: 2
{restart}checkpointing:
  interval: {interval}
  dir: {checkpoints}
sources:
  odd:
    type: file
    path: {odd}
    rate: {rate}
    schema: &flights {{date: timestamp, delay: int64, distance: int64, origin: string, destination: string}}
    event-time: &time {{field: date, max-out-of-orderness: 1 min}}
  even:
    type: file
    path: {even}
    rate: {rate}
    schema: *flights
    event-time: *time
pipeline:
  - union: [odd, even]
  - key-by: [origin]
  - window:
      size: 1 h
      aggregates: {{flights: count(), avg_delay: avg(delay), max_delay: max(delay)}}
    name: hourly
  - filter: max_delay > 60
    name: delayed
sinks:
  all: {{input: hourly, type: file, path: {out_all}}}
  delayed: {{input: delayed, type: file, path: {out_delayed}}}
"""

_halves = {}


def split_flights():
    """The full flights file as two plain CSV halves (odd and even data lines), made once per
    process in a temp dir beside the clusters'."""
    if _halves:
        return _halves["odd"], _halves["even"]
    data = Config.shared_data("flights-3m.csv.gz")
    d = harness.make_temp_dir("dag-data")
    paths = {k: os.path.join(d, f"{k}.csv") for k in ("odd", "even")}
    with gzip.open(data, "rt", encoding="utf-8", newline="") as src, \
            open(paths["odd"], "w", encoding="utf-8", newline="") as odd, \
            open(paths["even"], "w", encoding="utf-8", newline="") as even:
        header = src.readline()
        odd.write(header)
        even.write(header)
        for i, line in enumerate(src):
            (odd if i % 2 == 0 else even).write(line)
    _halves.update(paths)
    return paths["odd"], paths["even"]


def expected_rows():
    rows = reference.flight_delays(Config.shared_data("flights-3m.csv.gz"))
    return rows, [r for r in rows if r[5] > 60]


def write_spec(cluster, name, rate, interval="1 s", out=None, restart=""):
    odd, even = split_flights()
    out = out or os.path.join(cluster.dir, "out")
    path = os.path.join(cluster.dir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(SPEC.format(name=name, interval=interval, restart=restart,
                            checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                            odd=json.dumps(odd), even=json.dumps(even), rate=rate,
                            out_all=json.dumps(os.path.join(out, "all")),
                            out_delayed=json.dumps(os.path.join(out, "delayed"))))
    return path, out


def completed_checkpoints(cluster, job_id):
    return metric(cluster, job_id, "numberOfCompletedCheckpoints") or 0


class DagTest(unittest.TestCase):

    def assert_outputs(self, out, expected_all, expected_delayed):
        reference.assert_output_matches(self, os.path.join(out, "all"), expected_all)
        reference.assert_output_matches(self, os.path.join(out, "delayed"), expected_delayed)

    def test_two_sources_union_window_two_sinks_survive_two_taskmanager_kills(self):
        expected_all, expected_delayed = expected_rows()
        rng = random.Random(os.environ.get("SLUICE_CHAOS_SEED"))
        with Cluster(taskmanagers=3, slots=2, name="dag-chaos") as cluster:
            # 4 source subtasks x 25,000 rows/s: the 3M rows take about 30 s.
            spec, out = write_spec(cluster, "dag-chaos", rate=25000)
            job_id = cluster.submit(spec)
            job = wait_until(lambda: (lambda j: j if j.get("state") == "RUNNING" else None)(
                cluster.job(job_id)), 30, "the job to run")
            names = [v["name"] for v in job["vertices"]]
            self.assertEqual(names, ["Source: odd", "Source: even",
                                     "hourly -> (delayed -> Sink: delayed, Sink: all)"], names)
            window = job["vertices"][2]
            plan = {n["id"]: n for n in job["plan"]["nodes"]}
            inputs = plan[window["id"]]["inputs"]
            self.assertEqual([i["ship_strategy"] for i in inputs], ["HASH", "HASH"], inputs)
            self.assertEqual({i["id"] for i in inputs},
                             {job["vertices"][0]["id"], job["vertices"][1]["id"]})

            kills = chaos.kill_taskmanagers(cluster, job_id, 2, rng)
            cluster.wait_for_job_state(job_id, {"FINISHED"}, 300, 0.2)
            self.assertEqual(metric(cluster, job_id, "numRestarts"), 2, kills)
            self.assert_outputs(out, expected_all, expected_delayed)

    def test_savepoint_then_restore_at_another_parallelism(self):
        expected_all, expected_delayed = expected_rows()
        with Cluster(taskmanagers=2, slots=3, name="dag-savepoint") as cluster:
            spec, out = write_spec(cluster, "dag-sp", rate=40000, interval="500 ms")
            job_id = cluster.submit(spec)
            wait_until(lambda: completed_checkpoints(cluster, job_id) >= 2, 60, "two checkpoints")
            savepoints = os.path.join(cluster.dir, "savepoints")
            _, location = cluster.stop_with_savepoint(job_id, savepoints)
            cluster.wait_for_job_state(job_id, {"FINISHED"}, 60, 0.1)
            # Restored at parallelism 3: both sources, the window and both sinks rescale.
            resumed = cluster.cli("run", spec, "--from-savepoint", location, "--parallelism", "3",
                                  timeout_s=300)
            self.assertEqual(resumed.returncode, 0, resumed.describe())
            new_job = cluster.rest_json(f"/jobs/{resumed.job_id()}")
            self.assertEqual([v["parallelism"] for v in new_job["vertices"]], [3, 3, 3])
            self.assert_outputs(out, expected_all, expected_delayed)

    def test_a_sink_that_cannot_start_fails_the_job_cleanly(self):
        with Cluster(taskmanagers=2, slots=2, name="dag-bad-sink") as cluster:
            blocker = os.path.join(cluster.dir, "not-a-dir")
            with open(blocker, "w") as f:
                f.write("a file where the sink wants its directory\n")
            spec, _ = write_spec(cluster, "dag-bad-sink", rate=0, out=blocker,
                                 restart="restart-strategy: {type: none}\n")
            job_id = cluster.submit(spec)
            job = cluster.wait_for_job_state(job_id, {"FAILED"}, 60, 0.1)
            self.assertIn("not-a-dir", job.get("failure-cause", ""), json.dumps(job)[:2000])
            states = {s["status"] for v in job["vertices"] for s in v["subtasks"]}
            self.assertLessEqual(states, {"FAILED", "CANCELED"}, states)
            for d in [cluster.jobmanager] + cluster.taskmanagers:
                with open(d.log_path, encoding="utf-8", errors="replace") as f:
                    log = f.read()
                self.assertNotIn("illegal state transition", log, d.log_path)


if __name__ == "__main__":
    harness.main()
