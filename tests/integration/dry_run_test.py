#!/usr/bin/env python3
"""`sluice run --dry-run` and `sluice local --dry-run` print the plan without a cluster.

With a JobManager address nothing listens on, `sluice run --dry-run` on the enrichment example
prints its vertices (chained operators with uids and output fields) and the HASH edge keyed by
state, and exits 0; `sluice local --dry-run` prints the same plan; a spec with a mistake exits
1 with the spec's path, line and column, as a submission would.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402


class DryRunTest(unittest.TestCase):

    def test_prints_the_plan_without_a_cluster(self):
        spec = os.path.join(Config.repo, "examples", "flights-by-state.yaml")
        tmp = harness.make_temp_dir("dry-run")
        r = run_cli(["run", "--dry-run", spec, "-m", "127.0.0.1:9"], timeout_s=60, log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        out = r.stdout
        self.assertIn("Job flights-by-state: parallelism 2, max parallelism 128", out)
        self.assertIn("Vertex 0: Source: flights -> with-state  (parallelism 2)", out)
        self.assertRegex(out, r"delay-per-state +uid delay-per-state +keyed -> state, "
                              r"window_start, window_end, flights, avg_delay, max_delay")
        self.assertRegex(out, r"Sink: late +uid late +<- date, delay, distance, origin, "
                              r"destination, state")
        self.assertIn("0 -> 1  HASH [state]", out)
        local = run_cli(["local", "--dry-run", spec], timeout_s=60, log_dir=tmp)
        self.assertEqual(local.returncode, 0, local.describe())
        self.assertEqual(local.stdout, out)

    def test_a_bad_spec_fails_with_its_location(self):
        tmp = harness.make_temp_dir("dry-run-bad")
        with open(os.path.join(Config.repo, "examples", "flights-by-state.yaml")) as f:
            text = f.read().replace("slide: 15 min", "slide: 15 fortnights")
        spec = os.path.join(tmp, "bad.yaml")
        with open(spec, "w") as f:
            f.write(text)
        r = run_cli(["run", "--dry-run", spec], timeout_s=60, log_dir=tmp)
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertRegex(r.stderr, r"bad\.yaml:\d+:\d+: window: duration '15 fortnights' has "
                                   r"unknown unit")


if __name__ == "__main__":
    harness.main()
