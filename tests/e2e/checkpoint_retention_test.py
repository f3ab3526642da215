#!/usr/bin/env python3
"""What happens to a job's checkpoints when it ends (issue: operating Sluice), as in Flink:
  - a FINISHED job's checkpoints are discarded, its checkpoint directory with them;
  - a CANCELED job keeps them by default (RETAIN_ON_CANCELLATION), so it can be resumed;
  - with externalized-checkpoint-retention: DELETE_ON_CANCELLATION a cancel discards them.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
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


def completed_checkpoints(job_dir):
    if not os.path.isdir(job_dir):
        return []
    return sorted(d for d in os.listdir(job_dir)
                  if d.startswith("chk-") and os.path.exists(os.path.join(job_dir, d, "_metadata")))


class CheckpointRetentionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(taskmanagers=1, slots=3, name="retention")
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


if __name__ == "__main__":
    harness.main()
