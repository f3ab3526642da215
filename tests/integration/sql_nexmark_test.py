#!/usr/bin/env python3
"""The Nexmark SQL queries (benchmarks/nexmark/sql/q*.sql, nexmark-flink's text) on Sluice SQL.

A plain YAML job first writes the generated person, auction and bid tables to CSV files (the
nexmark source only, no SQL). Then each query's script (ddl.sql + the query, with its blackhole
sink swapped for a file sink, the mechanical change docs/sql.md lists) runs with `sluice local
script.sql` at parallelism 2 on 2 TaskManagers, and its output (a changelog, applied, for the
updating queries) must equal the answer testing/nexmark_reference.py computes from the CSV
files with plain Python loops.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing import nexmark_reference as ref  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

EVENTS = 20_000
RATE = 100  # events per second of event time: 200 s of auctions, so many 10 s windows

I, F, S, T = ref.INT, ref.FLOAT, ref.STR, ref.TS
# Per query: the sink's column kinds, and whether the result is a changelog.
QUERIES = {
    "q0": ([I, I, I, T, S], False),
    "q1": ([I, I, F, T, S], False),
    "q2": ([I, I], False),
    "q3": ([S, S, S, I], False),
    "q4": ([I, I], True),
    "q5": ([I, I], False),
    "q7": ([I, I, I, T, S], False),
    "q8": ([I, S, T], False),
    "q9": ([I, S, S, I, I, T, T, I, I, S, I, I, I, T, S], True),
    "q11": ([I, I, T, T], False),
    "q13": ([I, I, I, T, S], False),
    "q14": ([I, I, F, S, T, S, I], False),
    "q15": ([S] + [I] * 12, True),
    "q16": ([S, S, S] + [I] * 12, True),
    "q17": ([I, S] + [I] * 8, True),
    "q18": ([I, I, I, S, S, T, S], True),
    "q19": ([I, I, I, S, S, T, S, I], True),
    "q20": ([I, I, I, S, S, T, S, S, S, I, I, T, T, I, I, S], False),
    "q21": ([I, I, I, S, S], False),
    "q22": ([I, I, I, S, S, S, S], False),
}


class SqlNexmarkTest(unittest.TestCase):
    tables = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.make_temp_dir("sql-nexmark")
        spec = os.path.join(cls.tmp, "dump.yaml")
        with open(spec, "w") as f:
            f.write("name: nexmark-tables\nparallelism: 1\nsources:\n")
            for t in ("person", "auction", "bid"):
                f.write(f"  {t}: {{type: nexmark, table: {t}, events: {EVENTS}, "
                        f"first-event-rate: {RATE}}}\n")
            f.write("sinks:\n")
            for t in ("person", "auction", "bid"):
                f.write(f"  {t}-out: {{input: {t}, type: file, path: tables/{t}, header: true}}\n")
        r = run_cli(["local", spec, "--taskmanagers", 1, "--slots", 3], timeout_s=300,
                    log_dir=cls.tmp)
        if r.returncode != 0:
            raise AssertionError(r.describe())
        cls.tables = ref.Tables(os.path.join(cls.tmp, "tables"))

    def ddl(self):
        """ddl.sql with this test's event count and rate, after SET parallelism 2."""
        with open(os.path.join(Config.repo, "benchmarks", "nexmark", "sql", "ddl.sql")) as f:
            ddl = f.read()
        events = f"'events.num' = '${{EVENTS}}'"
        self.assertIn(events, ddl)
        ddl = ddl.replace(events, f"'events.num' = '{EVENTS}', 'first-event.rate' = '{RATE}'")
        return "SET 'parallelism.default' = '2';\n" + ddl

    def run_statements(self, name, statements):
        """Runs the tables of ddl.sql plus `statements` with `sluice local`; asserts exit 0."""
        script = os.path.join(self.tmp, f"{name}.sql")
        with open(script, "w") as f:
            f.write(self.ddl() + statements)
        r = run_cli(["local", script, "--taskmanagers", 2, "--slots", 4], timeout_s=300,
                    log_dir=self.tmp)
        self.assertEqual(r.returncode, 0, r.describe())

    def script(self, query, out, changelog):
        with open(os.path.join(Config.repo, "benchmarks", "nexmark", "sql", f"{query}.sql")) as f:
            text = f.read()
        sink = "'connector' = 'blackhole'"
        self.assertEqual(text.count(sink), 1, query)
        fmt = "changelog-csv" if changelog else "csv"
        text = text.replace(sink, f"'connector' = 'filesystem', 'path' = '{out}', "
                                  f"'format' = '{fmt}'")
        if "${FLINK_HOME}" in text:  # q13's side input, as nexmark-flink's side_input_gen.sh
            side = os.path.join(self.tmp, "side_input.txt")
            with open(side, "w") as f:
                f.writelines(f"{i},{i}\n" for i in range(ref.SIDE_INPUT_ROWS))
            text = text.replace("${FLINK_HOME}/data/side_input.txt", side)
        return self.ddl() + text

    def run_query(self, query):
        kinds, changelog = QUERIES[query]
        out = os.path.join(self.tmp, query)
        path = os.path.join(self.tmp, f"{query}.sql")
        with open(path, "w") as f:
            f.write(self.script(query, out, changelog))
        argv = ["local", path, "--taskmanagers", 2, "--slots", 4]
        if query == "q14":  # CREATE FUNCTION count_char: the Nexmark function library
            argv += ["--plugin", os.path.join(Config.bin_dir, "..", "lib", "libnexmark_udfs.so")]
        r = run_cli(argv, timeout_s=300, log_dir=self.tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        got = ref.read_rows(out, kinds, changelog)
        expected = getattr(ref, query)(self.tables)
        if query == "q19":
            got, expected = ref.q19_ties_resolved(got, expected, self.tables)
        want = {}
        for row in expected:
            want[row] = want.get(row, 0) + 1
        missing = {r: n for r, n in want.items() if got.get(r, 0) < n}
        extra = {r: n for r, n in got.items() if want.get(r, 0) < n}
        self.assertGreater(len(expected), 0, f"{query}: the reference has no rows; a weak test")
        if missing or extra:
            self.fail(f"{query}: {len(missing)} rows missing, e.g. {list(missing)[:3]}; "
                      f"{len(extra)} unexpected, e.g. {list(extra)[:3]}")


    def test_q12_counts_every_bid_once_in_processing_time_windows(self):
        # Processing-time windows depend on when rows arrive: the windows differ per run, but
        # every bid is counted once, in 10 s windows aligned to the epoch.
        out = os.path.join(self.tmp, "q12")
        path = os.path.join(self.tmp, "q12.sql")
        with open(path, "w") as f:
            f.write(self.script("q12", out, False))
        r = run_cli(["local", path, "--taskmanagers", 2, "--slots", 4], timeout_s=300,
                    log_dir=self.tmp)
        self.assertEqual(r.returncode, 0, r.describe())
        got = ref.read_rows(out, [I, I, T, T])
        per_bidder = {}
        for (bidder, n, start, end), times in got.items():
            self.assertEqual(end - start, 10 * ref.SECOND)
            self.assertEqual(start % (10 * ref.SECOND), 0)
            per_bidder[bidder] = per_bidder.get(bidder, 0) + n * times
        want = {}
        for b in self.tables.bid:
            want[b["bidder"]] = want.get(b["bidder"], 0) + 1
        self.assertEqual(per_bidder, want)


    def test_outer_joins_retract_padded_rows_when_a_match_arrives(self):
        # Not a Nexmark query: LEFT and FULL joins of persons and their auctions, as updating
        # results whose applied changelog equals SQL's outer join.
        persons = {}
        for p in self.tables.person:
            persons.setdefault(p["id"], []).append(p)
        auctions = {}
        for a in self.tables.auction:
            auctions.setdefault(a["seller"], []).append(a)
        for kind in ("LEFT", "FULL"):
            out = os.path.join(self.tmp, f"{kind.lower()}-join")
            self.run_statements(f"{kind.lower()}-join", f"""
CREATE TABLE out1 (id BIGINT, name VARCHAR, auction BIGINT) WITH (
  'connector' = 'filesystem', 'path' = '{out}', 'format' = 'changelog-csv');
INSERT INTO out1 SELECT P.id, P.name, A.id FROM person P {kind} JOIN auction A ON P.id = A.seller;
""")
            got = ref.read_rows(out, [I, S, I], changelog=True)
            want = {}
            for pid, ps in persons.items():
                for p in ps:
                    for a in auctions.get(pid, [None]):
                        row = (p["id"], p["name"], a["id"] if a else None)
                        want[row] = want.get(row, 0) + 1
            if kind == "FULL":
                for seller, auctions_of in auctions.items():
                    if seller not in persons:
                        for a in auctions_of:
                            want[(None, "", a["id"])] = want.get((None, "", a["id"]), 0) + 1
            self.assertTrue(any(r[2] is None for r in want), "some persons have no auction")
            self.assertEqual(dict(got), want, kind)


    def test_window_join_pairs_rows_of_the_same_window(self):
        # Not a Nexmark query: Flink's window join of two TUMBLE table functions.
        out = os.path.join(self.tmp, "window-join")
        self.run_statements("window-join", f"""
CREATE TABLE out1 (id BIGINT, name VARCHAR, auction BIGINT) WITH (
  'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');
INSERT INTO out1
SELECT P.id, P.name, A.id
FROM (SELECT * FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))) P
JOIN TABLE(TUMBLE(TABLE auction, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND)) A
ON P.id = A.seller AND P.window_start = A.window_start AND P.window_end = A.window_end;
""")
        got = ref.read_rows(out, [I, S, I])
        size = 10 * ref.SECOND
        want = {}
        for p in self.tables.person:
            for a in self.tables.auction:
                if a["seller"] == p["id"] and (ref.tumble(a["dateTime"], size) ==
                                               ref.tumble(p["dateTime"], size)):
                    row = (p["id"], p["name"], a["id"])
                    want[row] = want.get(row, 0) + 1
        self.assertGreater(len(want), 0)
        self.assertEqual(dict(got), want)


    def test_windows_over_window_time(self):
        # Not a Nexmark query: 10 s counts per auction, summed into 60 s windows over their
        # window_time (a time attribute); equals counting 60 s windows directly.
        out = os.path.join(self.tmp, "window-time")
        self.run_statements("window-time", f"""
CREATE TABLE out1 (auction BIGINT, wstart TIMESTAMP(3), n BIGINT) WITH (
  'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');
CREATE VIEW tens AS SELECT auction, window_time, count(*) AS n
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
  GROUP BY auction, window_start, window_end, window_time;
INSERT INTO out1 SELECT auction, window_start, sum(n)
  FROM TABLE(TUMBLE(TABLE tens, DESCRIPTOR(window_time), INTERVAL '60' SECOND))
  GROUP BY auction, window_start, window_end;
""")
        want = {}
        for b in self.tables.bid:
            k = (b["auction"], ref.tumble(b["dateTime"], 60 * ref.SECOND))
            want[k] = want.get(k, 0) + 1
        self.assertEqual(dict(ref.read_rows(out, [I, T, I])),
                         {(a, w, n): 1 for (a, w), n in want.items()})

    def test_over_aggregations_over_rows_and_range_frames(self):
        # Not a Nexmark query: OVER aggregations per auction ordered by the bids' event time.
        outs = {k: os.path.join(self.tmp, f"over-{k}") for k in ("rows", "range", "unbounded")}
        window = "PARTITION BY auction ORDER BY `dateTime`"
        frames = {"rows": "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW",
                  "range": "RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW",
                  "unbounded": ""}
        aggs = {"rows": ("SUM(price)", "COUNT(*)"), "range": ("SUM(price)", "COUNT(*)"),
                "unbounded": ("MAX(price)", "COUNT(price)")}
        statements = ""
        for k, out in outs.items():
            statements += (f"CREATE TABLE out_{k} (auction BIGINT, price BIGINT, a BIGINT, "
                           f"n BIGINT) WITH ('connector' = 'filesystem', 'path' = '{out}', "
                           f"'format' = 'csv');\n"
                           f"INSERT INTO out_{k} SELECT auction, price, "
                           f"{aggs[k][0]} OVER ({window} {frames[k]}), "
                           f"{aggs[k][1]} OVER ({window} {frames[k]}) FROM bid;\n")
        self.run_statements("over", statements)
        by_auction = {}
        for b in self.tables.bid:
            by_auction.setdefault(b["auction"], []).append(b)
        want = {k: {} for k in outs}
        for bids in by_auction.values():
            bids.sort(key=lambda b: b["dateTime"])
            times = [b["dateTime"] for b in bids]
            self.assertEqual(len(times), len(set(times)), "ROWS frames need distinct times")
            for i, b in enumerate(bids):
                rows = bids[max(0, i - 2):i + 1]
                rng = [x for x in bids if b["dateTime"] - 10 * ref.SECOND <= x["dateTime"]
                       <= b["dateTime"]]
                upto = bids[:i + 1]
                for k, row in (("rows", (sum(x["price"] for x in rows), len(rows))),
                               ("range", (sum(x["price"] for x in rng), len(rng))),
                               ("unbounded", (max(x["price"] for x in upto), len(upto)))):
                    key = (b["auction"], b["price"]) + row
                    want[k][key] = want[k].get(key, 0) + 1
        for k, out in outs.items():
            self.assertGreater(len(want[k]), 0)
            self.assertEqual(dict(ref.read_rows(out, [I, I, I, I])), want[k], k)

    def test_window_top_n_is_emitted_once_per_window(self):
        # Not a Nexmark query: Flink's window Top-N, the 3 auctions with most bids per 10 s
        # window, into an append-only csv sink (a window Top-N emits no updates).
        out = os.path.join(self.tmp, "window-top-n")
        self.run_statements("window-top-n", f"""
CREATE TABLE out1 (wstart TIMESTAMP(3), auction BIGINT, num BIGINT, rn BIGINT) WITH (
  'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv');
INSERT INTO out1 SELECT window_start, auction, num, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end
                               ORDER BY num DESC, auction ASC) AS rn
  FROM (SELECT window_start, window_end, auction, COUNT(*) AS num
        FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
        GROUP BY window_start, window_end, auction))
WHERE rn <= 3;
""")
        counts = {}
        for b in self.tables.bid:
            k = (ref.tumble(b["dateTime"], 10 * ref.SECOND), b["auction"])
            counts[k] = counts.get(k, 0) + 1
        windows = {}
        for (w, a), n in counts.items():
            windows.setdefault(w, []).append((-n, a))
        want = {}
        for w, entries in windows.items():
            for rank, (neg, a) in enumerate(sorted(entries)[:3], start=1):
                want[(w, a, -neg, rank)] = 1
        self.assertGreater(len(want), 3)
        self.assertEqual(dict(ref.read_rows(out, [T, I, I, I])), want)


def _add(query):
    setattr(SqlNexmarkTest, f"test_{query}", lambda self: self.run_query(query))


for _q in QUERIES:
    _add(_q)


if __name__ == "__main__":
    harness.main()
