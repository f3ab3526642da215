#!/usr/bin/env python3
"""Job plugins that fail, against real daemons: every failure is a clear error, no daemon dies.

With a JobManager and one TaskManager (each with its own blob store):
  - a file that is not a shared library, a build function that throws, and a job the spec
    compiler refuses are each a submission error naming the cause (`sluice run` exits 1);
  - user code that throws per record fails the task; the restart strategy (one restart) runs,
    then the job ends FAILED and REST /jobs/<id>/exceptions shows the exception's message;
  - after all that the daemons still run, and a good plugin job finishes with the right output.
The plugin is the test plugin of runtime/plugin/tests (built with the tests).
"""

import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.chaos import metric  # noqa: E402
from testing.cluster import Cluster, run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402


def test_plugin():
    path = os.path.join(os.path.dirname(Config.bin_dir), "tests", "libsluice_test_plugin.so")
    assert os.path.exists(path), f"{path} missing: build the tests first"
    return path


class PluginErrorsTest(unittest.TestCase):
    def submit(self, cluster, library, *args, detached=True):
        argv = ["run", "--jobmanager", cluster.address, "--plugin", library]
        if detached:
            argv.append("--detached")
        return run_cli(argv + ["--"] + list(args), 120, cluster.log_dir)

    def assert_refused(self, r, *fragments):
        self.assertEqual(r.returncode, 1, r.describe())
        for fragment in fragments:
            self.assertIn(fragment, r.stderr, r.describe())

    def test_failures_are_reported_and_the_cluster_survives(self):
        plugin = test_plugin()
        with Cluster(taskmanagers=1, slots=2, name="plugin-errors") as cluster:
            not_a_library = os.path.join(cluster.dir, "job.so")
            with open(not_a_library, "w") as f:
                f.write("this is not an ELF file\n")
            self.assert_refused(self.submit(cluster, not_a_library), "cannot load job plugin")
            self.assert_refused(self.submit(cluster, plugin, "throw"),
                                "building the job threw: the test plugin was asked to throw")
            self.assert_refused(self.submit(cluster, plugin, "bad-spec"),
                                "<plugin libsluice_test_plugin.so>:", "nosuchconnector")

            # A per-record exception: one restart, then FAILED with the exception in REST.
            out = os.path.join(cluster.dir, "failing")
            r = self.submit(cluster, plugin, "fail-at", "2000", out, "1500")
            self.assertEqual(r.returncode, 0, r.describe())
            job_id = r.job_id()
            job = cluster.wait_for_job_state(job_id, {"FAILED", "FINISHED", "CANCELED"}, 120)
            self.assertEqual(job["state"], "FAILED", job)
            self.assertEqual(metric(cluster, job_id, "numRestarts"), 1)
            exceptions = cluster.rest_json(f"/jobs/{job_id}/exceptions")
            text = str(exceptions)
            self.assertIn("map function", text)
            self.assertIn("threw: id 1500 is not allowed", text)

            for daemon in [cluster.jobmanager] + cluster.taskmanagers:
                self.assertTrue(daemon.alive(), f"{daemon.name} died")

            # The cluster still runs a good plugin job to the right answer.
            good = os.path.join(cluster.dir, "good")
            r = self.submit(cluster, plugin, "ok", "1000", good, detached=False)
            self.assertEqual(r.returncode, 0, r.describe())
            rows = []
            for part in glob.glob(os.path.join(good, "part-*.csv")):
                with open(part) as f:
                    rows.extend(f.read().splitlines()[1:])
            expected = sorted(f"{b},{sum(i for i in range(1, 1001) if i % 10 == b)},"
                              f"{'even' if sum(i for i in range(1, 1001) if i % 10 == b) % 2 == 0 else 'odd'}"
                              for b in range(10))
            self.assertEqual(sorted(rows), expected)


if __name__ == "__main__":
    harness.main()
