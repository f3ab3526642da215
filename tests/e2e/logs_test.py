#!/usr/bin/env python3
"""Daemon logs (issue: operating Sluice), against real processes:
  - with env.log.dir the daemons write <daemon>.log files, the JobManager in the JSON layout
    (one object per line), and the REST API serves them: /jobmanager/logs, /jobmanager/log,
    /taskmanagers/:id/logs, /taskmanagers/:id/log and one file by name, refusing names that
    leave the log directory;
  - a normal shutdown logs no warning and no error: a cluster stopped with SIGTERM after its
    job finished (TaskManagers first: the JobManager logs each one's orderly disconnect), and a
    `sluice local` run;
  - a bad logging value stops a daemon naming the key.
"""

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Cluster, run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

SPEC = """\
name: tiny
parallelism: 2
source:
  name: numbers
  type: datagen
  number-of-rows: 1000
  schema:
    x: int64
  fields:
    x: {{kind: sequence, start: 0, end: 999}}
pipeline:
  - filter: "x > 3"
sink:
  name: out
  type: file
  path: {out}
"""

TEXT_PROBLEM = re.compile(r"^\S+ \S+ (warning|error|critical)\b")


def problems_in_text(text):
    return [line for line in text.splitlines() if TEXT_PROBLEM.match(line)]


def read(path):
    with open(path) as f:
        return f.read()


def get(port, path):
    """(status, body bytes) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class LogsTest(unittest.TestCase):
    def write_spec(self, directory):
        spec = os.path.join(directory, "tiny.yaml")
        with open(spec, "w") as f:
            f.write(SPEC.format(out=os.path.join(directory, "out")))
        return spec

    def test_rest_serves_log_files_and_sigterm_shutdown_is_quiet(self):
        root = harness.make_temp_dir("logs")

        def daemon_config(name):
            keys = {"env.log.dir": os.path.join(root, name)}
            if name == "jobmanager":
                keys["env.log.format"] = "json"
            return keys

        cluster = Cluster(taskmanagers=2, slots=1, name="logs", daemon_config=daemon_config)
        with cluster:
            r = cluster.cli("run", self.write_spec(cluster.dir))
            self.assertEqual(r.returncode, 0, r.describe())
            port = cluster.rest_port

            listed = cluster.rest_json("/jobmanager/logs")["logs"]
            self.assertEqual([f["name"] for f in listed], ["jobmanager.log"], listed)
            self.assertGreater(listed[0]["size"], 0)
            status, body = get(port, "/jobmanager/log")
            self.assertEqual(status, 200)
            records = [json.loads(line) for line in body.decode().splitlines()]
            self.assertTrue(all(rec["log.logger"] == "jobmanager" and "@timestamp" in rec
                                for rec in records), records[:3])
            self.assertTrue(any("switched from state RUNNING to FINISHED" in rec["message"]
                                for rec in records), "the job's end is in the JobManager log")
            status, named = get(port, "/jobmanager/logs/jobmanager.log")
            self.assertEqual(status, 200)
            self.assertTrue(named.startswith(body[:200]))

            for tm in cluster.taskmanagers:
                files = cluster.rest_json(f"/taskmanagers/{tm.id}/logs")["logs"]
                self.assertEqual([f["name"] for f in files], ["taskmanager.log"], files)
                status, text = get(port, f"/taskmanagers/{tm.id}/log")
                self.assertEqual(status, 200)
                self.assertIn("Registered at JobManager", text.decode())
                self.assertIn("switched from RUNNING to FINISHED", text.decode())
                status, by_name = get(port, f"/taskmanagers/{tm.id}/logs/taskmanager.log")
                self.assertEqual((status, by_name[:100]), (200, text[:100]))
                status, refused = get(port, f"/taskmanagers/{tm.id}/logs/..%2F..%2Fetc%2Fpasswd")
                self.assertIn(status, (400, 404), refused)
                self.assertNotIn(b"root:", refused)
                status, missing = get(port, f"/taskmanagers/{tm.id}/logs/nope.log")
                self.assertEqual(status, 404, missing)
            status, unknown = get(port, "/taskmanagers/0123456789abcdef0123456789abcdef/logs")
            self.assertEqual(status, 404, unknown)

            codes = cluster.stop()
        self.assertEqual(set(codes.values()), {0}, codes)

        jm_records = [json.loads(line) for line in
                      read(os.path.join(root, "jobmanager", "jobmanager.log")).splitlines()]
        self.assertEqual([rec for rec in jm_records if rec["log.level"] not in ("INFO", "DEBUG")],
                         [], "a normal shutdown logs no warning or error (JobManager)")
        disconnects = [rec["message"] for rec in jm_records
                       if "disconnected: it is shutting down" in rec["message"]]
        self.assertEqual(len(disconnects), 2, disconnects)
        for i, tm in enumerate(cluster.taskmanagers):
            text = read(os.path.join(root, f"taskmanager-{i}", "taskmanager.log"))
            self.assertEqual(problems_in_text(text), [], f"taskmanager-{i} log")
            self.assertIn("TaskManager stopped", text)
            self.assertEqual(problems_in_text(tm.log_text()), [], f"taskmanager-{i} console")

    def test_sluice_local_logs_no_warnings(self):
        directory = harness.make_temp_dir("logs-local")
        r = run_cli(["local", self.write_spec(directory)], timeout_s=60)
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertIn("FINISHED", r.stdout)
        self.assertEqual(problems_in_text(r.stderr), [], r.describe())

    def test_bad_log_value_stops_the_daemon_naming_the_key(self):
        for binary in ("sluice-jobmanager", "sluice-taskmanager"):
            p = subprocess.run([Config.binary(binary), "-D", "env.log.format=xml"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("env.log.format", p.stderr)


if __name__ == "__main__":
    harness.main()
