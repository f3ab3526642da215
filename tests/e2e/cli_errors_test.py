#!/usr/bin/env python3
"""Error paths of the sluice CLI, the job spec compiler, the CSV source and the scheduler.

Against a real JobManager + one TaskManager (2 slots):
  - usage errors exit 2: `sluice run` without a file, an unknown verb;
  - bad specs are refused with exit 1 and `<spec path>:<line>:<col>: <reason>` on stderr:
    unknown field in a filter, unknown pipeline step, window without key-by, type mismatch;
  - `sluice status <unknown id>` exits 1; REST /jobs/<unknown id> is 404 with {"errors": [...]};
  - a CSV row that does not parse (line 3) fails the job with a cause naming <file>:3;
  - a job needing more slots than the cluster has stays CREATED, `sluice status` says it waits
    for slots, and `sluice cancel` cancels it.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Cluster, run_cli  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402

SCHEMA = """\
name: {name}
parallelism: {parallelism}
max-parallelism: 128
source:
  name: flights
  type: file
  path: {source}
  format: csv
  header: true
  schema:
    date: timestamp
    delay: int64
    distance: int64
    origin: string
    destination: string
  event-time:
    field: date
    max-out-of-orderness: 1 min
pipeline:
{pipeline}sink:
  name: out
  type: file
  path: {sink}
  header: true
"""

WINDOW = """\
  - window:
      type: tumbling
      size: 1 h
      aggregates:
        flights: count()
        max_delay: max(delay)
"""

# name -> (pipeline text, marker on the offending line, words the reason must contain (any of))
BAD_SPECS = {
    "unknown_field_in_filter": (
        "  - filter: \"dealy > 0\"\n  - key-by: [origin]\n" + WINDOW,
        "dealy", ["dealy"]),
    "unknown_operator_step": (
        "  - frobnicate: [origin]\n  - key-by: [origin]\n" + WINDOW,
        "frobnicate", ["frobnicate"]),
    "window_without_key_by": (
        "  - filter: \"delay > 0\"\n" + WINDOW,
        "- window:", ["key-by", "keyed", "key_by"]),
    "type_mismatch": (
        "  - filter: \"origin > 5\"\n  - key-by: [origin]\n" + WINDOW,
        "origin > 5", ["string"]),
}

GOOD_ROW = "2001-01-01T00:01:00Z,33,2176,LAS,PHL\n"
BAD_ROW = "2001-01-01T00:02:00Z,not-a-number,215,ATL,SAV\n"


class CliErrorsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(taskmanagers=1, slots=2, name="cli-errors")
        cls.cluster.__enter__()
        cls.dir = cls.cluster.dir
        cls.sample = os.path.join(Config.repo, "examples", "data", "flights-2001-01.csv.gz")

    @classmethod
    def tearDownClass(cls):
        codes = cls.cluster.stop()
        assert codes == {n: 0 for n in codes}, f"daemons should exit 0 on SIGTERM: {codes}"

    def write_spec(self, file_name, pipeline, source=None, parallelism=1, name="cli-errors"):
        path = os.path.join(self.dir, file_name)
        with open(path, "w") as f:
            f.write(SCHEMA.format(name=name, parallelism=parallelism,
                                  source=source or self.sample, pipeline=pipeline,
                                  sink=os.path.join(self.dir, "out-" + file_name)))
        return path

    # ---- usage errors ----

    def test_run_without_file_is_a_usage_error(self):
        r = run_cli(["run", "--jobmanager", self.cluster.address])
        self.assertEqual(r.returncode, 2, r.describe())

    def test_unknown_verb_is_a_usage_error(self):
        r = run_cli(["bogus"])
        self.assertEqual(r.returncode, 2, r.describe())

    # ---- bad specs ----

    def test_bad_specs_are_refused_with_location_and_reason(self):
        for case, (pipeline, marker, reasons) in BAD_SPECS.items():
            with self.subTest(case=case):
                path = self.write_spec(case + ".yaml", pipeline)
                with open(path) as f:
                    lines = f.read().splitlines()
                line = next(i for i, text in enumerate(lines, start=1) if marker in text)
                r = self.cluster.cli("run", path)
                self.assertEqual(r.returncode, 1, r.describe())
                m = re.search(re.escape(path) + r":(\d+):(\d+):(.*)", r.stderr)
                self.assertIsNotNone(m, f"expected '{path}:<line>:<col>: <reason>' on stderr:\n"
                                        f"{r.describe()}")
                self.assertEqual(int(m.group(1)), line,
                                 f"{case}: expected line {line} ({lines[line - 1].strip()}):\n"
                                 f"{r.describe()}")
                self.assertGreaterEqual(int(m.group(2)), 1)
                reason = m.group(3).lower()
                self.assertTrue(any(w in reason for w in reasons),
                                f"{case}: the reason should mention one of {reasons}:\n"
                                f"{r.describe()}")
                self.assertNotIn("Job has been submitted", r.stdout, r.describe())

    # ---- unknown jobs ----

    def test_status_of_unknown_job_fails(self):
        r = self.cluster.cli("status", "0123456789abcdef0123456789abcdef")
        self.assertEqual(r.returncode, 1, r.describe())

    def test_rest_unknown_job_is_404_json(self):
        status, body = self.cluster.rest("/jobs/0123456789abcdef0123456789abcdef")
        self.assertEqual(status, 404, body)
        self.assertIsInstance(body, dict, f"expected a JSON object, got {body!r}")
        self.assertIsInstance(body.get("errors"), list, body)
        self.assertGreater(len(body["errors"]), 0, body)

    # ---- runtime failures ----

    def test_bad_csv_row_fails_the_job_with_file_and_line(self):
        csv_path = os.path.join(self.dir, "bad-row.csv")
        with open(csv_path, "w") as f:
            f.write("date,delay,distance,origin,destination\n" + GOOD_ROW + BAD_ROW + GOOD_ROW)
        spec = self.write_spec("bad-row.yaml", "  - key-by: [origin]\n" + WINDOW,
                               source=csv_path, name="bad-row")
        r = self.cluster.cli("run", spec, timeout_s=120)
        self.assertEqual(r.returncode, 1, r.describe())
        job_id = r.job_id()
        job = self.cluster.wait_for_job_state(job_id, {"FAILED"}, 60)
        cause = job.get("failure-cause", "")
        self.assertIn("bad-row.csv:3", cause, f"failure-cause should name <file>:3: {cause!r}")

    def test_job_needing_more_slots_waits_in_created_and_can_be_cancelled(self):
        spec = self.write_spec("too-wide.yaml", "  - key-by: [origin]\n" + WINDOW,
                               parallelism=4, name="too-wide")
        job_id = self.cluster.submit(spec)
        last = None

        def says_why():
            nonlocal last
            last = self.cluster.cli("status", job_id)
            text = (last.stdout + last.stderr).lower()
            return last.returncode == 0 and "created" in text and "slot" in text

        wait_until(says_why, 30, lambda: "`sluice status` to report CREATED and the missing "
                                         f"slots:\n{last.describe() if last else ''}",
                   interval_s=0.2)
        self.assertEqual(self.cluster.job(job_id).get("state"), "CREATED")
        r = self.cluster.cli("cancel", job_id)
        self.assertEqual(r.returncode, 0, r.describe())
        self.cluster.wait_for_job_state(job_id, {"CANCELED"}, 30)
        # The slots stay free: nothing of the cancelled job is left on the TaskManager.
        status, overview = self.cluster.rest("/overview")
        self.assertEqual(status, 200)
        if "slots-available" in overview and "slots-total" in overview:
            self.assertEqual(overview["slots-available"], overview["slots-total"], overview)


if __name__ == "__main__":
    harness.main()
