#!/usr/bin/env python3
"""sluice-kafka-dev (tools/kafka-dev): librdkafka's mock cluster as a broker for tests.

Against the tool as a real process, with clients that share no code with it:
  - 3 brokers and a 4-partition topic: the metadata (kcat -L -J) shows 3 brokers on 127.0.0.1,
    4 partitions led round-robin by brokers 1, 2, 3, 1; python3-kafka's KafkaProducer writes 10,000 keyed
    records, `kcat -C -e` reads all 10,000 back, each at the partition and offset the producer
    was acknowledged with, every partition has data and its offsets are 0..n-1;
  - the bootstrap line on stdout equals the --port-file (no temp file left), and SIGTERM stops
    the tool with exit code 0;
  - --control-stdin: create-topic adds a topic that clients see, set-leader moves a partition,
    growing an existing topic is refused with the mock's TOPIC_ALREADY_EXISTS, broker-down/up
    answer ok, bad commands get an error line; SIGINT exits 0;
  - bad flags exit 2 with a message naming the flag and nothing on stdout.
"""

import collections
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402
from testing.kafka import KafkaDev, _die_with_parent, kcat, run  # noqa: E402,F401

try:
    import kafka  # noqa: E402
except ImportError:
    # Debian's python3-kafka is installed for the system interpreter; ctest may run another
    # python3 (e.g. a pyenv one). kafka-python is pure Python, so its files work from there.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import kafka  # noqa: E402
    except ImportError:
        raise SystemExit("kafka_dev_test: the 'kafka' module (Debian package python3-kafka) is "
                         "missing; run scripts/install-deps.sh")

RECORDS = 10_000
PARTITIONS = 4
BROKERS = 3


def metadata(bootstrap, topic=None):
    """`kcat -L -J` as parsed JSON."""
    argv = [kcat(), "-L", "-J", "-b", bootstrap] + (["-t", topic] if topic else [])
    r = run(argv, timeout_s=60)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr}")
    return json.loads(r.stdout)


def topic_metadata(bootstrap, topic):
    md = metadata(bootstrap, topic)
    found = [t for t in md.get("topics", []) if t.get("topic") == topic]
    if not found:
        raise AssertionError(f"topic {topic} not in the metadata: {md}")
    return found[0]


class KafkaDevTest(unittest.TestCase):

    def test_produce_and_consume_records_over_3_brokers_and_4_partitions(self):
        tool = KafkaDev(["--brokers", str(BROKERS), "--topic", f"flights:{PARTITIONS}",
                         "--topic", "other:1"], name="kafka-dev-produce")
        try:
            bootstrap = tool.wait_ready()
            servers = bootstrap.split(",")
            self.assertEqual(len(servers), BROKERS, bootstrap)
            for s in servers:
                self.assertTrue(s.startswith("127.0.0.1:"), f"not on loopback: {bootstrap}")
            wait_until(lambda: tool.stdout_lines(), 10, "the bootstrap line on stdout")
            self.assertEqual(tool.stdout_lines(), [tool.bootstrap_line], tool.describe())
            self.assertEqual(os.listdir(tool.dir).count("bootstrap.txt.tmp"), 0,
                             "the port file's temp file should have been renamed")

            md = metadata(bootstrap)
            self.assertEqual(sorted(b["id"] for b in md["brokers"]), [1, 2, 3], md)
            for b in md["brokers"]:
                self.assertTrue(b["name"].startswith("127.0.0.1:"), md)
            flights = topic_metadata(bootstrap, "flights")
            self.assertEqual(len(flights["partitions"]), PARTITIONS, flights)
            leaders = {p["partition"]: p["leader"] for p in flights["partitions"]}
            self.assertEqual(leaders, {0: 1, 1: 2, 2: 3, 3: 1},
                             f"partition p should be led by broker (p mod 3) + 1: {flights}")
            self.assertEqual(len(topic_metadata(bootstrap, "other")["partitions"]), 1)

            # An independent client writes keyed records; keys spread them over the partitions.
            producer = kafka.KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5,
                                           retries=5)
            try:
                futures = [producer.send("flights", key=f"key-{i}".encode(),
                                         value=f"record-{i:05d}".encode())
                           for i in range(RECORDS)]
                producer.flush(timeout=120)
                acked = {}
                for i, f in enumerate(futures):
                    md_record = f.get(timeout=60)
                    acked[f"record-{i:05d}"] = (md_record.partition, md_record.offset)
            finally:
                producer.close(timeout=30)
            self.assertEqual(len(acked), RECORDS)

            # A second independent client reads everything back.
            r = run([kcat(), "-C", "-q", "-b", bootstrap, "-t", "flights", "-o", "beginning",
                     "-e", "-f", "%p %o %k %s\n"], timeout_s=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            consumed = {}
            offsets = collections.defaultdict(list)
            for line in r.stdout.splitlines():
                partition, offset, key, value = line.split(" ")
                self.assertNotIn(value, consumed, f"record read twice: {line}")
                consumed[value] = (int(partition), int(offset))
                offsets[int(partition)].append(int(offset))
                self.assertEqual(key, "key-" + str(int(value[len("record-"):])), line)
            self.assertEqual(len(consumed), RECORDS,
                             f"expected {RECORDS} records, read {len(consumed)}")
            self.assertEqual(consumed, acked,
                             "every record should be read at the partition and offset its "
                             "producer was acknowledged with")
            self.assertEqual(sorted(offsets), list(range(PARTITIONS)),
                             f"every partition should have data: {sorted(offsets)}")
            for partition, offs in offsets.items():
                self.assertEqual(sorted(offs), list(range(len(offs))),
                                 f"partition {partition}: offsets should be 0..n-1")
        finally:
            code = tool.stop(signal.SIGTERM)
        self.assertEqual(code, 0, f"SIGTERM should stop the tool with exit 0:\n{tool.describe()}")

    def test_control_commands_on_stdin(self):
        tool = KafkaDev(["--brokers", "3", "--replication-factor", "2", "--topic", "flights:2"],
                        control=True, name="kafka-dev-control")
        try:
            bootstrap = tool.wait_ready()
            self.assertEqual(len(topic_metadata(bootstrap, "flights")["partitions"]), 2)

            self.assertEqual(tool.command("create-topic added 3"), "ok create-topic added 3")
            added = topic_metadata(bootstrap, "added")
            self.assertEqual({p["partition"]: p["leader"] for p in added["partitions"]},
                             {0: 1, 1: 2, 2: 3}, added)

            self.assertEqual(tool.command("set-leader added 0 3"), "ok set-leader added 0 3")
            wait_until(lambda: {p["partition"]: p["leader"] for p in
                                topic_metadata(bootstrap, "added")["partitions"]}[0] == 3,
                       30, "partition 0 of 'added' to be led by broker 3")

            # The mock cannot grow a topic: it says so instead of failing silently.
            answer = tool.command("create-topic flights 6")
            self.assertTrue(answer.startswith("error ") and "TOPIC_ALREADY_EXISTS" in answer,
                            answer)
            self.assertEqual(len(topic_metadata(bootstrap, "flights")["partitions"]), 2)

            self.assertEqual(tool.command("broker-down 2"), "ok broker-down 2")
            self.assertEqual(tool.command("broker-up 2"), "ok broker-up 2")
            answer = tool.command("broker-down 7")
            self.assertTrue(answer.startswith("error ") and "between 1 and 3" in answer, answer)
            answer = tool.command("frobnicate")
            self.assertTrue(answer.startswith("error unknown command 'frobnicate'"), answer)
            answer = tool.command("create-topic bad/name 1")
            self.assertTrue(answer.startswith("error ") and "'/'" in answer, answer)
        finally:
            code = tool.stop(signal.SIGINT)
        self.assertEqual(code, 0, f"SIGINT should stop the tool with exit 0:\n{tool.describe()}")

    def test_a_produce_answers_a_parked_fetch_at_once(self):
        """A Fetch that finds no data waits up to the consumer's fetch.wait.max.ms (60 s here), but
        the fetch proxy answers it as soon as a Produce brings data (fetch_proxy.h): librdkafka's
        mock alone holds it the whole 60 s."""
        tool = KafkaDev(["--brokers", "1", "--topic", "parked:1", "--log-level", "debug"],
                        name="kafka-dev-parked")
        consumer = None
        try:
            bootstrap = tool.wait_ready()
            self.assertIn("127.0.0.1:", bootstrap)
            out_path = os.path.join(tool.dir, "consumer.out")
            with open(out_path, "wb") as out:
                consumer = subprocess.Popen(
                    [kcat(), "-C", "-b", bootstrap, "-t", "parked", "-p", "0", "-o", "beginning",
                     "-c", "20", "-q", "-X", "fetch.wait.max.ms=60000", "-f", "%o %s\n"],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL,
                    preexec_fn=_die_with_parent)
            harness.on_cleanup(lambda: consumer.poll() is None and consumer.kill())

            def parked():
                with open(tool.stderr_path, errors="replace") as f:
                    return "parked Fetch" in f.read()
            wait_until(parked, 30, f"the consumer's Fetch to be parked:\n{tool.describe()}")
            # 20 records, one Produce (one batch) each.
            for i in range(20):
                r = subprocess.run([kcat(), "-P", "-b", bootstrap, "-t", "parked", "-p", "0"],
                                   input=f"record-{i}\n", capture_output=True, text=True,
                                   timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
            # Well inside the 60 s the mock alone would hold the first Fetch.
            code = consumer.wait(timeout=20)
            with open(out_path, errors="replace") as f:
                lines = f.read().splitlines()
            self.assertEqual(code, 0, lines)
            self.assertEqual(lines, [f"{i} record-{i}" for i in range(20)])
        finally:
            if consumer is not None and consumer.poll() is None:
                consumer.kill()
            tool.stop()

    def test_slow_broker_answers_are_logged(self):
        """--slow-request-ms logs every request a broker takes at least that long to answer (the
        latency benchmark sets it beside its spikes); a broker made slow with `broker-rtt` must
        show up there, and no answer is logged before it is slow."""
        tool = KafkaDev(["--brokers", "1", "--topic", "slow:1", "--slow-request-ms", "150"],
                        control=True, name="kafka-dev-slow")
        try:
            bootstrap = tool.wait_ready()

            def produce(text):
                r = subprocess.run([kcat(), "-P", "-b", bootstrap, "-t", "slow", "-p", "0"],
                                   input=text + "\n", capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)

            def slow_lines():
                with open(tool.stderr_path, errors="replace") as f:
                    return [line for line in f if "to answer a request of API key" in line]
            produce("fast")
            self.assertEqual(slow_lines(), [], tool.describe())
            self.assertEqual(tool.command("broker-rtt 1 400"), "ok broker-rtt 1 400")
            produce("slow")
            wait_until(lambda: slow_lines(), 30, f"a slow answer to be logged:\n{tool.describe()}")
            self.assertIn("broker 1 took", slow_lines()[0])
            answer = tool.command("broker-rtt 1 -5")
            self.assertTrue(answer.startswith("error ") and "round-trip time" in answer, answer)
        finally:
            tool.stop()

    def test_bad_flags_exit_2_with_a_message(self):
        cases = {
            "topic_without_partitions": (["--topic", "flights"], "NAME:PARTITIONS"),
            "zero_partitions": (["--topic", "flights:0"], "between 1 and"),
            "partitions_not_a_number": (["--topic", "flights:four"], "expected an integer"),
            "bad_topic_name": (["--topic", "fl/ights:4"], "'/'"),
            "topic_twice": (["--topic", "a:1", "--topic", "a:2"], "twice"),
            "zero_brokers": (["--brokers", "0"], "--brokers"),
            "replication_above_brokers": (["--brokers", "2", "--replication-factor", "3"],
                                          "--replication-factor"),
            "unknown_flag": (["--bogus"], "--bogus"),
            "negative_slow_request_ms": (["--slow-request-ms", "-1"], "--slow-request-ms"),
        }
        for case, (args, message) in cases.items():
            with self.subTest(case=case):
                argv = [Config.binary("sluice-kafka-dev")] + args
                r = run(argv, timeout_s=30)
                self.assertEqual(r.returncode, 2, f"{argv}: {r.stdout}{r.stderr}")
                self.assertIn(message, r.stderr, f"{argv}: stderr should name the problem")
                self.assertNotIn("bootstrap.servers=", r.stdout, argv)


if __name__ == "__main__":
    harness.main()
