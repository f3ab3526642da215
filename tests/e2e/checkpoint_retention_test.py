#!/usr/bin/env python3
"""Checkpoint storage and the job's life (issue: operating Sluice):
  - a FINISHED job's checkpoints are discarded, its checkpoint directory with them (Flink);
  - a CANCELED job keeps them by default (RETAIN_ON_CANCELLATION), so it can be resumed;
  - with externalized-checkpoint-retention: DELETE_ON_CANCELLATION a cancel discards them;
  - a checkpoint storage outage (the job's checkpoint directory replaced by a file, so nothing
    can be written there) fails checkpoints but not the job: it keeps running and processing
    without a restart, and checkpoints complete again once the storage is back;
  - a task's checkpoint upload thread ("ckpt-upload") runs 10 nice levels below its task thread.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.chaos import metric  # noqa: E402
from testing.harness import wait_until  # noqa: E402

SPEC = """\
name: {name}
parallelism: 1
checkpointing:
  interval: 100 ms
  dir: {checkpoints}
{retention}
source:
  name: numbers
  type: datagen
  rows-per-second: {rate}
  number-of-rows: {rows}
  schema:
    x: int64
  fields:
    x: {{kind: sequence, start: 0, end: 100000000}}
pipeline:
  - filter: "x % 2 = 0"
sink:
  name: out
  type: file
  path: {out}
"""


OUTAGE_SPEC = """\
name: outage
parallelism: 2
checkpointing:
  interval: 100 ms
  dir: {checkpoints}
state:
  backend: rocksdb
source:
  name: clicks
  type: datagen
  rows-per-second: 2000
  number-of-rows: 100000000
  schema:
    user: int64
    ts: timestamp
  fields:
    user: {{kind: random, min: 0, max: 999}}
    ts: {{kind: sequence, start: 2024-01-01T00:00:00Z, end: 2024-12-31T23:59:59Z}}
  event-time:
    field: ts
    max-out-of-orderness: 1 s
pipeline:
  - key-by: [user]
  - window:
      type: tumbling
      size: 1 d
      aggregates:
        clicks: count()
sink:
  name: daily
  type: file
  path: {out}
"""


def completed_checkpoints(job_dir):
    if not os.path.isdir(job_dir):
        return []
    return sorted(d for d in os.listdir(job_dir)
                  if d.startswith("chk-") and os.path.exists(os.path.join(job_dir, d, "_metadata")))


def name_and_nice(stat_path):
    """(name, nice) from a /proc .../stat file (fields 2 and 19)."""
    with open(stat_path) as f:
        stat = f.read()
    return stat[stat.index("(") + 1:stat.rindex(")")], int(stat[stat.rindex(")") + 2:].split()[16])


def threads_of(pid):
    """(name, nice) of every thread of a live process."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out.append(name_and_nice(f"/proc/{pid}/task/{tid}/stat"))
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return out


class CheckpointRetentionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(taskmanagers=2, slots=3, name="retention")
        cls.cluster.start()
        cls.checkpoints = os.path.join(cls.cluster.dir, "checkpoints")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def submit(self, name, rows, rate, retention=""):
        spec = os.path.join(self.cluster.dir, name + ".yaml")
        with open(spec, "w") as f:
            f.write(SPEC.format(name=name, rows=rows, rate=rate, checkpoints=self.checkpoints,
                                out=os.path.join(self.cluster.dir, name),
                                retention=f"  externalized-checkpoint-retention: {retention}"
                                if retention else ""))
        job = self.cluster.submit(spec)
        return job, os.path.join(self.checkpoints, job)

    def running_with_a_checkpoint(self, name, retention=""):
        job, job_dir = self.submit(name, rows=100_000_000, rate=1000, retention=retention)
        wait_until(lambda: completed_checkpoints(job_dir), 60,
                   f"job {name} to complete a checkpoint in {job_dir}")
        return job, job_dir

    def test_finished_job_discards_its_checkpoints(self):
        job, job_dir = self.submit("finishes", rows=3000, rate=1000)
        wait_until(lambda: completed_checkpoints(job_dir), 60,
                   f"a completed checkpoint in {job_dir} while the job runs")
        self.cluster.wait_for_job_state(job, {"FINISHED"}, 60)
        wait_until(lambda: not os.path.exists(job_dir), 30,
                   lambda: f"{job_dir} to be deleted: {os.listdir(job_dir)}")

    def test_cancelled_job_keeps_its_checkpoints_by_default(self):
        job, job_dir = self.running_with_a_checkpoint("kept")
        r = self.cluster.cli("cancel", job)
        self.assertEqual(r.returncode, 0, r.describe())
        self.cluster.wait_for_job_state(job, {"CANCELED"}, 60)
        latest = self.cluster.rest_json(f"/jobs/{job}/checkpoints")["latest"]["completed"]
        self.assertTrue(os.path.exists(os.path.join(latest["external_path"], "_metadata")), latest)
        config = self.cluster.rest_json(f"/jobs/{job}/checkpoints/config")
        self.assertEqual(config["externalization"],
                         {"enabled": True, "delete_on_cancellation": False})

    def test_delete_on_cancellation_discards_them_on_cancel(self):
        job, job_dir = self.running_with_a_checkpoint("deleted", "DELETE_ON_CANCELLATION")
        config = self.cluster.rest_json(f"/jobs/{job}/checkpoints/config")
        self.assertEqual(config["externalization"],
                         {"enabled": True, "delete_on_cancellation": True})
        r = self.cluster.cli("cancel", job)
        self.assertEqual(r.returncode, 0, r.describe())
        self.cluster.wait_for_job_state(job, {"CANCELED"}, 60)
        wait_until(lambda: not os.path.exists(job_dir), 30,
                   lambda: f"{job_dir} to be deleted: {os.listdir(job_dir)}")

    def test_upload_threads_run_below_the_task_threads(self):
        job, _ = self.running_with_a_checkpoint("niced")
        checked = False
        try:
            for tm in self.cluster.taskmanagers:
                threads = threads_of(tm.pid)
                base = name_and_nice(f"/proc/{tm.pid}/stat")[1]  # the process's (main thread)
                uploads = {nice for name, nice in threads if name == "ckpt-upload"}
                tasks = {nice for name, nice in threads if name.startswith("1/1 ")}
                if not tasks:
                    continue  # the job's subtask runs on the other TaskManager
                self.assertEqual(uploads, {min(19, base + 10)}, threads)
                self.assertEqual(tasks, {base}, threads)
                checked = True
            self.assertTrue(checked, "no TaskManager runs a task of the job")
        finally:
            self.cluster.cli("cancel", job)

    def test_storage_outage_fails_checkpoints_not_the_job(self):
        spec = os.path.join(self.cluster.dir, "outage.yaml")
        with open(spec, "w") as f:
            f.write(OUTAGE_SPEC.format(checkpoints=self.checkpoints,
                                       out=os.path.join(self.cluster.dir, "outage")))
        job = self.cluster.submit(spec)
        job_dir = os.path.join(self.checkpoints, job)
        try:
            wait_until(lambda: completed_checkpoints(job_dir), 60, "a first completed checkpoint")

            def counts():
                return self.cluster.rest_json(f"/jobs/{job}/checkpoints")["counts"]

            def source_records():
                vertices = self.cluster.job(job)["vertices"]
                return vertices[0]["metrics"]["write-records"]

            # The outage: the job's checkpoint directory becomes a file.
            os.rename(job_dir, job_dir + ".away")
            with open(job_dir, "w") as f:
                f.write("not a directory\n")
            failed_before = counts()["failed"]
            wait_until(lambda: counts()["failed"] >= failed_before + 5, 60,
                       lambda: f"checkpoints to fail during the outage: {counts()}")
            records = source_records()
            wait_until(lambda: source_records() > records, 30,
                       "the job to keep processing during the outage")
            self.assertEqual(self.cluster.job(job)["state"], "RUNNING")
            self.assertEqual(metric(self.cluster, job, "numRestarts"), 0,
                             "failed checkpoints must not restart the job")
            latest = self.cluster.rest_json(f"/jobs/{job}/checkpoints")["latest"]["failed"]
            self.assertTrue(latest and latest.get("failure_message"), latest)

            # The storage is back: checkpoints complete again.
            completed = counts()["completed"]
            os.remove(job_dir)
            os.rename(job_dir + ".away", job_dir)
            wait_until(lambda: counts()["completed"] > completed, 60,
                       lambda: f"a checkpoint to complete after the outage: {counts()}")
            self.assertEqual(metric(self.cluster, job, "numRestarts"), 0)
        finally:
            if os.path.isfile(job_dir):
                os.remove(job_dir)
            if os.path.isdir(job_dir + ".away") and not os.path.exists(job_dir):
                os.rename(job_dir + ".away", job_dir)
            self.cluster.cli("cancel", job)


if __name__ == "__main__":
    harness.main()
