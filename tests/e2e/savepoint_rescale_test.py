#!/usr/bin/env python3
"""Savepoints, rescaling by key groups and both state backends (issue #4), on real processes.

test_stop_with_savepoint_then_restore_at_other_parallelism_and_backend:
  The flight-delays job (full file, rate-limited, heap backend, parallelism 2) is stopped with a
  savepoint midway (`sluice stop --savepoint`); the job ends FINISHED. The savepoint is then
  restored three times, each into its own copy of the output directory as it was at the stop:
  at parallelism 1 (RocksDB), 3 (heap) and 5 (RocksDB). Every run's final output equals the
  reference computed from the CSV, row for row: state was redistributed by key-group ranges and
  across backends, file positions and sink pending files by the new parallelism.

test_rescale_running_job:
  `sluice rescale JOB -p 3` on a running RocksDB job (incremental checkpoints) stops it with a
  NATIVE savepoint (its SST files copied into the savepoint directory, metadata pointing there)
  and restores it at parallelism 3 from those files; the final output equals the reference. The
  native savepoint is refused by a heap job with the way out named.

test_operator_parallelism:
  Per-operator parallelism (`parallelism:` on the source, the window step and the sink). The job
  with source 1, window 3 and sink 2 runs as three vertices of those parallelisms (REST
  /jobs/<id>) and its output equals the reference. The same job with the window at the default
  parallelism, submitted with --parallelism 3, runs at source 1, window 3, sink 2 (explicit
  parallelism wins over --parallelism); `sluice rescale -p 4` moves only the window to 4 (its
  keyed state redistributed by key groups while source and sink keep their parallelism) and the
  final output equals the reference.

test_refusals:
  A savepoint with state for a uid the new job lacks is refused unless
  --allow-non-restored-state; a different max parallelism is refused naming the operator;
  rescaling above max parallelism is refused before anything stops (the job keeps RUNNING).
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402

SPEC = """name: sp
parallelism: 2
{max_parallelism}checkpointing:
  interval: 500 ms
  dir: {checkpoints}
state:
  backend: {backend}
source:
  name: flights
  type: file
  path: {data}
  rate: {rate}
  schema: {{date: timestamp, delay: int64, distance: int64, origin: string, destination: string}}
  event-time: {{field: date, max-out-of-orderness: 1 min}}
pipeline:
  - key-by: [origin]
  - window:
      size: 1 h
      aggregates: {{flights: count(), avg_delay: avg(delay), max_delay: max(delay)}}
    {window_uid}
sink:
  name: delays
  type: file
  path: {out}
"""


def write_spec(cluster, name, data, out, backend="heap", rate=200000, window_uid="",
               max_parallelism=""):
    path = os.path.join(cluster.dir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(SPEC.format(checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                            backend=backend, data=json.dumps(data), rate=rate,
                            out=json.dumps(out), window_uid=window_uid,
                            max_parallelism=max_parallelism))
    return path


def write_operator_parallelism_spec(cluster, name, data, out, rate, window=""):
    """SPEC with `parallelism: 1` on the source, `parallelism: 2` on the sink and `window` (e.g.
    "parallelism: 3") beside the window step."""
    path = write_spec(cluster, name, data, out, rate=rate, window_uid=window)
    with open(path) as f:
        text = f.read()
    for before, after in (("  name: flights\n", "  name: flights\n  parallelism: 1\n"),
                          ("  name: delays\n", "  name: delays\n  parallelism: 2\n")):
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    with open(path, "w") as f:
        f.write(text)
    return path


def vertex_parallelisms(job):
    return [(v["name"], v["parallelism"]) for v in job["vertices"]]


WINDOW = "Window(TumblingEventTimeWindows(3600000))"


def completed_checkpoints(cluster, job_id):
    values = cluster.rest_json(f"/jobs/{job_id}/metrics?get=numberOfCompletedCheckpoints")
    return int(values[0]["value"]) if values else 0


class SavepointRescaleTest(unittest.TestCase):

    def start_and_stop(self, cluster, data, out):
        spec = write_spec(cluster, "first", data, out)
        job_id = cluster.submit(spec)
        wait_until(lambda: completed_checkpoints(cluster, job_id) >= 2, 60, "two checkpoints")
        savepoints = os.path.join(cluster.dir, "savepoints")
        stop, location = cluster.stop_with_savepoint(job_id, savepoints)
        # Progress of the long operation (not a terminal: one line per phase change).
        self.assertRegex(stop.stdout, r"  (waiting for a pending checkpoint|snapshotting: \d+/\d+ "
                                      r"subtasks acknowledged, [\d.]+ MB|copying into the "
                                      r"savepoint directory), \d+\.\d s", stop.describe())
        self.assertRegex(stop.stdout, r"Done after \d+\.\d s\.", stop.describe())
        job = cluster.wait_for_job_state(job_id, {"FINISHED"}, 60, 0.1)
        self.assertEqual(job["state"], "FINISHED")
        return job_id, location

    def test_stop_with_savepoint_then_restore_at_other_parallelism_and_backend(self):
        data = Config.shared_data("flights-3m.csv.gz")
        expected = reference.flight_delays(data)
        with Cluster(taskmanagers=3, slots=2, name="savepoint") as cluster:
            out = os.path.join(cluster.dir, "out")
            _, location = self.start_and_stop(cluster, data, out)
            for parallelism, backend in ((1, "rocksdb"), (3, "heap"), (5, "rocksdb")):
                copy = os.path.join(cluster.dir, f"out-p{parallelism}")
                shutil.copytree(out, copy)
                spec = write_spec(cluster, f"restore-{parallelism}", data, copy, backend=backend,
                                  rate=0)
                r = cluster.cli("run", spec, "--from-savepoint", location, "--parallelism",
                                str(parallelism), timeout_s=300)
                self.assertEqual(r.returncode, 0, r.describe())
                restored = cluster.rest_json(f"/jobs/{r.job_id()}/checkpoints")["latest"]["restored"]
                self.assertIsNotNone(restored)
                with self.subTest(parallelism=parallelism, backend=backend):
                    reference.assert_output_matches(self, copy, expected)

    def test_rescale_running_job(self):
        data = Config.shared_data("flights-3m.csv.gz")
        expected = reference.flight_delays(data)
        with Cluster(taskmanagers=2, slots=2, name="rescale") as cluster:
            out = os.path.join(cluster.dir, "out")
            spec = write_spec(cluster, "rescale", data, out, backend="rocksdb", rate=150000)
            job_id = cluster.submit(spec)
            wait_until(lambda: completed_checkpoints(cluster, job_id) >= 2, 60, "two checkpoints")
            savepoints = os.path.join(cluster.dir, "savepoints")
            r = cluster.cli("rescale", job_id, "--parallelism", "3", "--dir", savepoints,
                            timeout_s=120)
            self.assertEqual(r.returncode, 0, r.describe())
            self.assertIn("downtime", r.stdout)
            new_id = r.stdout.split(" as job ")[1].split()[0]
            # The rescale went through a NATIVE savepoint: RocksDB files, self-contained.
            (location,) = [os.path.join(savepoints, d) for d in os.listdir(savepoints)]
            with open(os.path.join(location, "_metadata")) as f:
                md = json.load(f)
            files = [sf for st in md["subtasks"] for op in st["operators"]
                     for sf in op.get("incremental", {}).get("shared-files", [])]
            self.assertTrue(files, "native savepoint holds SST files")
            for name, rel, size, uploaded_by in files:
                self.assertTrue(rel.startswith("shared/"), rel)
                self.assertEqual(os.path.getsize(os.path.join(location, rel)), size)
            job = cluster.wait_for_job_state(new_id, {"FINISHED"}, 300, 0.2)
            self.assertEqual(job["vertices"][1]["parallelism"], 3)
            reference.assert_output_matches(self, out, expected)
            # A native savepoint restores only into RocksDB: a heap job is refused up front.
            heap = write_spec(cluster, "heap", data, os.path.join(cluster.dir, "o5"))
            r = cluster.cli("run", heap, "--from-savepoint", location, "--detached")
            self.assertEqual(r.returncode, 1, r.describe())
            self.assertIn("has incremental RocksDB state", r.stderr)
            self.assertIn("state.backend: rocksdb", r.stderr)

    def test_operator_parallelism(self):
        data = Config.shared_data("flights-3m.csv.gz")
        expected = reference.flight_delays(data)
        with Cluster(taskmanagers=2, slots=2, name="operator-parallelism") as cluster:
            # Explicit parallelism on all three operators (job parallelism 2).
            out = os.path.join(cluster.dir, "out-explicit")
            spec = write_operator_parallelism_spec(cluster, "explicit", data, out, rate=0,
                                                   window="parallelism: 3")
            job_id = cluster.submit(spec)
            job = cluster.wait_for_job_state(job_id, {"FINISHED"}, 300, 0.2)
            self.assertEqual(job["state"], "FINISHED")
            self.assertEqual(vertex_parallelisms(job),
                             [("Source: flights", 1), (WINDOW, 3), ("Sink: delays", 2)])
            reference.assert_output_matches(self, out, expected)

            # The window at the default parallelism: --parallelism sets it, not the others.
            out = os.path.join(cluster.dir, "out-rescaled")
            spec = write_operator_parallelism_spec(cluster, "default", data, out, rate=150000)
            job_id = cluster.submit(spec, parallelism=3)
            cluster.wait_for_job_state(job_id, {"RUNNING"}, 60, 0.1)
            self.assertEqual(vertex_parallelisms(cluster.job(job_id)),
                             [("Source: flights", 1), (WINDOW, 3), ("Sink: delays", 2)])
            wait_until(lambda: completed_checkpoints(cluster, job_id) >= 2, 60, "two checkpoints")
            r = cluster.cli("rescale", job_id, "--parallelism", "4", "--dir",
                            os.path.join(cluster.dir, "savepoints"), timeout_s=120)
            self.assertEqual(r.returncode, 0, r.describe())
            new_id = r.stdout.split(" as job ")[1].split()[0]
            job = cluster.wait_for_job_state(new_id, {"FINISHED"}, 300, 0.2)
            self.assertEqual(job["state"], "FINISHED")
            self.assertEqual(vertex_parallelisms(job),
                             [("Source: flights", 1), (WINDOW, 4), ("Sink: delays", 2)])
            restored = cluster.rest_json(f"/jobs/{new_id}/checkpoints")["latest"]["restored"]
            self.assertIsNotNone(restored)
            reference.assert_output_matches(self, out, expected)

    def test_refusals(self):
        data = Config.shared_data("flights-3m.csv.gz")
        with Cluster(taskmanagers=1, slots=2, name="refusals") as cluster:
            out = os.path.join(cluster.dir, "out")
            _, location = self.start_and_stop(cluster, data, out)

            renamed = write_spec(cluster, "renamed", data, os.path.join(cluster.dir, "o2"),
                                 window_uid="uid: delays-by-hour")
            r = cluster.cli("run", renamed, "--from-savepoint", location, "--detached")
            self.assertEqual(r.returncode, 1, r.describe())
            self.assertIn("has state for operator uid 'window-2', which the job does not have",
                          r.stderr)
            self.assertIn("--allow-non-restored-state", r.stderr)
            r = cluster.cli("run", renamed, "--from-savepoint", location, "--detached",
                            "--allow-non-restored-state")
            self.assertEqual(r.returncode, 0, r.describe())
            cluster.cli("cancel", r.job_id())

            other_max = write_spec(cluster, "max", data, os.path.join(cluster.dir, "o3"),
                                   max_parallelism="max-parallelism: 256\n")
            r = cluster.cli("run", other_max, "--from-savepoint", location, "--detached")
            self.assertEqual(r.returncode, 1, r.describe())
            self.assertIn("operator 'window-2'", r.stderr)
            self.assertIn("max parallelism 128", r.stderr)
            self.assertIn("max parallelism 256", r.stderr)

            running = cluster.submit(write_spec(cluster, "running", data,
                                                os.path.join(cluster.dir, "o4"), rate=20000))
            cluster.wait_for_job_state(running, {"RUNNING"}, 60, 0.1)
            r = cluster.cli("rescale", running, "--parallelism", "200")
            self.assertEqual(r.returncode, 1, r.describe())
            self.assertIn("max parallelism 128", r.stderr)
            self.assertIn("nothing was stopped", r.stderr)
            self.assertEqual(cluster.job(running)["state"], "RUNNING")
            cluster.cli("cancel", running)


if __name__ == "__main__":
    harness.main()
