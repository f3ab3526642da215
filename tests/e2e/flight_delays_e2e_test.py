#!/usr/bin/env python3
"""The flight-delays job on the full 3-million-row data set on a real multi-process cluster.

A JobManager and two TaskManagers (2 slots each) run as separate processes. The example job,
pointed at ../shared/data/flights-3m.csv.gz, is submitted with `sluice run --detached` at
parallelism 4; the test polls REST /jobs/<id> until FINISHED (deadline 10 min) and checks
  - every vertex has 4 subtasks, all FINISHED, and records flowed through every vertex;
  - the source emitted and the window vertex read all 3,000,000 records (REST metrics);
  - the output equals the independently computed reference, row for row (as a multiset);
  - the daemons exit 0 on SIGTERM.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference, specs  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config  # noqa: E402

PARALLELISM = 4
TOTAL_RECORDS = 3_000_000
JOB_DEADLINE_S = 600


class FlightDelaysE2ETest(unittest.TestCase):

    def test_full_data_set_at_parallelism_4(self):
        data = Config.shared_data("flights-3m.csv.gz")
        with Cluster(taskmanagers=2, slots=2, name="flight-delays-e2e") as cluster:
            out_dir = os.path.join(cluster.dir, "out")
            spec = specs.write_example_copy(Config.repo, cluster.dir, source_path=data,
                                            sink_path=out_dir)
            job_id = cluster.submit(spec, parallelism=PARALLELISM)
            # Compute the reference while the job runs.
            expected = reference.flight_delays(data)
            job = cluster.wait_for_job_state(job_id, {"FINISHED"}, JOB_DEADLINE_S, 0.5)

            self.assertEqual(job.get("jid"), job_id)
            self.assertEqual(job.get("name"), "flight-delays")
            vertices = job.get("vertices", [])
            self.assertGreaterEqual(len(vertices), 2, f"expected source and window vertices: "
                                                      f"{vertices}")
            read_totals, write_totals = [], []
            for v in vertices:
                subtasks = v.get("subtasks", [])
                self.assertEqual(v.get("parallelism"), PARALLELISM, f"vertex {v.get('name')}")
                self.assertEqual(sorted(s.get("subtask") for s in subtasks),
                                 list(range(PARALLELISM)), f"subtasks of {v.get('name')}")
                for s in subtasks:
                    self.assertEqual(s.get("status"), "FINISHED",
                                     f"{v.get('name')} subtask {s.get('subtask')}: {s}")
                reads = sum(int(s["metrics"]["read-records"]) for s in subtasks)
                writes = sum(int(s["metrics"]["write-records"]) for s in subtasks)
                self.assertGreater(reads + writes, 0, f"no records through {v.get('name')}")
                read_totals.append(reads)
                write_totals.append(writes)
            self.assertIn(TOTAL_RECORDS, write_totals,
                          f"the source should emit every row; write-records per vertex "
                          f"{write_totals}")
            self.assertIn(TOTAL_RECORDS, read_totals,
                          f"the keyed window should read every row; read-records per vertex "
                          f"{read_totals}")

            status, overview = cluster.rest("/jobs/overview")
            self.assertEqual(status, 200)
            states = {j.get("jid"): j.get("state") for j in overview.get("jobs", [])}
            self.assertEqual(states.get(job_id), "FINISHED", f"/jobs/overview: {overview}")

            rows = reference.assert_output_matches(self, out_dir, expected,
                                                   expected_parts=PARALLELISM)
            self.assertEqual(len(rows), len(expected))

            codes = cluster.stop()
            self.assertEqual(codes, {name: 0 for name in codes},
                             "daemons should exit 0 on SIGTERM")


if __name__ == "__main__":
    harness.main()
