#!/usr/bin/env python3
"""Prometheus scrapes a running cluster (issue: metrics with Flink's names).

A JobManager and two TaskManagers run a keyed DataGen job (parallelism 2, 2,000 rows/s). A real
Prometheus (Debian's `prometheus`, on loopback) scrapes the JobManager's GET /metrics on its REST
port and every TaskManager's GET /metrics on the port it reports in /taskmanagers/:id
("metricsPort"). The test asserts, through Prometheus's own HTTP query API:
  - the PromQL records-in rate of the running job over its tasks,
      sum(rate(flink_taskmanager_job_task_numRecordsIn{job_id="<id>"}[5s]))
    returns a positive value;
  - flink_jobmanager_numRegisteredTaskManagers is 2 and flink_taskmanager_job_task_
    busyTimeMsPerSecond exists for every subtask (4 series: 2 vertices x parallelism 2);
  - the job's numRestarts is 0 at the JobManager (flink_jobmanager_job_numRestarts).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Cluster, Daemon  # noqa: E402
from testing.harness import wait_until  # noqa: E402

SPEC = """\
name: prometheus-metrics
parallelism: 2
source:
  name: clicks
  type: datagen
  rows-per-second: 2000
  number-of-rows: 100000000
  seed: 7
  schema:
    user: int64
    ts: timestamp
  fields:
    user: {kind: random, min: 0, max: 999}
    ts: {kind: sequence, start: 2024-01-01T00:00:00Z, end: 2024-12-31T23:59:59Z}
  event-time:
    field: ts
    max-out-of-orderness: 1 s
pipeline:
  - key-by: [user]
  - window:
      type: tumbling
      size: 1 min
      aggregates:
        clicks: count()
sink:
  name: per-user
  type: file
  path: {out}
  header: true
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrometheusTest(unittest.TestCase):
    def setUp(self):
        self.prometheus_bin = shutil.which("prometheus")
        if self.prometheus_bin is None:
            self.fail("Debian's `prometheus` is not installed (scripts/install-deps.sh installs it)")
        self.cluster = Cluster(taskmanagers=2, slots=2, name="prometheus")
        self.cluster.start()
        self.addCleanup(self.cluster.stop)

    def query(self, promql):
        url = (f"http://127.0.0.1:{self.prom_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": promql}))
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.loads(r.read())
        self.assertEqual(body["status"], "success", body)
        return body["data"]["result"]

    def test_prometheus_scrapes_flink_named_metrics_of_a_running_job(self):
        spec = os.path.join(self.cluster.dir, "job.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.replace("{out}", os.path.join(self.cluster.dir, "out")))
        job_id = self.cluster.submit(spec)
        self.cluster.wait_for_job_state(job_id, {"RUNNING"}, 60)

        targets = [f"127.0.0.1:{self.cluster.rest_port}"]
        for entry in self.cluster.rest_taskmanagers():
            details = self.cluster.rest_json(f"/taskmanagers/{entry['id']}")
            self.assertGreater(details.get("metricsPort", 0), 0, details)
            targets.append(f"127.0.0.1:{details['metricsPort']}")
        config = os.path.join(self.cluster.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: sluice\n    static_configs:\n"
                    f"      - targets: {json.dumps(targets)}\n")
        self.prom_port = free_port()
        prom = Daemon("prometheus", [
            self.prometheus_bin, f"--config.file={config}",
            f"--storage.tsdb.path={os.path.join(self.cluster.dir, 'tsdb')}",
            f"--web.listen-address=127.0.0.1:{self.prom_port}", "--log.level=warn"],
            os.path.join(self.cluster.log_dir, "prometheus.log"))
        self.addCleanup(prom.stop)
        harness.on_failure(lambda: print(prom.log_text()[-5000:]))

        def up():
            try:
                return len([r for r in self.query("up == 1")]) == len(targets)
            except OSError:
                return False

        wait_until(up, 60, lambda: f"Prometheus to scrape all {len(targets)} targets")
        rate_query = (f'sum(rate(flink_taskmanager_job_task_numRecordsIn{{job_id="{job_id}"}}'
                      f'[5s]))')

        def positive_rate():
            result = self.query(rate_query)
            return result and float(result[0]["value"][1]) > 0

        wait_until(positive_rate, 60, lambda: f"{rate_query} to be positive: "
                                              f"{self.query(rate_query)}")
        tms = self.query("flink_jobmanager_numRegisteredTaskManagers")
        self.assertEqual(float(tms[0]["value"][1]), 2.0, tms)
        busy = self.query(f'flink_taskmanager_job_task_busyTimeMsPerSecond{{job_id="{job_id}"}}')
        self.assertEqual(len(busy), 4, busy)
        self.assertEqual({s["metric"]["subtask_index"] for s in busy}, {"0", "1"})
        restarts = self.query(f'flink_jobmanager_job_numRestarts{{job_id="{job_id}"}}')
        self.assertEqual(float(restarts[0]["value"][1]), 0.0, restarts)


if __name__ == "__main__":
    harness.main()
