#!/usr/bin/env python3
"""The interactive SQL client (`sluice sql --local`), driven through its standard input.

Statements span lines; CREATE TABLE is kept for the session; a bad statement is reported with
its line and column within the statement and the session goes on; a SELECT with GROUP BY (an
updating result) runs as a job whose changelog the client applies: the table it prints equals
the counts computed here from the generator's table; an INSERT is submitted as a job;
`quit;` ends the session.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing import nexmark_reference as ref  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

EVENTS = 2000


class SqlClientTest(unittest.TestCase):

    def test_session(self):
        tmp = harness.make_temp_dir("sql-client")
        # The bid table, written by a plain YAML job, for the expected counts.
        spec = os.path.join(tmp, "dump.yaml")
        with open(spec, "w") as f:
            f.write(f"name: dump\nsource: {{type: nexmark, table: bid, events: {EVENTS}}}\n"
                    f"sink: {{type: file, path: {tmp}/tables/bid, header: true}}\n")
        r = run_cli(["local", spec], timeout_s=120, log_dir=tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        bids = ref.Tables(os.path.join(tmp, "tables")).bid
        want = {}
        for b in bids:
            want[b["channel"]] = want.get(b["channel"], 0) + 1
        want = {c: n for c, n in want.items() if n > 1}

        session = "\n".join([
            "CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING,",
            "  url STRING, `dateTime` TIMESTAMP(3), extra STRING)",
            f"  WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '{EVENTS}');",
            "SELECT auction,",
            "  nope FROM bid;",
            "CREATE TABLE out1 (auction BIGINT) WITH ('connector' = 'filesystem',",
            f"  'path' = '{tmp}/out1', 'format' = 'csv');",
            "INSERT INTO out1 SELECT auction FROM bid WHERE price > 1000;",
            "SELECT channel, count(*) AS n FROM bid GROUP BY channel HAVING count(*) > 1;",
            "quit;",
            "SELECT 1 FROM bid;",  # after quit: never run
        ]) + "\n"
        path = os.path.join(tmp, "session.sql")
        with open(path, "w") as f:
            f.write(session)
        with open(path) as stdin:
            p = subprocess.run([Config.binary("sluice"), "sql", "--local"], stdin=stdin,
                               capture_output=True, text=True, timeout=180)
        out = p.stdout
        self.assertEqual(p.returncode, 0, p.stderr + out)
        self.assertEqual(out.count("[INFO] Execute statement succeeded."), 2, out)
        self.assertIn("[ERROR] line 2, column 3: unknown column 'nope'", out)
        self.assertRegex(out, r"\[INFO\] Submitted the INSERT as job [0-9a-f]{32}")
        got = {}
        for m in re.finditer(r"^\| (\S+) +\| (\d+) +\|$", out, re.M):
            got[m.group(1)] = int(m.group(2))
        self.assertEqual(got, want)
        self.assertIn(f"{len(want)} rows", out)
        self.assertEqual(len(re.findall(r"^\| channel +\| n +\|$", out, re.M)), 1,
                         "one result table: the SELECT after quit; did not run")


if __name__ == "__main__":
    harness.main()
