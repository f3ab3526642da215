#!/usr/bin/env python3
"""The C++ velocity-check example, built out of tree and run as a plugin, exactly-once.

Installs Sluice (cmake --install of the build tree) into a temp prefix, builds
examples/cpp/velocity-check against it with find_package(Sluice) as a user would, generates
payments and rules (the example's generator), and submits the library with
`sluice run --plugin` to a JobManager and two TaskManagers (each with its own blob store, so the
TaskManagers fetch the plugin from the JobManager). The payments are replayed at a fixed rate so
the job runs long enough for one TaskManager to be killed with SIGKILL after a completed
checkpoint; the job must restart once; then it is rescaled from 2 to 3 through a savepoint
(`sluice rescale`) and must finish, and both outputs (alerts and near misses) must equal the
answer computed here from the CSV files alone: sliding 10 s / 2 s windows of
payment attempts per card, judged against the rule in force at the window's end.
"""

import collections
import csv
import datetime
import glob
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import chaos, harness  # noqa: E402
from testing.chaos import metric  # noqa: E402
from testing.cluster import Cluster, run_cli  # noqa: E402
from testing.harness import Config  # noqa: E402

WINDOW_MS, SLIDE_MS = 10_000, 2_000
INITIAL_THRESHOLD = 5


def epoch_ms(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def iso_seconds(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def expected(data_dir):
    """(alerts, near misses): sorted CSV lines card,window_start,window_end,attempts,threshold."""
    counts = collections.Counter()
    with open(os.path.join(data_dir, "payments.csv")) as f:
        for row in csv.DictReader(f):
            ts = epoch_ms(row["ts"])
            last = ts - ts % SLIDE_MS
            for start in range(last, ts - WINDOW_MS, -SLIDE_MS):
                counts[(row["card"], start)] += 1
    with open(os.path.join(data_dir, "rules.csv")) as f:
        rules = sorted((epoch_ms(r["ts"]), int(r["threshold"])) for r in csv.DictReader(f))
    alerts, near = [], []
    for (card, start), n in counts.items():
        end = start + WINDOW_MS
        threshold = INITIAL_THRESHOLD
        for ts, t in rules:
            if ts <= end - 1:
                threshold = t
        line = f"{card},{iso_seconds(start)},{iso_seconds(end)},{n},{threshold}"
        if n > threshold:
            alerts.append(line)
        elif n == threshold:
            near.append(line)
    return sorted(alerts), sorted(near)


def read_output(directory):
    lines = []
    for part in sorted(glob.glob(os.path.join(directory, "part-*.csv"))):
        with open(part) as f:
            lines.extend(f.read().splitlines()[1:])
    return lines


def build_example(work):
    """cmake --install, then the example built against the installed package; the library."""
    build_dir = os.path.dirname(Config.bin_dir)
    prefix = os.path.join(work, "install")
    example_build = os.path.join(work, "velocity-build")
    for argv in (["cmake", "--install", build_dir, "--prefix", prefix],
                 ["cmake", "-S", os.path.join(Config.repo, "examples", "cpp", "velocity-check"),
                  "-B", example_build, f"-DCMAKE_PREFIX_PATH={prefix}"],
                 ["cmake", "--build", example_build]):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed:\n{r.stdout}\n{r.stderr}")
    library = os.path.join(example_build, "libvelocity_check.so")
    assert os.path.exists(library), library
    return library


class VelocityCheckTest(unittest.TestCase):
    def test_plugin_built_out_of_tree_is_exactly_once_across_a_kill_and_a_rescale(self):
        rng = random.Random(7)
        work = harness.make_temp_dir("velocity")
        library = build_example(work)
        data = os.path.join(work, "data")
        subprocess.run([sys.executable, os.path.join(Config.repo, "examples", "cpp",
                                                     "velocity-check", "generate_payments.py"),
                        "--out-dir", data, "--cards", "900", "--minutes", "30", "--seed", "3"],
                       check=True, capture_output=True)
        alerts, near = expected(data)
        self.assertGreater(len(alerts), 50)
        self.assertGreater(len(near), 20)
        with Cluster(taskmanagers=2, slots=2, name="velocity") as cluster:
            out = os.path.join(cluster.dir, "out")
            r = run_cli(["run", "--detached", "--parallelism", "2", "--jobmanager", cluster.address,
                         "--plugin", library, "--",
                         os.path.join(data, "payments.csv"), os.path.join(data, "rules.csv"), out,
                         str(INITIAL_THRESHOLD), "1000"], 120, cluster.log_dir)
            self.assertEqual(r.returncode, 0, r.describe())
            job_id = r.job_id()
            # The JobManager stored the plugin under its SHA-256; TaskManagers fetched it.
            key = os.listdir(cluster.blob_dir("jobmanager"))
            self.assertEqual(len(key), 1, key)
            chaos.kill_taskmanagers(cluster, job_id, 1, rng)
            self.assertEqual(metric(cluster, job_id, "numRestarts"), 1)
            # Then rescale 2 -> 3 through a savepoint: the new job reloads the plugin from the
            # blob store; keyed state, timers and every subtask's copy of the broadcast rules
            # are restored at the new parallelism.
            r = cluster.cli("rescale", job_id, "--parallelism", "3", "--dir",
                            os.path.join(cluster.dir, "savepoints"), timeout_s=180)
            self.assertEqual(r.returncode, 0, r.describe())
            match = re.search(r"as job ([0-9a-f]{32})", r.stdout)
            self.assertIsNotNone(match, r.describe())
            rescaled = match.group(1)
            job = cluster.wait_for_job_state(rescaled, {"FINISHED", "FAILED", "CANCELED"}, 300, 0.2)
            self.assertEqual(job["state"], "FINISHED", job)
            fetched = [tm.name for tm in cluster.taskmanagers
                       if key[0] in os.listdir(cluster.blob_dir(tm.name))]
            self.assertGreaterEqual(len(fetched), 2, fetched)
            actual_alerts = read_output(os.path.join(out, "alerts"))
            actual_near = read_output(os.path.join(out, "near-misses"))
            self.assertEqual(len(actual_alerts), len(alerts), "alerts lost or duplicated")
            self.assertEqual(sorted(actual_alerts), alerts)
            self.assertEqual(sorted(actual_near), near)


if __name__ == "__main__":
    harness.main()
