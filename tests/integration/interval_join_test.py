#!/usr/bin/env python3
"""Interval and regular joins over real data give the independently computed pairs.

The job (written here) takes the January 2001 sample's flights delayed by more than two hours
and joins each departure (keyed by origin) with the delayed flights into that airport (keyed
by destination) that departed at most 30 minutes before it:
    interval-join: left {delayed, key origin}, right {delayed, key destination},
                   between {lower: -30 min, upper: 0 s}
through `sluice local` at parallelism 2 on 2 TaskManagers (both inputs hash-partitioned across
TaskManagers). The output must equal, as a multiset of rows, the pairs a nested loop over the
CSV finds (csv module only). The same with a `window-join` (pairs within the same hour) and a
regular `join` (no time bounds) of the flights delayed by more than five hours: every
departure with every arrival at its airport.
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

SPEC = """name: delayed-connections
parallelism: 2
sources:
  flights:
    type: file
    path: {sample}
    schema: {{date: timestamp, delay: int64, distance: int64, origin: string, destination: string}}
    event-time: {{field: date, max-out-of-orderness: 1 min}}
pipeline:
  - filter: delay > 120
    name: delayed
  - interval-join:
      left: {{input: delayed, key: [origin]}}
      right: {{input: delayed, key: destination}}
      between: {{lower: -30 min, upper: 0 s}}
      right-prefix: in_
    name: connections
sinks:
  out: {{input: connections, type: file, path: {out}}}
"""


def expected_pairs(sample, min_delay=120, window=datetime.timedelta(minutes=30), same_hour=False):
    """Pairs (a, b) of flights delayed by more than min_delay minutes, b into a's origin, b's
    date in [a's date - window, a's date] (window None: any dates; same_hour: in a's hour)."""
    with gzip.open(sample, "rt", newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["delay"]) > min_delay]

    def ts(r):
        return datetime.datetime.fromisoformat(r["date"].replace("Z", "+00:00"))

    into = collections.defaultdict(list)
    for r in rows:
        into[r["destination"]].append(r)
    fields = ["date", "delay", "distance", "origin", "destination"]
    pairs = []
    for a in rows:
        for b in into[a["origin"]]:
            if same_hour:
                if ts(a).replace(minute=0, second=0) == ts(b).replace(minute=0, second=0):
                    pairs.append(",".join([a[k] for k in fields] + [b[k] for k in fields]))
            elif window is None or ts(a) - window <= ts(b) <= ts(a):
                pairs.append(",".join([a[k] for k in fields] + [b[k] for k in fields]))
    return sorted(pairs)


REGULAR = """  - filter: delay > 300
    name: delayed
  - join:
      left: {{input: delayed, key: [origin]}}
      right: {{input: delayed, key: destination}}
      ttl: 7 d
      right-prefix: in_
"""


class JoinTest(unittest.TestCase):

    def run_join(self, name, spec_text, expected):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        tmp = harness.make_temp_dir(name)
        out = os.path.join(tmp, "out")
        spec = os.path.join(tmp, "join.yaml")
        with open(spec, "w") as f:
            f.write(spec_text.format(sample=sample, out=out))
        r = run_cli(["local", spec, "--taskmanagers", 2, "--slots", 2], timeout_s=600,
                    log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        actual = []
        for part in sorted(glob.glob(os.path.join(out, "part-*.csv"))):
            with open(part) as f:
                lines = f.read().splitlines()
            self.assertEqual(lines[0], "date,delay,distance,origin,destination,in_date,in_delay,"
                                       "in_distance,in_origin,in_destination")
            actual.extend(lines[1:])
        self.assertGreater(len(expected), 100)
        self.assertEqual(len(actual), len(expected))
        self.assertEqual(sorted(actual), expected)

    def test_delayed_connections_equal_a_nested_loop(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        self.run_join("interval-join", SPEC, expected_pairs(sample))

    def test_window_join_pairs_within_each_hour(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        spec = SPEC.replace("""  - interval-join:
      left: {{input: delayed, key: [origin]}}
      right: {{input: delayed, key: destination}}
      between: {{lower: -30 min, upper: 0 s}}""", """  - window-join:
      left: {{input: delayed, key: [origin]}}
      right: {{input: delayed, key: destination}}
      window: {{type: tumbling, size: 1 h}}""")
        self.assertIn("window-join", spec)
        self.run_join("window-join", spec, expected_pairs(sample, same_hour=True))

    def test_regular_join_pairs_all_times(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        start = SPEC.index("  - filter:")
        end = SPEC.index("    name: connections")
        spec = SPEC[:start] + REGULAR + SPEC[end:]
        self.run_join("regular-join", spec, expected_pairs(sample, 300, None))


if __name__ == "__main__":
    harness.main()
