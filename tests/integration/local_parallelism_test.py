#!/usr/bin/env python3
"""`sluice local` gives the same flight-delays result at parallelism 1 and 4, and it is right.

Runs the example job (examples/flight-delays.yaml on the January 2001 sample) twice through the
embedded mini-cluster, into two temp output dirs, and checks that
  - both runs exit 0 and write one part file per sink subtask with the header line,
  - both outputs are equal as multisets of rows, and
  - both equal the result computed independently from the CSV by testing/reference.py.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference, specs  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

# parallelism -> (taskmanagers, slots per TaskManager) of the mini-cluster
RUNS = {1: (1, 1), 4: (2, 2)}


class LocalParallelismTest(unittest.TestCase):

    def test_parallelism_1_and_4_give_the_reference_result(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        expected = reference.flight_delays(sample)
        self.assertGreater(len(expected), 1000)
        tmp = harness.make_temp_dir("local-parallelism")
        outputs = {}
        for p, (tms, slots) in RUNS.items():
            run_dir = os.path.join(tmp, f"p{p}")
            os.makedirs(run_dir)
            out_dir = os.path.join(run_dir, "out")
            spec = specs.write_example_copy(Config.repo, run_dir, sink_path=out_dir)
            r = run_cli(["local", spec, "--parallelism", p, "--taskmanagers", tms,
                         "--slots", slots], timeout_s=600, log_dir=run_dir)
            self.assertEqual(r.returncode, 0, f"sluice local at parallelism {p} failed:\n"
                                              f"{r.describe()}")
            outputs[p] = reference.assert_output_matches(self, out_dir, expected,
                                                         expected_parts=p)
        diffs = reference.compare_rows(outputs[4], outputs[1])
        self.assertEqual(diffs, [], "parallelism 4 vs 1:\n" + "\n".join(diffs))


if __name__ == "__main__":
    harness.main()
