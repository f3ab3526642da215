#!/usr/bin/env python3
"""A SQL job stopped with a savepoint restores from it, also at another parallelism, because its
operator uids are derived from the plan (docs/sql.md).

The SQL example (examples/sql/flight-delays.sql: hourly windows per airport and, through a
lookup join, per state) runs on a real cluster with checkpoints every 500 ms and its source
throttled, via `sluice sql run --detached`. After two checkpoints it is stopped with a savepoint
(`sluice stop --savepoint`), and the unchanged script is run again with `sluice sql run -s
<savepoint> -p 3`. Both outputs (exactly-once file sinks, committed across the two runs) then
equal the reference computed from the CSV file: every window once, none lost, none twice.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402

HOUR = 3_600_000


def hourly(ts):
    start = ts - ts % HOUR
    return [(start, start + HOUR)]


def completed_checkpoints(cluster, job_id):
    values = cluster.rest_json(f"/jobs/{job_id}/metrics?get=numberOfCompletedCheckpoints")
    return int(values[0]["value"]) if values else 0


class SqlSavepointTest(unittest.TestCase):

    def test_unchanged_script_restores_its_savepoint_at_another_parallelism(self):
        sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")
        with Cluster(taskmanagers=2, slots=3, name="sql-savepoint") as cluster:
            by_origin = os.path.join(cluster.dir, "by-origin")
            by_state = os.path.join(cluster.dir, "by-state")
            with open(os.path.join(Config.repo, "examples", "sql", "flight-delays.sql")) as f:
                text = f.read()
            for old, new in (
                    ("../data/flights-2001-01.csv.gz", sample),
                    ("../../../shared/data/airports.csv", Config.shared_data("airports.csv")),
                    ("../../out/sql-delays-by-origin", by_origin),
                    ("../../out/sql-delays-by-state", by_state),
                    ("'csv.header' = 'true'\n);\n\nCREATE TABLE airports",
                     "'csv.header' = 'true',\n  'source.rate' = '40000'\n);\n\n"
                     "CREATE TABLE airports")):
                self.assertIn(old, text)
                text = text.replace(old, new)
            settings = (f"SET 'execution.checkpointing.interval' = '500 ms';\n"
                        f"SET 'state.checkpoints.dir' = '{cluster.dir}/checkpoints';\n")
            script = os.path.join(cluster.dir, "flight-delays.sql")
            with open(script, "w") as f:
                f.write(settings + text)

            r = cluster.cli("sql", "run", script, "--detached")
            self.assertEqual(r.returncode, 0, r.describe())
            job_id = r.job_id()
            wait_until(lambda: completed_checkpoints(cluster, job_id) >= 2, 60, "two checkpoints")
            _, location = cluster.stop_with_savepoint(job_id, os.path.join(cluster.dir, "sp"))
            cluster.wait_for_job_state(job_id, {"FINISHED"}, 60)

            r = cluster.cli("sql", "run", script, "--from-savepoint", location,
                            "--parallelism", "3", timeout_s=300)
            self.assertEqual(r.returncode, 0, r.describe())
            restored = cluster.rest_json(f"/jobs/{r.job_id()}/checkpoints")["latest"]["restored"]
            self.assertIsNotNone(restored, "the second run restored the savepoint")

            reference.assert_output_matches(self, by_origin,
                                            reference.windowed_delays(sample, hourly))
            states = reference.airport_states(Config.shared_data("airports.csv"))
            reference.assert_output_matches(
                self, by_state, reference.windowed_delays(sample, hourly, key_of=states.get),
                header=["state", "window_start", "window_end", "flights", "avg_delay",
                        "max_delay"])


if __name__ == "__main__":
    harness.main()
