#!/usr/bin/env python3
"""Nexmark q0, q1 and q2 (benchmarks/nexmark/q*.yaml) on a small event count.

Each query's spec runs on a local cluster (`sluice local`, 2 TaskManagers x 2 slots) with its
event count cut to 20,000, the blackhole sink swapped for a file sink (exactly-once: rows are
committed by checkpoints and at the end) and a 100 ms checkpoint interval. Its output must equal, as a
multiset of rows, what the hand-written single-threaded loop `nexmark_handwritten --print`
computes: the same generator, the query written as a plain loop, no engine. Timestamps are
compared as instants and q1's euro price to the cent's tenth (the loop computes it as a
DECIMAL(23, 3), the engine as a double).
"""

import collections
import csv
import datetime
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

EVENTS = 20_000
# Per query: the output columns that are timestamps and the one compared to 3 decimals.
COLUMNS = {"q0": ({3}, None), "q1": ({3}, 2), "q2": (set(), None)}


def parse_time(text):
    text = text.replace("T", " ").rstrip("Z")
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S"
    t = datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)


def normalise(query, row):
    times, decimal = COLUMNS[query]
    out = []
    for i, v in enumerate(row):
        if i in times:
            out.append(parse_time(v))
        elif i == decimal:
            out.append(f"{float(v):.3f}")
        else:
            out.append(v)
    return tuple(out)


class NexmarkQueriesTest(unittest.TestCase):

    def run_query(self, query):
        tmp = harness.make_temp_dir(f"nexmark-{query}")
        out = os.path.join(tmp, "out")
        with open(os.path.join(Config.repo, "benchmarks", "nexmark", f"{query}.yaml")) as f:
            text = f.read()
        replacements = (
            ("events: 50000000", f"events: {EVENTS}"),
            ("type: blackhole", f"type: file\n  path: {out}\n  header: false"),
            ("interval: 10 s", f"interval: 100 ms\n  dir: {os.path.join(tmp, 'checkpoints')}"),
        )
        for old, new in replacements:
            self.assertIn(old, text)
            text = text.replace(old, new)
        spec = os.path.join(tmp, f"{query}.yaml")
        with open(spec, "w") as f:
            f.write(text)
        r = run_cli(["local", spec, "--taskmanagers", 2, "--slots", 2], timeout_s=300,
                    log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        got = collections.Counter()
        parts = sorted(glob.glob(os.path.join(out, "part-*.csv")))
        self.assertEqual(len(parts), 2, f"part files in {out}")
        for part in parts:
            with open(part, newline="") as f:
                for row in csv.reader(f):
                    got[normalise(query, row)] += 1
        loop = subprocess.run(
            [Config.binary("nexmark_handwritten"), "--query", query, "--events", str(EVENTS),
             "--print"], capture_output=True, text=True, timeout=120, check=True)
        want = collections.Counter(
            normalise(query, row) for row in csv.reader(loop.stdout.splitlines()))
        self.assertGreater(sum(want.values()), 0)
        missing, extra = want - got, got - want
        self.assertFalse(missing or extra,
                         f"{query}: {sum(missing.values())} rows missing, e.g. "
                         f"{list(missing)[:3]}; {sum(extra.values())} unexpected, e.g. "
                         f"{list(extra)[:3]}")
        return sum(got.values())

    def test_q0_passes_every_bid_through(self):
        self.assertEqual(self.run_query("q0"), EVENTS * 46 // 50)

    def test_q1_converts_every_price(self):
        self.assertEqual(self.run_query("q1"), EVENTS * 46 // 50)

    def test_q2_keeps_the_bids_of_every_123rd_auction(self):
        rows = self.run_query("q2")
        self.assertGreater(rows, 0)
        self.assertLess(rows, EVENTS // 10)


if __name__ == "__main__":
    harness.main()
