#!/usr/bin/env python3
"""Updating streams end to end: deduplicate keep-last and top-N write changelogs.

`sluice local` at parallelism 2 runs the January 2001 sample (one source subtask, so each
origin's rows arrive in file order) through two branches:
  - key-by origin, `deduplicate: {keep: last}`: +I for an origin's first flight, then -U/+U pairs;
  - key-by origin, `top-n: {n: 3, order-by: delay}`: +I when a flight enters its origin's three
    largest delays, -D for the one it pushes out (ties keep the earlier flight);
and a filter on the top-N stream (filters pass updates). Each goes to a file sink with
`changelog: true` (a leading op column). Checked against the CSV alone (csv module): applying
each changelog (every retraction removes a row added before) gives exactly the last flight per
origin, the three largest delays per origin and the subset of them above 200 minutes; and
every -U is immediately followed by its +U.
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

SPEC = """name: changelogs
parallelism: 2
sources:
  flights:
    type: file
    path: {sample}
    parallelism: 1
    schema: {{date: timestamp, delay: int64, distance: int64, origin: string, destination: string}}
pipeline:
  - key-by: [origin]
    input: flights
  - deduplicate: {{keep: last}}
    name: last
  - key-by: [origin]
    input: flights
  - top-n: {{n: 3, order-by: delay}}
    name: top
  - filter: delay > 200
    input: top
    name: very-late
sinks:
  last: {{input: last, type: file, path: {out}/last, changelog: true}}
  top: {{input: top, type: file, path: {out}/top, changelog: true}}
  very-late: {{input: very-late, type: file, path: {out}/very-late, changelog: true}}
"""


def changelog(directory):
    """The (op, row) lines of all part files, per part file in order."""
    parts = []
    def order(path):  # part-<subtask>-<sequence>.csv, in writing order
        return tuple(int(x) for x in os.path.basename(path)[5:-4].split("-"))
    for part in sorted(glob.glob(os.path.join(directory, "part-*.csv")), key=order):
        with open(part) as f:
            lines = f.read().splitlines()
        assert lines[0] == "op,date,delay,distance,origin,destination", lines[0]
        parts.append([tuple(line.split(",", 1)) for line in lines[1:]])
    return parts


def apply(parts):
    result = collections.Counter()
    for part in parts:
        for op, row in part:
            if op in ("+I", "+U"):
                result[row] += 1
            else:
                assert result[row] > 0, f"{op} of a row never added: {row}"
                result[row] -= 1
    return +result


class ChangelogTest(unittest.TestCase):

    def test_keep_last_and_top_n_changelogs_apply_to_the_right_results(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        last, top = {}, collections.defaultdict(list)
        with gzip.open(sample, "rt", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            for row in reader:
                line = ",".join(row)
                origin, delay = row[3], int(row[1])
                last[origin] = line
                best = top[origin]
                pos = next((i for i, (d, _) in enumerate(best) if delay > d), len(best))
                if pos < 3:
                    best.insert(pos, (delay, line))
                    del best[3:]
        tmp = harness.make_temp_dir("changelog")
        out = os.path.join(tmp, "out")
        spec = os.path.join(tmp, "job.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.format(sample=sample, out=out))
        r = run_cli(["local", spec, "--taskmanagers", 2, "--slots", 2], timeout_s=600, log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())

        last_log = changelog(os.path.join(out, "last"))
        for part in last_log:
            for i, (op, _) in enumerate(part):
                if op == "-U":
                    self.assertEqual(part[i + 1][0], "+U", "a -U must be followed by its +U")
        self.assertEqual(apply(last_log), collections.Counter(last.values()))
        self.assertGreater(sum(len(p) for p in last_log), 2 * len(last))  # updates happened

        top_log = changelog(os.path.join(out, "top"))
        expected_top = collections.Counter(line for best in top.values() for _, line in best)
        self.assertEqual(apply(top_log), expected_top)
        self.assertTrue(any(op == "-D" for part in top_log for op, _ in part))
        very_late = collections.Counter(
            line for best in top.values() for d, line in best if d > 200)
        self.assertEqual(apply(changelog(os.path.join(out, "very-late"))), very_late)


if __name__ == "__main__":
    harness.main()
