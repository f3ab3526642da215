#!/usr/bin/env python3
"""Sliding and cumulative windows over real data give the independently computed result.

Runs the flight-delays example with its tumbling window replaced by
  - a 1-hour window sliding every 15 minutes (every flight counts in 4 windows), and
  - a cumulative window growing by 20 minutes up to 1 hour,
through `sluice local` at parallelism 4 on 2 TaskManagers (so keyed rows cross TaskManagers),
and compares each output, row by row, with testing/reference.py's windowed_delays() over the
same CSV, where each flight is put into its windows by plain arithmetic.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference, specs  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

MIN = 60_000
HOUR = 60 * MIN
TUMBLING = "type: tumbling\n      size: 1 h\n"


def cumulate(ts):  # [period start, + 20/40/60 min) containing ts
    start = ts - ts % HOUR
    return [(start, end) for end in range(start + 20 * MIN, start + HOUR + 1, 20 * MIN)
            if ts < end]


class WindowKindsTest(unittest.TestCase):

    def run_window(self, name, window_yaml, windows_of):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        expected = reference.windowed_delays(sample, windows_of)
        run_dir = harness.make_temp_dir(f"window-{name}")
        out_dir = os.path.join(run_dir, "out")
        path = specs.write_example_copy(Config.repo, run_dir, sink_path=out_dir)
        with open(path) as f:
            text = f.read()
        self.assertIn(TUMBLING, text)
        with open(path, "w") as f:
            f.write(text.replace(TUMBLING, window_yaml))
        r = run_cli(["local", path, "--parallelism", 4, "--taskmanagers", 2, "--slots", 2],
                    timeout_s=600, log_dir=run_dir)
        self.assertEqual(r.returncode, 0, f"sluice local failed:\n{r.describe()}")
        reference.assert_output_matches(self, out_dir, expected)

    def test_sliding_window(self):
        self.run_window("sliding", "type: sliding\n      size: 1 h\n      slide: 15 min\n",
                        reference.sliding_windows(HOUR, 15 * MIN))

    def test_cumulate_window(self):
        self.run_window("cumulate", "type: cumulate\n      size: 1 h\n      step: 20 min\n",
                        cumulate)


if __name__ == "__main__":
    harness.main()
