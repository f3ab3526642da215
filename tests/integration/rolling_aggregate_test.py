#!/usr/bin/env python3
"""Keyed aggregation without windows (`aggregate` after `key-by`) in a real job.

`sluice local` at parallelism 4 on 2 TaskManagers runs the January 2001 sample through
`key-by: [origin]` and `aggregate: {n: count(), total: sum(delay)}` into a file sink. Every
input row emits its origin's updated result, so, checked against the CSV (csv module only):
  - each origin has exactly as many output rows as it has flights, with n = 1, 2, ..., its
    flight count (each once: the rolling count never skips or repeats), and
  - the row with the largest n has the origin's total delay.
"""

import collections
import csv
import glob
import gzip
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

SPEC = """name: rolling
parallelism: 4
source:
  name: flights
  type: file
  path: {sample}
  schema: {{date: timestamp, delay: int64, distance: int64, origin: string, destination: string}}
pipeline:
  - key-by: [origin]
  - aggregate: {{aggregates: {{n: count(), total: sum(delay)}}}}
sink:
  name: out
  type: file
  path: {out}
"""


class RollingAggregateTest(unittest.TestCase):

    def test_every_row_updates_its_origins_count_and_total(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        counts, totals = collections.Counter(), collections.Counter()
        with gzip.open(sample, "rt", newline="") as f:
            for row in csv.DictReader(f):
                counts[row["origin"]] += 1
                totals[row["origin"]] += int(row["delay"])
        tmp = harness.make_temp_dir("rolling-aggregate")
        out = os.path.join(tmp, "out")
        spec = os.path.join(tmp, "job.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.format(sample=sample, out=out))
        r = run_cli(["local", spec, "--taskmanagers", 2, "--slots", 2], timeout_s=600,
                    log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        seen = collections.defaultdict(list)  # origin -> [(n, total)]
        for part in glob.glob(os.path.join(out, "part-*.csv")):
            with open(part, newline="") as f:
                reader = csv.reader(f)
                self.assertEqual(next(reader), ["origin", "n", "total"])
                for origin, n, total in reader:
                    seen[origin].append((int(n), int(total)))
        self.assertEqual(set(seen), set(counts))
        for origin, results in seen.items():
            self.assertEqual(sorted(n for n, _ in results), list(range(1, counts[origin] + 1)),
                             origin)
            self.assertEqual(max(results)[1], totals[origin], origin)


if __name__ == "__main__":
    harness.main()
