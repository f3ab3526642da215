#!/usr/bin/env python3
"""Windows with user functions (C++ API) equal the built-in windows.

The test plugin's "windows" job reads the January 2001 sample once and computes, per origin,
the flight count and total delay per window with the built-in `count`/`sum` aggregates, with a
user AggregateFunction and with a ProcessWindowFunction (include/sluice/windows.h), and the
largest delay per window built in and with a ReduceFunction that keeps the most delayed flight.
For tumbling (1 h), sliding (1 h every 15 min) and session (20 min gap) windows,
`sluice local --plugin` at parallelism 2 must give identical rows from all three, the reduce
the built-in maxima, and the tumbling counts must match the CSV.
"""

import collections
import csv
import datetime
import glob
import gzip
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402


def rows(directory):
    out = []
    for part in glob.glob(os.path.join(directory, "part-*.csv")):
        with open(part) as f:
            out.extend(f.read().splitlines()[1:])
    return sorted(out)


class UserWindowsTest(unittest.TestCase):

    def test_user_aggregate_windows_equal_the_builtin_ones(self):
        plugin = os.path.join(os.path.dirname(Config.bin_dir), "tests", "libsluice_test_plugin.so")
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        hourly = collections.Counter()
        with gzip.open(sample, "rt", newline="") as f:
            for row in csv.DictReader(f):
                t = datetime.datetime.fromisoformat(row["date"].replace("Z", "+00:00"))
                hourly[(row["origin"], t.replace(minute=0, second=0, microsecond=0))] += 1
        tmp = harness.make_temp_dir("user-windows")
        for kind in ("tumbling", "sliding", "session"):
            with self.subTest(kind=kind):
                out = os.path.join(tmp, kind)
                r = run_cli(["local", "--parallelism", 2, "--plugin", plugin, "--",
                             "windows", sample, out, kind], timeout_s=600, log_dir=tmp)
                self.assertEqual(r.returncode, 0, r.describe())
                builtin, user = rows(os.path.join(out, "builtin")), rows(os.path.join(out, "user"))
                self.assertGreater(len(builtin), 1000)
                self.assertEqual(user, builtin)
                self.assertEqual(rows(os.path.join(out, "process")), builtin)
                # The reduce keeps whole flights: their (origin, delay) are the built-in maxima.
                maxima = collections.Counter(
                    (line.split(",")[0], line.split(",")[3])
                    for line in rows(os.path.join(out, "builtin-max")))
                kept = collections.Counter(
                    (line.split(",")[3], line.split(",")[1])
                    for line in rows(os.path.join(out, "reduce")))
                self.assertEqual(kept, maxima)
                if kind == "tumbling":
                    counts = {(line.split(",")[0], line.split(",")[1]): int(line.split(",")[3])
                              for line in user}
                    expected = {(o, h.strftime("%Y-%m-%dT%H:%M:%SZ")): n
                                for (o, h), n in hourly.items()}
                    self.assertEqual(counts, expected)


if __name__ == "__main__":
    harness.main()
