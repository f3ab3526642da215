#!/usr/bin/env python3
"""SQL over Kafka, end to end, on the dev broker (sluice-kafka-dev): JSON records produced by an
independent client (kcat) are read by a SQL job through the `kafka` connector (bounded by
'scan.bounded.mode' = 'latest-offset'), and its results are read back with kcat:
  - a filter into a `kafka` json table: exactly the matching records;
  - the highest bid per auction (ROW_NUMBER() Top-N, an updating result) into an `upsert-kafka`
    table keyed by its PRIMARY KEY: replaced rows become tombstones (null values), and the last
    message of every key is that auction's highest bid, as computed here.
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.kafka import (KafkaDev, consume, consume_keyed_values,  # noqa: E402
                           highest_bid_per_auction, produce_lines, upsert_table)

BIDS = 3000
AUCTIONS = 40

SCRIPT = """
SET 'parallelism.default' = '2';
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'kafka', 'topic' = 'bids', 'format' = 'json',
  'properties.bootstrap.servers' = '{bootstrap}', 'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset');
CREATE TABLE big_bids (auction BIGINT, price BIGINT, bidder STRING) WITH ('connector' = 'kafka',
  'topic' = 'big-bids', 'format' = 'json', 'properties.bootstrap.servers' = '{bootstrap}');
CREATE TABLE best (auction BIGINT, price BIGINT, bidder STRING,
  PRIMARY KEY (auction) NOT ENFORCED
) WITH ('connector' = 'upsert-kafka', 'topic' = 'best', 'key.format' = 'csv',
  'value.format' = 'json', 'properties.bootstrap.servers' = '{bootstrap}');
INSERT INTO big_bids SELECT auction, price, bidder FROM bids WHERE price >= 9000;
INSERT INTO best SELECT auction, price, bidder FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bids)
WHERE rn <= 1;
"""


class SqlKafkaTest(unittest.TestCase):

    def test_kafka_json_in_kafka_and_upsert_kafka_out(self):
        tool = KafkaDev(["--topic", "bids:2", "--topic", "big-bids:2", "--topic", "best:1"],
                        name="sql-kafka")
        try:
            bootstrap = tool.wait_ready()
            rng = random.Random(7)
            prices = rng.sample(range(1, 10_000), BIDS)  # distinct: no ties in the Top-N
            bids = [{"auction": rng.randrange(AUCTIONS), "price": prices[i],
                     "bidder": f"b{rng.randrange(100)}",
                     "ts": f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"}
                    for i in range(BIDS)]
            produce_lines(bootstrap, "bids", 2, (json.dumps(b).encode() for b in bids))
            tmp = harness.make_temp_dir("sql-kafka-job")
            script = os.path.join(tmp, "job.sql")
            with open(script, "w") as f:
                f.write(SCRIPT.format(bootstrap=bootstrap))
            r = run_cli(["local", script], timeout_s=300, log_dir=tmp)
            self.assertEqual(r.returncode, 0, r.describe())

            big = [json.loads(line) for line in consume(bootstrap, "big-bids").splitlines()]
            want_big = sorted((b["auction"], b["price"], b["bidder"]) for b in bids
                              if b["price"] >= 9000)
            self.assertEqual(sorted((b["auction"], b["price"], b["bidder"]) for b in big),
                             want_big)

            last, tombstones = upsert_table(consume_keyed_values(bootstrap, "best"), json.loads)
            best = highest_bid_per_auction(bids)
            self.assertEqual({int(k): (v["price"], v["bidder"]) for k, v in last.items()},
                             {a: (b["price"], b["bidder"]) for a, b in best.items()})
            self.assertGreater(tombstones, 0, "replaced rows are written as tombstones")
        finally:
            tool.stop()


if __name__ == "__main__":
    harness.main()
