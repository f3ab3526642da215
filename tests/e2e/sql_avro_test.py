#!/usr/bin/env python3
"""SQL over Kafka with Avro records whose schemas live in a schema registry (`avro-confluent`),
end to end, on the dev broker (sluice-kafka-dev) and the registry stand-in
(tests/testing/schema_registry.py; a real registry cannot be installed here):
  - a producer with its own schema (python3-avro, Debian's Apache Avro for Python) writes bids in
    Confluent's wire format with two schema versions (v2 adds a field); kcat puts them on the
    topic;
  - the SQL table declares no columns: they come from the subject's latest schema;
  - a filter into a `kafka` avro-confluent table, whose schema the sink registers under
    "<topic>-value", read back with kcat and decoded with python3-avro by the id in each message;
  - the highest bid per auction into an `upsert-kafka` table with an avro-confluent value:
    tombstones for replaced rows, the last value of every key is that auction's highest bid;
  - `sluice sql validate` checks declared columns against the registry before anything runs:
    a column the schema lacks or cannot be read as is a positioned error, as is a registry that
    cannot be reached.
"""

import datetime
import io
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

try:
    import avro.io  # noqa: E402
    import avro.schema  # noqa: E402
except ImportError:  # Debian's python3-avro, when the test runs on another interpreter
    sys.path.append("/usr/lib/python3/dist-packages")
    import avro.io  # noqa: E402
    import avro.schema  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import run_cli  # noqa: E402
from testing.kafka import (KafkaDev, consume_keyed_values, highest_bid_per_auction,  # noqa: E402
                           produce_values, upsert_table)
from testing.schema_registry import SchemaRegistry  # noqa: E402

BIDS = 1200
AUCTIONS = 30

BID_V1 = {"type": "record", "name": "Bid", "namespace": "com.example.auctions", "fields": [
    {"name": "auction", "type": "long"},
    {"name": "price", "type": "int"},  # the table reads it as BIGINT (Avro promotion)
    {"name": "bidder", "type": "string"},
    {"name": "channel", "type": {"type": "enum", "name": "Channel",
                                 "symbols": ["web", "app", "api"]}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}
BID_V2 = dict(BID_V1, fields=BID_V1["fields"] + [
    {"name": "note", "type": ["null", "string"], "default": None}])

SCRIPT = """
SET 'parallelism.default' = '2';
CREATE TABLE bids WITH ('connector' = 'kafka', 'topic' = 'bids', 'format' = 'avro-confluent',
  'avro-confluent.url' = '{registry}', 'properties.bootstrap.servers' = '{bootstrap}',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
CREATE TABLE big_bids (auction BIGINT, price BIGINT, bidder STRING, channel STRING, note STRING)
WITH ('connector' = 'kafka', 'topic' = 'big-bids', 'format' = 'avro-confluent',
  'avro-confluent.url' = '{registry}', 'properties.bootstrap.servers' = '{bootstrap}');
CREATE TABLE best (auction BIGINT, price BIGINT, bidder STRING, PRIMARY KEY (auction) NOT ENFORCED)
WITH ('connector' = 'upsert-kafka', 'topic' = 'best', 'key.format' = 'csv',
  'value.format' = 'avro-confluent', 'value.avro-confluent.url' = '{registry}',
  'properties.bootstrap.servers' = '{bootstrap}');
INSERT INTO big_bids SELECT auction, price, bidder, channel, note FROM bids WHERE price >= 9000;
INSERT INTO best SELECT auction, price, bidder FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bids)
WHERE rn <= 1;
"""


def confluent(schema_id, schema, record):
    buf = io.BytesIO()
    buf.write(b"\x00" + schema_id.to_bytes(4, "big"))
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def decode(registry_schemas, value):
    """A Confluent-framed Avro value -> (schema id, record), with the registry's schema."""
    assert value[0] == 0, value[:5]
    sid = int.from_bytes(value[1:5], "big")
    schema = avro.schema.parse(registry_schemas(sid))
    return sid, avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(value[5:])))


class SqlAvroTest(unittest.TestCase):

    def setUp(self):
        self.tmp = harness.make_temp_dir("sql-avro")
        self.registry = SchemaRegistry()
        self.addCleanup(self.registry.stop)

    def write_script(self, text, name="job.sql"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_avro_confluent_in_kafka_and_upsert_kafka_out(self):
        tool = KafkaDev(["--topic", "bids:2", "--topic", "big-bids:2", "--topic", "best:1"],
                        name="sql-avro")
        try:
            bootstrap = tool.wait_ready()
            v1 = avro.schema.parse(json.dumps(BID_V1))
            v2 = avro.schema.parse(json.dumps(BID_V2))
            id1 = self.registry.register("bids-value", json.dumps(BID_V1))
            id2 = self.registry.register("bids-value", json.dumps(BID_V2))
            rng = random.Random(11)
            prices = rng.sample(range(1, 10_000), BIDS)  # distinct: no ties in the Top-N
            start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
            bids = []
            for i in range(BIDS):
                b = {"auction": rng.randrange(AUCTIONS), "price": prices[i],
                     "bidder": f"b{rng.randrange(100)}", "channel": rng.choice(["web", "app", "api"]),
                     "ts": start + datetime.timedelta(seconds=i)}
                if i % 2:
                    b["note"] = None if i % 3 == 0 else f"n{i}"
                bids.append(b)
            for p in range(2):
                produce_values(bootstrap, "bids", p,
                               [confluent(id2, v2, b) if "note" in b else confluent(id1, v1, b)
                                for b in bids[p::2]], self.tmp)

            r = run_cli(["local", self.write_script(SCRIPT.format(
                bootstrap=bootstrap, registry=self.registry.url))], timeout_s=300, log_dir=self.tmp)
            self.assertEqual(r.returncode, 0, r.describe())

            schemas = lambda sid: self.registry._schemas[sid - 1]  # noqa: E731
            big = [decode(schemas, v) for _, v in consume_keyed_values(bootstrap, "big-bids")]
            out_id, out_schema = self.registry.latest("big-bids-value")
            self.assertEqual({sid for sid, _ in big}, {out_id})
            self.assertEqual(json.loads(out_schema)["name"], "record")  # Flink's derived schema
            got = sorted((r["auction"], r["price"], r["bidder"], r["channel"], r["note"])
                         for _, r in big)
            want = sorted((b["auction"], b["price"], b["bidder"], b["channel"], b.get("note"))
                          for b in bids if b["price"] >= 9000)
            self.assertEqual(got, want)
            self.assertTrue(any(n is not None for *_, n in got), "v2 notes arrive")

            last, tombstones = upsert_table(consume_keyed_values(bootstrap, "best"),
                                            lambda v: decode(schemas, v)[1])
            best = highest_bid_per_auction(bids)
            self.assertEqual({int(k): (v["price"], v["bidder"]) for k, v in last.items()},
                             {a: (b["price"], b["bidder"]) for a, b in best.items()})
            self.assertGreater(tombstones, 0, "replaced rows are written as tombstones")
        finally:
            tool.stop()

    def test_validate_checks_declared_columns_against_the_registry(self):
        self.registry.register("bids-value", json.dumps(BID_V2))
        table = ("CREATE TABLE bids ({columns}) WITH ('connector' = 'kafka', 'topic' = 'bids',\n"
                 "  'format' = 'avro-confluent', 'avro-confluent.url' = '{url}',\n"
                 "  'properties.bootstrap.servers' = 'localhost:9092');\n"
                 "CREATE TABLE out (a BIGINT) WITH ('connector' = 'print');\n"
                 "INSERT INTO out SELECT auction FROM bids;\n")

        def validate(columns, url=None):
            path = self.write_script(table.format(columns=columns, url=url or self.registry.url),
                                     "check.sql")
            return path, run_cli(["sql", "validate", path], timeout_s=60)

        path, ok = validate("auction BIGINT, price DOUBLE, channel STRING, note STRING")
        self.assertEqual(ok.returncode, 0, ok.describe())

        path, r = validate("auction BIGINT, price STRING")
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertIn(f"{path}:1:36: table 'bids', subject 'bids-value' version 1 (id 1): field "
                      "'price': the schema's type \"int\" cannot be read as string", r.stderr)

        path, r = validate("auction BIGINT, seller BIGINT")
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertIn(f"{path}:1:36: table 'bids', subject 'bids-value' version 1 (id 1): column "
                      "'seller' is not a field of the Avro schema (fields: auction, price, bidder, "
                      "channel, ts, note)", r.stderr)

        gone = SchemaRegistry()
        gone_url = gone.url
        gone.stop()
        path, r = validate("auction BIGINT", url=gone_url)
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertIn(f"{path}:2:32: table 'bids': cannot get the schema of subject 'bids-value': "
                      f"schema registry {gone_url}: GET /subjects/bids-value/versions/latest "
                      "failed: cannot connect", r.stderr)


if __name__ == "__main__":
    harness.main()
