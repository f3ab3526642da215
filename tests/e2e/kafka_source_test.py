#!/usr/bin/env python3
"""Kafka source end to end (issue #5, first part), on real processes.

NOT REGISTERED WITH CTEST YET: it fails today because rows go missing before the job reads
them. librdkafka 2.0.2's mock cluster keeps only about 5 MB of stored batches per partition
(older ones are dropped), so the file needs many partitions and lz4 batches. Even then
`kcat -C -e` reads back 2,990,000 of the 3,000,000 rows `kcat -P -z lz4` wrote, exactly 10,000
short with 16 and with 40 partitions; whether producer or broker drops them is open (issue #5
note).

test_flight_delays_from_kafka_exactly_as_reference:
  sluice-kafka-dev runs 3 brokers with a 40-partition topic (the mock keeps ~5 MB per
  partition, so the issue's 4 partitions cannot hold the 130 MB file); `kcat -P`, an independent client,
  writes the full 3-million-row flights CSV into it (one message per line, spread over the
  partitions). A JobManager and two TaskManagers run the flight-delays job at parallelism 2 with
  `source: {type: kafka, stop-at: latest}` (bounded: it ends at the offsets it found at start),
  checkpoints every second and the exactly-once file sink. The job finishes and its committed
  output equals the reference computed from the CSV file, row for row: each record was read once
  by one of the two readers (partitions split by Flink's owner function), event time came from
  the rows, and watermarks were combined over partitions.
"""

import gzip
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, reference  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config  # noqa: E402
from testing.kafka import KafkaDev, _die_with_parent, kcat, run  # noqa: E402

# librdkafka 2.0.2's mock cluster keeps about 5 MB per partition (older messages are dropped):
# the 130 MB CSV needs 40 partitions instead of issue #5's 4 (tools/kafka-dev/README.md).
PARTITIONS = 40
ROWS = 3_000_000

SPEC = """name: kafka-flight-delays
parallelism: 2
checkpointing:
  interval: 1 s
  dir: {checkpoints}
source:
  name: flights
  type: kafka
  bootstrap-servers: {bootstrap}
  topic: flights
  format: csv
  stop-at: latest
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
  - key-by: [origin]
  - window:
      size: 1 h
      aggregates:
        flights: count()
        avg_delay: avg(delay)
        max_delay: max(delay)
sink:
  name: delays
  type: file
  path: {out}
"""


class KafkaSourceTest(unittest.TestCase):

    def test_flight_delays_from_kafka_exactly_as_reference(self):
        data = Config.shared_data("flights-3m.csv.gz")
        expected = reference.flight_delays(data)
        tool = KafkaDev(["--brokers", "3", "--topic", f"flights:{PARTITIONS}"], name="kafka-source")
        try:
            bootstrap = tool.wait_ready()
            # kcat produces one message per input line (the header line is skipped).
            producer = subprocess.Popen([kcat(), "-P", "-b", bootstrap, "-t", "flights", "-z", "lz4"],
                                        stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                                        preexec_fn=_die_with_parent)
            with gzip.open(data, "rb") as f:
                f.readline()
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    producer.stdin.write(chunk)
            producer.stdin.close()
            self.assertEqual(producer.wait(timeout=300), 0, producer.stderr.read().decode()[-4000:])
            # Every row is in the topic (the mock keeps at most ~5 MB per partition).
            count = run([kcat(), "-C", "-b", bootstrap, "-t", "flights", "-e", "-q", "-f", "x"],
                        timeout_s=300)
            self.assertEqual(len(count.stdout), ROWS, count.stderr[-2000:])

            with Cluster(taskmanagers=2, slots=2, name="kafka-source") as cluster:
                out = os.path.join(cluster.dir, "out")
                spec = os.path.join(cluster.dir, "job.yaml")
                with open(spec, "w") as f:
                    f.write(SPEC.format(checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                                        bootstrap=json.dumps(bootstrap), out=json.dumps(out)))
                r = cluster.cli("run", spec, timeout_s=600)
                self.assertEqual(r.returncode, 0, r.describe())
                reference.assert_output_matches(self, out, expected)
        finally:
            tool.stop()


if __name__ == "__main__":
    harness.main()
