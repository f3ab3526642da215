#!/usr/bin/env python3
"""The DAG example (examples/flight-delays-dag.yaml) on the January 2001 sample.

`sluice local` runs the example (a filter whose side output is a second branch, two keyed
windows, a union of both branches into a third window, three file sinks) with its outputs in a
temp dir, and each sink's output must equal the independent computation of testing/reference.py:
windows over the flights delayed by more than 15 minutes, over the others, and over all of them
(which is the linear example's result).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402


class DagExampleTest(unittest.TestCase):

    def test_each_sink_of_the_dag_example_equals_its_reference(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        tmp = harness.make_temp_dir("dag-example")
        out = os.path.join(tmp, "out")
        with open(os.path.join(Config.repo, "examples", "flight-delays-dag.yaml")) as f:
            text = f.read()
        for old, new in (("data/flights-2001-01.csv.gz", sample), ("../out/flight-delays-dag", out)):
            self.assertIn(old, text)
            text = text.replace(old, new)
        spec = os.path.join(tmp, "flight-delays-dag.yaml")
        with open(spec, "w") as f:
            f.write(text)
        r = run_cli(["local", spec, "--taskmanagers", 2, "--slots", 2], timeout_s=600,
                    log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        expected = {
            "delayed": reference.flight_delays(sample, keep=lambda delay: delay > 15),
            "on-time": reference.flight_delays(sample, keep=lambda delay: delay <= 15),
            "all": reference.flight_delays(sample),
        }
        for sink, rows in expected.items():
            self.assertGreater(len(rows), 1000, sink)
            reference.assert_output_matches(self, os.path.join(out, sink), rows, expected_parts=2)


if __name__ == "__main__":
    harness.main()
