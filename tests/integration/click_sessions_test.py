#!/usr/bin/env python3
"""The sessionisation example (examples/click-sessions.yaml).

`sluice local` (2 TaskManagers) runs the example: 200,000 generated clicks of 300 users, keyed
by user into session windows with a 30-minute gap. The example also writes the generated
clicks to a second sink; this test computes the sessions from those clicks on its own (per
user, clicks in time order, a new session whenever the next click comes more than 30 minutes
after the last one: Flink's session windows [t, t + gap) merge when they touch) and compares
them with the job's sessions, row by row.
"""

import csv
import collections
import datetime
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

BASE_MS = 1733011200000  # the example's event time: BASE_MS + n * 2000
GAP_MS = 30 * 60_000


def iso(ms):
    dt = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_parts(out_dir, header):
    rows = []
    for part in sorted(glob.glob(os.path.join(out_dir, "part-*.csv"))):
        with open(part, newline="") as f:
            reader = csv.reader(f)
            assert next(reader) == header, part
            rows.extend(reader)
    return rows


def sessions_of(clicks):
    """clicks: (user, n) pairs. Returns the session rows as the job writes them."""
    by_user = collections.defaultdict(list)
    for user, n in clicks:
        by_user[user].append(n)
    out = []
    for user, ns in by_user.items():
        ns.sort()
        first = last = ns[0]
        count = 1
        for n in ns[1:]:
            if BASE_MS + n * 2000 > BASE_MS + last * 2000 + GAP_MS:
                out.append((user, first, last, count))
                first, count = n, 0
            last = n
            count += 1
        out.append((user, first, last, count))
    return sorted(
        [str(u), iso(BASE_MS + f * 2000), iso(BASE_MS + l * 2000 + GAP_MS), str(c), str(f), str(l)]
        for u, f, l, c in out)


class ClickSessionsTest(unittest.TestCase):

    def test_sessions_equal_those_computed_from_the_generated_clicks(self):
        tmp = harness.make_temp_dir("click-sessions")
        out = os.path.join(tmp, "out")
        with open(os.path.join(Config.repo, "examples", "click-sessions.yaml")) as f:
            text = f.read()
        self.assertIn("../out/click-sessions", text)
        spec = os.path.join(tmp, "click-sessions.yaml")
        with open(spec, "w") as f:
            f.write(text.replace("../out/click-sessions", out))
        r = run_cli(["local", spec, "--taskmanagers", 2, "--slots", 2], timeout_s=600,
                    log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())

        clicks = read_parts(os.path.join(out, "clicks"), ["n", "user_id", "page"])
        self.assertEqual(len(clicks), 200_000)
        self.assertEqual(sorted(int(c[0]) for c in clicks), list(range(200_000)))
        expected = sessions_of((int(c[1]), int(c[0])) for c in clicks)
        actual = sorted(read_parts(os.path.join(out, "sessions"),
                                   ["user_id", "window_start", "window_end", "clicks",
                                    "first_click", "last_click"]))
        self.assertGreater(len(expected), 1000)
        self.assertLess(len(expected), 100_000, "most sessions have several clicks")
        self.assertEqual(len(actual), len(expected))
        for a, e in zip(actual, expected):
            self.assertEqual(a, e)


if __name__ == "__main__":
    harness.main()
