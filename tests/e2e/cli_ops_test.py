#!/usr/bin/env python3
"""Flink's CLI habits in `sluice` (issue: operating Sluice), against a real cluster:
  - `--version` on all three binaries;
  - `sluice list` shows running and scheduled jobs, `-r` running ones, `-a` every job;
  - `--output json` on list, status and taskmanagers;
  - `sluice stop --drain` ends the input first, so a 1-hour window that never closed on its
    own fires and its row reaches the exactly-once sink; a plain stop leaves no row;
  - `sluice savepoint --dispose PATH` deletes a savepoint, and refuses a directory that is not
    one;
  - the REST port given as the RPC port gets a hint naming the REST port.
"""

import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Cluster, run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

SPEC = """\
name: {name}
parallelism: 1
checkpointing:
  interval: 500 ms
  dir: {checkpoints}
source:
  name: clicks
  type: datagen
  rows-per-second: 2000
  number-of-rows: 100000000
  seed: 3
  schema:
    user: int64
    ts: timestamp
  fields:
    user: {{kind: random, min: 0, max: 0}}
    ts: {{kind: sequence, start: 2024-01-01T00:00:00Z, end: 2024-12-31T23:59:59Z}}
  event-time:
    field: ts
    max-out-of-orderness: 1 s
pipeline:
  - key-by: [user]
  - window:
      type: tumbling
      size: 1 h
      aggregates:
        clicks: count()
sink:
  name: hourly
  type: file
  path: {out}
  header: true
"""


def data_rows(directory):
    rows = []
    for path in glob.glob(os.path.join(directory, "**", "part-*"), recursive=True):
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if line]
        rows += lines[1:]  # header
    return rows


class CliOpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(taskmanagers=1, slots=4, name="cli-ops")
        cls.cluster.start()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def submit(self, name):
        out = os.path.join(self.cluster.dir, name)
        spec = os.path.join(self.cluster.dir, name + ".yaml")
        with open(spec, "w") as f:
            f.write(SPEC.format(name=name, out=out,
                                checkpoints=os.path.join(self.cluster.dir, "checkpoints")))
        job = self.cluster.submit(spec)
        self.cluster.wait_for_job_state(job, {"RUNNING"}, 60)
        return job, out

    def cli_ok(self, *args):
        r = self.cluster.cli(*args)
        self.assertEqual(r.returncode, 0, r.describe())
        return r

    def test_version_on_all_binaries(self):
        for binary in ("sluice", "sluice-jobmanager", "sluice-taskmanager"):
            p = subprocess.run([Config.binary(binary), "--version"], capture_output=True,
                               text=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout.strip(), rf"^{binary} \d+\.\d+\.\d+$")

    def test_list_filters_json_output_and_stop_with_drain(self):
        drained, drained_out = self.submit("drained")
        plain, plain_out = self.submit("plain")
        listed = json.loads(self.cli_ok("list", "--output", "json").stdout)
        self.assertEqual({j["job_id"] for j in listed["jobs"]} >= {drained, plain}, True, listed)
        running = self.cli_ok("list", "-r").stdout
        self.assertIn(drained, running)
        status = json.loads(self.cli_ok("status", drained, "-o", "json").stdout)
        self.assertEqual(status["job"]["state"], "RUNNING")
        self.assertGreaterEqual(len(status["vertices"]), 2)
        tms = json.loads(self.cli_ok("taskmanagers", "-o", "json").stdout)
        self.assertEqual(len(tms["taskmanagers"]), 1)

        savepoints = os.path.join(self.cluster.dir, "savepoints")
        r = self.cli_ok("stop", drained, "--drain", "--dir", savepoints)
        self.assertIn("Stop with drain", r.stdout)
        r = self.cli_ok("stop", plain, "--dir", savepoints)
        plain_savepoint = r.stdout.strip().splitlines()[-1].split("Path: ")[-1]
        for job in (drained, plain):
            self.cluster.wait_for_job_state(job, {"FINISHED"}, 60)
        # Draining fired the open 1-hour window: one row with every click; a plain stop kept the
        # window in its savepoint and wrote nothing.
        rows = data_rows(drained_out)
        self.assertEqual(len(rows), 1, rows)
        self.assertGreater(int(rows[0].split(",")[-1]), 0, rows)
        self.assertEqual(data_rows(plain_out), [])

        # Ended jobs: hidden by default and by -r, listed by -a.
        self.assertNotIn(drained, self.cli_ok("list").stdout)
        self.assertNotIn(drained, self.cli_ok("list", "-r").stdout)
        self.assertIn(drained, self.cli_ok("list", "-a").stdout)

        # Savepoint disposal: a savepoint goes; a directory that is not one is refused.
        self.assertTrue(os.path.isdir(plain_savepoint), plain_savepoint)
        r = self.cli_ok("savepoint", "--dispose", plain_savepoint)
        self.assertIn("disposed", r.stdout)
        self.assertFalse(os.path.exists(plain_savepoint))
        r = self.cluster.cli("savepoint", "--dispose", drained_out)
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertIn("not a savepoint", r.stderr)
        self.assertTrue(os.path.isdir(drained_out), "the refused directory is untouched")

    def test_cli_reads_the_jobmanager_address_from_the_config_file(self):
        conf_dir = os.path.join(self.cluster.dir, "conf")
        os.makedirs(conf_dir, exist_ok=True)
        with open(os.path.join(conf_dir, "config.yaml"), "w") as f:
            f.write(f"jobmanager.rpc.address: 127.0.0.1\njobmanager.rpc.port: "
                    f"{self.cluster.rpc_port}\ntaskmanager.memory.process.size: 1728m\n")
        env = {k: v for k, v in os.environ.items() if k != "SLUICE_JOBMANAGER"}
        p = subprocess.run([Config.binary("sluice"), "taskmanagers", "--config",
                            os.path.join(conf_dir, "config.yaml")],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("127.0.0.1", p.stdout)
        p = subprocess.run([Config.binary("sluice"), "taskmanagers"], capture_output=True,
                           text=True, timeout=30, env=dict(env, SLUICE_CONF_DIR=conf_dir))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_daemons_take_definitions_and_warn_on_unknown_keys(self):
        conf = os.path.join(self.cluster.dir, "flink-style.yaml")
        with open(conf, "w") as f:
            f.write("rest.port: 0\njobmanager.rpc.port: 0\n"
                    "taskmanager.memory.process.size: 1728m\n")
        ports = os.path.join(self.cluster.dir, "jm2.ports")
        p = subprocess.Popen([Config.binary("sluice-jobmanager"), "--config", conf,
                              "-D", "jobmanager.bind-host=127.0.0.1",
                              "-D", "rest.bind-address=127.0.0.1", "--ports-file", ports],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            harness.wait_until(lambda: os.path.exists(ports) or p.poll() is not None, 20,
                               "the JobManager to start with an unknown key in its config")
            self.assertIsNone(p.poll(), "the JobManager stopped on an unknown key")
        finally:
            p.terminate()
            out, _ = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("unknown configuration key 'taskmanager.memory.process.size' (ignored)", out)
        bad = subprocess.run([Config.binary("sluice-jobmanager"), "--config", conf,
                              "-D", "rest.port=http"], capture_output=True, text=True, timeout=20)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("-D rest.port=http: bad value for configuration key 'rest.port'", bad.stderr)

    def test_rest_port_given_as_rpc_port_gets_a_hint(self):
        r = run_cli(["list", "--jobmanager", f"127.0.0.1:{self.cluster.rest_port}"], 30)
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertIn("REST port", r.stderr)


if __name__ == "__main__":
    harness.main()
