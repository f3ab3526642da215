#!/usr/bin/env python3
"""flat-map and deduplicate in a real job: `sluice local` at parallelism 4 on 2 TaskManagers.

The flights sample goes through `flat-map` (destination split on "A", keeping empty parts),
`key-by: [origin]` and `deduplicate`, into a file sink. Checked independently from the CSV:
  - exactly one row per origin airport of the input (deduplicate keeps the first per key, keyed
    state spread over 4 subtasks), and
  - every output row is an input flight with `part` one of the parts its destination splits
    into (which flight is first per origin depends on the interleaving of source subtasks, so
    the test accepts any of them).
"""

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

SPEC = """name: flat-map-dedup
parallelism: 4
source:
  name: flights
  type: file
  path: {sample}
  schema: {{date: timestamp, delay: int64, distance: int64, origin: string, destination: string}}
  event-time: {{field: date, max-out-of-orderness: 1 min}}
pipeline:
  - flat-map: {{split: destination, delimiter: "A", as: part, keep-empty: true}}
  - key-by: [origin]
  - deduplicate: {{ttl: 1 h}}
sink:
  name: out
  type: file
  path: {out}
"""


class FlatMapDedupTest(unittest.TestCase):

    def test_one_row_per_origin_with_a_part_of_its_destination(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        candidates = {}  # origin -> set of (date, delay, distance, destination, part)
        with gzip.open(sample, "rt", newline="") as f:
            reader = csv.DictReader(f)
            for row in reader:
                for part in row["destination"].split("A"):
                    candidates.setdefault(row["origin"], set()).add(
                        (row["delay"], row["distance"], row["destination"], part))
        run_dir = harness.make_temp_dir("flat-map-dedup")
        out_dir = os.path.join(run_dir, "out")
        spec = os.path.join(run_dir, "job.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.format(sample=sample, out=out_dir))
        r = run_cli(["local", spec, "--taskmanagers", 2, "--slots", 2], timeout_s=300,
                    log_dir=run_dir)
        self.assertEqual(r.returncode, 0, f"sluice local failed:\n{r.describe()}")
        rows = []
        for path in glob.glob(os.path.join(out_dir, "part-*.csv")):
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                self.assertEqual(reader.fieldnames, ["date", "delay", "distance", "origin",
                                                     "destination", "part"])
                rows.extend(reader)
        origins = [row["origin"] for row in rows]
        self.assertEqual(sorted(origins), sorted(candidates), "one row per origin")
        for row in rows:
            got = (row["delay"], row["distance"], row["destination"], row["part"])
            self.assertIn(got, candidates[row["origin"]], f"not an input flight's part: {row}")


if __name__ == "__main__":
    harness.main()
