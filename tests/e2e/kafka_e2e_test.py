#!/usr/bin/env python3
"""Kafka source and sink end to end (issue #5), on real processes: sluice-kafka-dev (librdkafka's
mock cluster on 127.0.0.1), a JobManager and TaskManagers, and independent Kafka clients (kcat).

Input: `kcat -P`, not Sluice, writes the full 3-million-row flights CSV, one message per line,
into an 8-partition topic (round-robin, zstd batches). The issue asks for 4 partitions, but
librdkafka 2.0.2's mock keeps only about 5 MB of batches per partition and silently drops older
ones; 750,000 rows do not fit in 5 MB in any compression kcat offers, 375,000 do
(tools/kafka-dev/README.md). The test checks the end offsets (kcat -Q) add up to 3,000,000.

test_flight_delays_with_two_taskmanager_kills_exactly_once:
  The flight-delays job at parallelism 2 reads the topic (`stop-at: latest`, so it finishes;
  rate-limited so it runs ~25 s), checkpoints every second, writes the exactly-once file sink.
  Twice, after recovery and a fresh checkpoint, a TaskManager running subtasks is killed with
  SIGKILL (testing/chaos.py). The committed output equals the reference computed from the CSV
  file exactly: offsets in checkpoints made every record count once. While it runs, the Kafka
  source's metrics (records consumed, records-lag-max, assigned partitions) are job metrics.

test_kafka_to_kafka_at_least_once:
  The same job writes its windows to a Kafka topic (csv values, key = origin, at-least-once).
  An independent consumer (kcat -C) reads every expected row; every message's key is its origin
  and all messages of one key are in one partition (the key partitioner).

test_kafka_to_kafka_exactly_once_sink_through_a_kill:
  The same job with the exactly-once Kafka sink (a transaction per checkpoint) loses a
  TaskManager once and still finishes, and every expected row is in the topic. The mock does not
  filter aborted transactions, so duplicates are allowed there (see the test's comment).

test_bad_record_policies:
  A 1-partition topic holds good rows and 3 bad ones. `bad-records: skip`: the job finishes,
  writes the good rows and counts 3 in kafka.records-skipped. `dead-letter`: the job finishes and
  the dead-letter topic holds the 3 raw records with their error, topic, partition and offset
  headers. `fail` (default): the job fails, naming topic, partition and offset of the first bad
  record.

test_new_topic_and_idle_partition:
  An unbounded job reads `pattern: events-.*` with `idle-timeout: 1 s`. Only partition 0 of
  events-a (2 partitions) gets records; the 1-minute windows still fire, since the idle
  partition 1 stops holding the watermark back (without idleness nothing would fire). Then a new
  topic events-b is created while the job runs and its records are read and windowed too
  (partition discovery).
"""

import csv
import gzip
import io
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import chaos, harness, reference  # noqa: E402
from testing.chaos import metric  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402
from testing.kafka import KafkaDev, consume, end_offsets, produce_lines  # noqa: E402

PARTITIONS = 8
ROWS = 3_000_000
RATE = 60000  # rows per second per source subtask: 2 subtasks read 3M rows in ~25 s

SCHEMA = """  schema:
    date: timestamp
    delay: int64
    distance: int64
    origin: string
    destination: string
"""

FLIGHT_DELAYS = """name: {name}
parallelism: 2
checkpointing:
  interval: 1 s
  dir: {checkpoints}
source:
  name: flights
  type: kafka
  bootstrap-servers: {bootstrap}
  topic: flights
  stop-at: latest
  rate: {rate}
""" + SCHEMA + """  event-time:
    field: date
    max-out-of-orderness: 1 min
pipeline:
  - key-by: [origin]
  - window:
      size: 1 h
      aggregates:
        flights: count()
        avg_delay: avg(delay)
        max_delay: max(delay)
sink:
{sink}
"""


def write(cluster, name, text):
    path = os.path.join(cluster.dir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def committed_rows(out_dir):
    """Rows (lists of strings) of the committed part files of a file sink, headers skipped."""
    rows = []
    if not os.path.isdir(out_dir):
        return rows
    for name in sorted(os.listdir(out_dir)):
        if name.startswith("part-") and name.endswith(".csv"):
            with open(os.path.join(out_dir, name), newline="") as f:
                rows.extend(list(csv.reader(f))[1:])
    return rows


class KafkaE2ETest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.data = Config.shared_data("flights-3m.csv.gz")
        cls.tool = KafkaDev(["--brokers", "3", "--topic", f"flights:{PARTITIONS}",
                             "--topic", f"delays:{PARTITIONS}",
                             "--topic", f"delays-eos:{PARTITIONS}", "--topic", "mixed:1",
                             "--topic", "events-a:2"], control=True, name="kafka-e2e")
        cls.bootstrap = cls.tool.wait_ready()
        with gzip.open(cls.data, "rb") as f:
            f.readline()  # the header is not a record
            written = produce_lines(cls.bootstrap, "flights", PARTITIONS,
                                    (line.rstrip(b"\n") for line in f))
        assert written == ROWS, written
        offsets = end_offsets(cls.bootstrap, "flights", PARTITIONS)
        assert sum(offsets) == ROWS, f"the broker holds {offsets} (sum {sum(offsets)})"
        cls.expected = reference.flight_delays(cls.data)

    @classmethod
    def tearDownClass(cls):
        cls.tool.stop()

    def test_flight_delays_with_two_taskmanager_kills_exactly_once(self):
        rng = random.Random(os.environ.get("SLUICE_CHAOS_SEED"))
        with Cluster(taskmanagers=3, slots=2, name="kafka-chaos") as cluster:
            out = os.path.join(cluster.dir, "out")
            spec = write(cluster, "chaos", FLIGHT_DELAYS.format(
                name="kafka-chaos", checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                bootstrap=json.dumps(self.bootstrap), rate=RATE,
                sink=f"  type: file\n  path: {json.dumps(out)}"))
            job_id = cluster.submit(spec)

            def kafka_metrics(k):
                if k != 1:
                    return
                wait_until(lambda: (metric(cluster, job_id, "kafka.records-consumed-total") or 0)
                           > 0, 20, "job metric kafka.records-consumed-total > 0")
                wait_until(lambda: metric(cluster, job_id, "kafka.assigned-partitions") ==
                           PARTITIONS, 20, f"kafka.assigned-partitions == {PARTITIONS}")
                # The source is rate-limited, so the readers lag behind the end of the topic.
                wait_until(lambda: (metric(cluster, job_id, "kafka.records-lag-max") or 0) > 0,
                           20, "job metric kafka.records-lag-max > 0")

            chaos.kill_taskmanagers(cluster, job_id, 2, rng, kafka_metrics)
            cluster.wait_for_job_state(job_id, {"FINISHED"}, 300, 0.2)
            self.assertEqual(metric(cluster, job_id, "numRestarts"), 2)
            reference.assert_output_matches(self, out, self.expected)

    def test_kafka_to_kafka_at_least_once(self):
        with Cluster(taskmanagers=2, slots=2, name="kafka-to-kafka") as cluster:
            sink = ("  type: kafka\n  name: delays\n"
                    f"  bootstrap-servers: {json.dumps(self.bootstrap)}\n"
                    "  topic: delays\n  format: csv\n  key: origin\n  delivery: at-least-once\n"
                    # The mock keeps ~5 MB per partition: compressed batches hold all 424k rows.
                    "  properties: {compression.type: zstd, linger.ms: '50'}")
            spec = write(cluster, "k2k", FLIGHT_DELAYS.format(
                name="kafka-to-kafka", checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                bootstrap=json.dumps(self.bootstrap), rate=0, sink=sink))
            r = cluster.cli("run", spec, timeout_s=600)
            self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(end_offsets(self.bootstrap, "delays", PARTITIONS, which=-2),
                         [0] * PARTITIONS, "the mock dropped messages (retention)")
        # An independent consumer: partition, key and value of every message.
        text = consume(self.bootstrap, "delays", fmt="%p\\t%k\\t%s\\n")
        rows, partitions_of = [], {}
        for line in text.splitlines():
            partition, key, value = line.split("\t")
            row = reference.parse_row(next(csv.reader(io.StringIO(value))))
            self.assertEqual(key, row[0], f"message key of {value}")
            partitions_of.setdefault(key, set()).add(partition)
            rows.append(row)
        spread = {k: p for k, p in partitions_of.items() if len(p) > 1}
        self.assertFalse(spread, f"keys in several partitions: {list(spread.items())[:5]}")
        # At-least-once: every expected row is there; without failures none twice either.
        diffs = reference.compare_rows(sorted(set(rows)), self.expected)
        self.assertFalse(diffs, "\n".join(diffs))
        print(f"consumed {len(rows)} messages for {len(self.expected)} expected rows", flush=True)

    def test_kafka_to_kafka_exactly_once_sink_through_a_kill(self):
        rng = random.Random(os.environ.get("SLUICE_CHAOS_SEED"))
        with Cluster(taskmanagers=3, slots=2, name="kafka-eos") as cluster:
            sink = ("  type: kafka\n  name: delays\n"
                    f"  bootstrap-servers: {json.dumps(self.bootstrap)}\n"
                    "  topic: delays-eos\n  format: csv\n  key: origin\n"
                    "  delivery: exactly-once\n  transactional-id-prefix: e2e-delays\n"
                    "  properties: {compression.type: zstd, linger.ms: '50'}")
            spec = write(cluster, "eos", FLIGHT_DELAYS.format(
                name="kafka-eos", checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                bootstrap=json.dumps(self.bootstrap), rate=RATE, sink=sink))
            job_id = cluster.submit(spec)
            chaos.kill_taskmanagers(cluster, job_id, 1, rng)
            cluster.wait_for_job_state(job_id, {"FINISHED"}, 300, 0.2)
        self.assertEqual(end_offsets(self.bootstrap, "delays-eos", PARTITIONS, which=-2),
                         [0] * PARTITIONS, "the mock dropped messages (retention)")
        # The mock neither writes transaction markers nor filters aborted transactions, and
        # does not store the sink's commit marker, so the restore re-produces the restored
        # checkpoint's rows: duplicates are expected here; on a real broker a read_committed
        # consumer sees each once (the protocol is tested with a recording producer in
        # runtime/connectors/kafka/tests/kafka_sink_test.cc). What this run shows: the
        # transactional sink survives a TaskManager loss and every row reaches the topic.
        text = consume(self.bootstrap, "delays-eos", fmt="%s\\n")
        rows = [reference.parse_row(next(csv.reader(io.StringIO(v)))) for v in text.splitlines()]
        diffs = reference.compare_rows(sorted(set(rows)), self.expected)
        self.assertFalse(diffs, "\n".join(diffs))
        print(f"consumed {len(rows)} messages for {len(self.expected)} expected rows", flush=True)

    def test_bad_record_policies(self):
        good = [f"2001-01-01T00:0{i}:00Z,{i * 10},100,ATL,SAV".encode() for i in range(6)]
        bad = [b"2001-01-01T00:10:00Z,late,100,ATL,SAV",  # offset 2: delay is not an int64
               b"2001-01-01T00:11:00Z,5,100",            # offset 5: too few fields
               b"yesterday,5,100,ATL,SAV"]               # offset 7: not a timestamp
        records = good[:2] + bad[:1] + good[2:4] + bad[1:2] + good[4:5] + bad[2:] + good[5:]
        produce_lines(self.bootstrap, "mixed", 1, records)
        bad_offsets = {str(records.index(b)) for b in bad}
        spec = """name: bad-{policy}
parallelism: 1
restart-strategy: {{type: none}}
source:
  type: kafka
  bootstrap-servers: {bootstrap}
  topic: mixed
  stop-at: latest
  bad-records: {policy}
{dead_letter}""" + SCHEMA + """pipeline:
  - filter: delay >= 0
sink:
  type: file
  path: {out}
"""
        with Cluster(taskmanagers=1, slots=1, name="kafka-bad") as cluster:
            def run(policy, dead_letter=""):
                out = os.path.join(cluster.dir, f"out-{policy}")
                path = write(cluster, policy, spec.format(
                    policy=policy, bootstrap=json.dumps(self.bootstrap), out=json.dumps(out),
                    dead_letter=dead_letter))
                return cluster.cli("run", path, timeout_s=120), out

            def good_rows_written(out):
                want = sorted(line.decode().split(",")[:2] for line in good)
                got = sorted([r[0].replace(".000", ""), r[1]] for r in committed_rows(out))
                self.assertEqual(got, want)

            r, out = run("skip")
            self.assertEqual(r.returncode, 0, r.describe())
            good_rows_written(out)
            job_id = r.job_id()
            self.assertEqual(metric(cluster, job_id, "kafka.records-skipped"), 3)
            self.assertEqual(metric(cluster, job_id, "kafka.records-consumed-total"), 9)

            r, out = run("dead-letter", "  dead-letter: {topic: mixed-dlq}\n")
            self.assertEqual(r.returncode, 0, r.describe())
            good_rows_written(out)
            self.assertEqual(metric(cluster, r.job_id(), "kafka.records-dead-lettered"), 3)
            text = consume(self.bootstrap, "mixed-dlq", fmt="%h\\t%s\\n")
            letters = [line.split("\t") for line in text.splitlines()]
            self.assertEqual(sorted(v for _, v in letters), sorted(b.decode() for b in bad))
            for headers, value in letters:
                # kcat prints headers as name=value,name=value; the message may contain commas.
                h = dict(re.findall(r"(sluice\.error\.[a-z]+)=(.*?)(?=,sluice\.error\.|$)",
                                    headers))
                self.assertEqual(h["sluice.error.topic"], "mixed", headers)
                self.assertEqual(h["sluice.error.partition"], "0", headers)
                self.assertEqual(h["sluice.error.offset"], str(records.index(value.encode())))
                self.assertIn(h["sluice.error.offset"], bad_offsets)
                self.assertTrue(h["sluice.error.message"], headers)

            r, _ = run("fail")
            self.assertNotEqual(r.returncode, 0, r.describe())
            self.assertIn("kafka source: topic 'mixed' partition 0 offset 2: ", r.describe())

    def test_new_topic_and_idle_partition(self):
        spec = """name: discovery
parallelism: 1
checkpointing:
  interval: 500 ms
  dir: {checkpoints}
source:
  type: kafka
  bootstrap-servers: {bootstrap}
  pattern: "events-.*"
  idle-timeout: 1 s
  partition-discovery-interval: 1 s
  schema: {{ts: timestamp, key: string}}
  event-time: {{field: ts}}
pipeline:
  - key-by: [key]
  - window:
      size: 1 min
      aggregates:
        n: count()
sink:
  type: file
  path: {out}
"""
        with Cluster(taskmanagers=1, slots=2, name="kafka-discovery") as cluster:
            out = os.path.join(cluster.dir, "out")
            path = write(cluster, "discovery", spec.format(
                checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                bootstrap=json.dumps(self.bootstrap), out=json.dumps(out)))
            job_id = cluster.submit(path)
            cluster.wait_for_job_state(job_id, {"RUNNING"}, 60)
            # Partition 0 only; partition 1 of events-a stays empty (idle).
            produce_lines(self.bootstrap, "events-a", 1, [
                b"2001-01-01T00:00:10Z,k1", b"2001-01-01T00:00:20Z,k1", b"2001-01-01T00:02:00Z,k1"])

            def window(key, start, n):
                return [key, f"2001-01-01T00:{start:02d}:00Z", f"2001-01-01T00:{start + 1:02d}:00Z",
                        str(n)]

            def has(row):
                return lambda: row in committed_rows(out)

            wait_until(has(window("k1", 0, 2)), 60,
                       lambda: f"window k1 [00:00, 00:01) = 2 in {committed_rows(out)}")
            # A topic created while the job runs matches the pattern and is read.
            self.assertEqual(self.tool.command("create-topic events-b 1"),
                             "ok create-topic events-b 1")
            produce_lines(self.bootstrap, "events-b", 1, [
                b"2001-01-01T00:03:00Z,k2", b"2001-01-01T00:03:30Z,k2", b"2001-01-01T00:05:00Z,k2"])
            wait_until(has(window("k2", 3, 2)), 60,
                       lambda: f"window k2 [00:03, 00:04) = 2 in {committed_rows(out)}")
            cancel = cluster.cli("cancel", job_id)
            self.assertEqual(cancel.returncode, 0, cancel.describe())
            cluster.wait_for_job_state(job_id, {"CANCELED"}, 60)


if __name__ == "__main__":
    harness.main()
