#!/usr/bin/env python3
"""The enrichment example (examples/flights-by-state.yaml) on the January 2001 sample.

`sluice local` (2 TaskManagers) runs the example: a lookup join of every flight with
../shared/data/airports.csv (origin -> state), then the average delay per state in 1-hour
windows sliding every 15 minutes, with late flights to a side sink. The input is the sample
followed by three flights from the first hour of January, which arrive after their windows
fired. Checked against an independent computation (testing/reference.py, csv module only):
  - by-state equals the windows over the sample's flights, each keyed by its origin's state in
    airports.csv (flights from airports not in the table dropped, as an inner join does);
  - late holds exactly the three late flights, each with its state;
  - the run ends without TaskManager warnings about losing the JobManager.
"""

import csv
import glob
import gzip
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

MIN = 60_000
HOUR = 60 * MIN
LATE = ["2001-01-01T00:05:00Z,500,1000,ATL,ORD",
        "2001-01-01T00:20:00Z,-7,300,ORD,ATL",
        "2001-01-01T00:40:00Z,42,2000,SFO,JFK"]


class FlightsByStateTest(unittest.TestCase):

    def test_example_enriches_windows_by_state_and_sends_late_flights_aside(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        airports = Config.shared_data("airports.csv")
        tmp = harness.make_temp_dir("flights-by-state")
        out = os.path.join(tmp, "out")
        flights = os.path.join(tmp, "flights.csv")
        with gzip.open(sample, "rt", encoding="utf-8") as src, open(flights, "w") as dst:
            dst.write(src.read())
            dst.write("\n".join(LATE) + "\n")
        with open(os.path.join(Config.repo, "examples", "flights-by-state.yaml")) as f:
            text = f.read()
        for old, new in (("data/flights-2001-01.csv.gz", flights),
                         ("../../shared/data/airports.csv", airports),
                         ("../out/flights-by-state", out)):
            self.assertIn(old, text)
            text = text.replace(old, new)
        spec = os.path.join(tmp, "flights-by-state.yaml")
        with open(spec, "w") as f:
            f.write(text)
        r = run_cli(["local", spec, "--taskmanagers", 2, "--slots", 2], timeout_s=600,
                    log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        # The mini-cluster shuts down in order: no TaskManager reports losing its JobManager.
        for alarm in ("Cannot register", "Connection to JobManager", "unreachable"):
            self.assertNotIn(alarm, r.stdout + r.stderr)

        states = reference.airport_states(airports)
        expected = reference.windowed_delays(sample, reference.sliding_windows(HOUR, 15 * MIN),
                                             key_of=states.get)
        self.assertGreater(len(expected), 1000)
        self.assertLess(len({row[0] for row in expected}), 60, "keyed by state, not airport")
        header = ["state"] + reference.OUTPUT_HEADER[1:]
        reference.assert_output_matches(self, os.path.join(out, "by-state"), expected,
                                        expected_parts=2, header=header)

        late = []
        for part in sorted(glob.glob(os.path.join(out, "late", "part-*.csv"))):
            with open(part, newline="") as f:
                rows = list(csv.reader(f))
            self.assertEqual(rows[0], ["date", "delay", "distance", "origin", "destination",
                                       "state"], part)
            late.extend(",".join(row) for row in rows[1:])
        self.assertEqual(sorted(late),
                         sorted(line + "," + states[line.split(",")[3]] for line in LATE))


if __name__ == "__main__":
    harness.main()
