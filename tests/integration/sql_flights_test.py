#!/usr/bin/env python3
"""The SQL example (examples/sql/flight-delays.sql) on the January 2001 sample, and the
`sluice sql` commands around it.

`sluice local` runs the script: hourly delays per origin airport (a TUMBLE window table
function over a CSV file table with a watermark) and per state (a view with a lookup join
against ../shared/data/airports.csv), both INSERTs in one job. Each output equals the hourly
windows testing/reference.py computes from the CSV file with the csv module. `sluice sql
validate` reports a broken copy's errors as FILE:line:column (exit 1) without a cluster, and
`sluice sql run --dry-run` prints the plan and the generated spec without submitting.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

HOUR = 3_600_000


def hourly(ts):
    start = ts - ts % HOUR
    return [(start, start + HOUR)]


class SqlFlightsTest(unittest.TestCase):

    def script(self, tmp):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        with open(os.path.join(Config.repo, "examples", "sql", "flight-delays.sql")) as f:
            text = f.read()
        for old, new in (("../data/flights-2001-01.csv.gz", sample),
                         ("../../../shared/data/airports.csv", Config.shared_data("airports.csv")),
                         ("../../out/sql-delays-by-origin", os.path.join(tmp, "by-origin")),
                         ("../../out/sql-delays-by-state", os.path.join(tmp, "by-state"))):
            self.assertIn(old, text)
            text = text.replace(old, new)
        path = os.path.join(tmp, "flight-delays.sql")
        with open(path, "w") as f:
            f.write(text)
        return path, sample

    def test_example_equals_the_reference(self):
        tmp = harness.make_temp_dir("sql-flights")
        path, sample = self.script(tmp)
        r = run_cli(["local", path, "--taskmanagers", 2, "--slots", 2], timeout_s=600,
                    log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        reference.assert_output_matches(self, os.path.join(tmp, "by-origin"),
                                        reference.windowed_delays(sample, hourly))
        states = reference.airport_states(Config.shared_data("airports.csv"))
        reference.assert_output_matches(
            self, os.path.join(tmp, "by-state"),
            reference.windowed_delays(sample, hourly, key_of=states.get),
            header=["state", "window_start", "window_end", "flights", "avg_delay", "max_delay"])

    def test_validate_reports_every_error_with_its_position(self):
        tmp = harness.make_temp_dir("sql-validate")
        path, _ = self.script(tmp)
        r = run_cli(["sql", "validate", path])
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertIn("OK (9 statements, 2 INSERTs planned into one job)", r.stdout)
        with open(path) as f:
            lines = f.read().split("\n")
        # Break two statements: a misspelt column and an unknown function.
        for i, line in enumerate(lines):
            if line.startswith("SELECT origin, window_start"):
                lines[i] = line.replace("SELECT origin,", "SELECT orign,")
                column_line = i + 1
            if "COUNT(*), AVG(CAST(delay AS DOUBLE))" in line:
                lines[i] = line.replace("COUNT(*)", "KOUNT(*)")
                function_line = i + 1
        broken = os.path.join(tmp, "broken.sql")
        with open(broken, "w") as f:
            f.write("\n".join(lines))
        r = run_cli(["sql", "validate", broken])
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertIn(f"{broken}:{column_line}:8: unknown column 'orign'", r.stderr)
        self.assertIn(f"{broken}:{function_line}:8: unknown function 'kount'", r.stderr)
        self.assertIn("2 errors in", r.stderr)
        # run refuses it before contacting any JobManager (none listens on this port).
        r = run_cli(["sql", "run", broken, "-m", "127.0.0.1:1"])
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertIn("unknown column 'orign'", r.stderr)

    def test_dry_run_prints_the_plan_and_the_spec(self):
        tmp = harness.make_temp_dir("sql-dry-run")
        path, _ = self.script(tmp)
        r = run_cli(["sql", "run", path, "--dry-run", "-m", "127.0.0.1:1"])
        self.assertEqual(r.returncode, 0, r.describe())
        for part in ("== Logical plan ==", "LookupJoin(inner table airports", "== Job graph ==",
                     "uid delays_by_origin.window-1", "== Generated job spec ==",
                     "name: flight-delays-sql"):
            self.assertIn(part, r.stdout)
        self.assertFalse(os.path.exists(os.path.join(tmp, "by-origin")))


if __name__ == "__main__":
    harness.main()
