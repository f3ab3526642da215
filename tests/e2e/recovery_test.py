#!/usr/bin/env python3
"""Checkpoints, failure recovery and exactly-once output (issue #3), on real processes.

test_three_taskmanager_kills_exactly_once (the chaos test):
  A JobManager and three TaskManagers (2 slots each) run the flight-delays job on the full
  3-million-row file at parallelism 2, the source rate-limited so the job runs for 30+ s, with a
  checkpoint every second, the RocksDB backend with incremental checkpoints, and the
  exactly-once file sink. Three times, at a random moment after
  the job has recovered and completed a new checkpoint, a TaskManager that runs subtasks is
  killed with SIGKILL and a replacement TaskManager is started. The job must finish, its
  committed output must equal the reference computed independently from the CSV (no row lost,
  none duplicated), numRestarts must be 3, and the exception history must hold the 3 losses.
  Incremental checkpoints: some checkpoint uploads less than the full state, every shared file
  of the retained checkpoint exists, and unreferenced shared files were deleted. RocksDB's
  gauges (rocksdb.estimate-num-keys, ...) appear in the job metrics.

test_cancel_then_resume_from_checkpoint:
  With incremental RocksDB checkpoints, the job is cancelled after two completed checkpoints; `sluice run --from-checkpoint` on the
  latest retained checkpoint finishes it. The committed output of both runs together equals the
  reference exactly (the restore commits that checkpoint's pending files and drops later ones),
  and `sluice checkpoints` shows the history.

test_always_failing_operator_ends_failed_after_attempts:
  A filter that divides by zero fails on its first record. With restart-strategy fixed-delay,
  2 attempts, the job restarts twice and then ends FAILED; /jobs/:id/exceptions carries the
  cause as root exception and 3 history entries; numRestarts is 2.

Waits are conditions with deadlines; the kills are testing/chaos.py's (a random moment after
recovery and a fresh checkpoint).
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import chaos, harness, reference  # noqa: E402
from testing.chaos import metric  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402

KILLS = 3
RATE = 90000  # rows per second of the one reading source subtask: 3M rows take ~33 s

SPEC = """name: {name}
parallelism: 2
checkpointing:
  interval: 1 s
  dir: {checkpoints}
{state}
{restart}
source:
  name: flights
  type: file
  path: {data}
  rate: {rate}
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
{extra_steps}  - key-by: [origin]
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


# Incremental RocksDB checkpoints (state.backend.incremental defaults to true with rocksdb).
ROCKSDB = "state:\n  backend: rocksdb\n"


def write_spec(cluster, name, data, rate=RATE, restart="", extra_steps="", state=""):
    out = os.path.join(cluster.dir, "out")
    path = os.path.join(cluster.dir, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(SPEC.format(name=name, checkpoints=json.dumps(os.path.join(cluster.dir, "chk")),
                            restart=restart, data=json.dumps(data), rate=rate, state=state,
                            extra_steps=extra_steps, out=json.dumps(out)))
    return path, out


def shared_files(cluster, job_id):
    """(files present in the job's shared/ dir, files the retained checkpoints reference)."""
    job_dir = os.path.join(cluster.dir, "chk", job_id)
    shared_dir = os.path.join(job_dir, "shared")
    present = {os.path.join(shared_dir, f) for f in os.listdir(shared_dir)}
    referenced = set()
    for d in os.listdir(job_dir):
        meta = os.path.join(job_dir, d, "_metadata")
        if not d.startswith("chk-") or not os.path.exists(meta):
            continue
        with open(meta) as f:
            md = json.load(f)
        for st in md["subtasks"]:
            for op in st["operators"]:
                for name, rel, size, uploaded_by in op.get("incremental", {}).get("shared-files", []):
                    referenced.add(os.path.normpath(os.path.join(job_dir, d, rel)))
    return present, referenced


class RecoveryTest(unittest.TestCase):

    def test_three_taskmanager_kills_exactly_once(self):
        data = Config.shared_data("flights-3m.csv.gz")
        expected = reference.flight_delays(data)
        rng = random.Random(os.environ.get("SLUICE_CHAOS_SEED"))
        with Cluster(taskmanagers=3, slots=2, name="chaos") as cluster:
            spec, out = write_spec(cluster, "chaos", data, state=ROCKSDB)
            job_id = cluster.submit(spec)

            shared = {"seen": set(), "largest": 0}
            shared_dir = os.path.join(cluster.dir, "chk", job_id, "shared")

            def sample_shared_dir():
                # Every shared file ever seen, and the most present at once: without deletion
                # the directory only grows, so the largest listing would hold every file seen.
                try:
                    present = set(os.listdir(shared_dir))
                except FileNotFoundError:
                    return
                shared["seen"] |= present
                shared["largest"] = max(shared["largest"], len(present))

            def check_running_job(k):
                sample_shared_dir()
                if k == 1:
                    # RocksDB's own gauges reach the job metrics (heartbeats, ~1 s refresh).
                    for gauge in ("rocksdb.estimate-num-keys", "rocksdb.total-sst-files-size",
                                  "state.size-bytes"):
                        wait_until(lambda: (metric(cluster, job_id, gauge) or 0) > 0, 10,
                                   f"job metric {gauge} > 0")
                if k == KILLS:
                    # While the job runs (a FINISHED job's checkpoints are discarded): every file
                    # the retained checkpoints need exists. Checkpoints complete meanwhile, so
                    # the listing is retried until it is a consistent snapshot.
                    def consistent():
                        try:
                            present, referenced = shared_files(cluster, job_id)
                        except (FileNotFoundError, json.JSONDecodeError):
                            return False  # a checkpoint was being subsumed as it was read
                        shared.update(present=present, referenced=referenced,
                                      completed=metric(cluster, job_id,
                                                       "numberOfCompletedCheckpoints"))
                        return referenced and referenced <= present
                    wait_until(consistent, 30, lambda: "the retained checkpoints' shared files "
                               "to be present: "
                               f"{sorted(shared.get('referenced', set()) - shared.get('present', set()))}")

            kills = chaos.kill_taskmanagers(cluster, job_id, KILLS, rng, check_running_job)

            def ended():
                sample_shared_dir()
                return cluster.job(job_id).get("state") in ("FINISHED", "FAILED", "CANCELED")
            wait_until(ended, 300, "the job to end", interval_s=0.2)

            job = cluster.wait_for_job_state(job_id, {"FINISHED"}, 300, 0.2)
            self.assertEqual(metric(cluster, job_id, "numRestarts"), KILLS,
                             "one restart per killed TaskManager")
            exceptions = cluster.rest_json(f"/jobs/{job_id}/exceptions")
            history = exceptions["exceptionHistory"]["entries"]
            self.assertGreaterEqual(len(history), KILLS)
            for victim in kills:
                self.assertTrue(any(victim in e["stacktrace"] or "lost" in e["stacktrace"]
                                    for e in history), f"no exception names {victim}")
            checkpoints = cluster.rest_json(f"/jobs/{job_id}/checkpoints")
            self.assertGreaterEqual(checkpoints["counts"]["completed"], KILLS + 1)
            self.assertEqual(checkpoints["counts"]["restored"], KILLS)
            print(f"job {job['state']}; checkpoints {checkpoints['counts']}", flush=True)
            reference.assert_output_matches(self, out, expected)
            # Incremental checkpoints: some checkpoint uploaded less than the full state, every
            # file the retained checkpoint needs exists (checked while the job ran), and
            # unreferenced shared files were deleted as checkpoints were subsumed (sampled while
            # the job ran: more files were seen over time than were ever present at once).
            history = checkpoints["history"]
            self.assertTrue(any(h["status"] == "COMPLETED" and
                                h["checkpointed_size"] < h["state_size"] for h in history),
                            json.dumps(history)[:3000])
            print(f"shared files before kill {KILLS}: {len(shared['present'])} present, "
                  f"{len(shared['referenced'])} referenced, {shared['completed']} checkpoints "
                  f"completed; {len(shared['seen'])} seen in all, at most "
                  f"{shared['largest']} at once", flush=True)
            self.assertLess(shared["largest"], len(shared["seen"]),
                            "unreferenced shared files are deleted")
            # Flink discards a FINISHED job's checkpoints: its directory goes with them.
            job_dir = os.path.join(cluster.dir, "chk", job_id)
            wait_until(lambda: not os.path.exists(job_dir), 30,
                       lambda: f"{job_dir} to be deleted: {os.listdir(job_dir)}")

    def test_cancel_then_resume_from_checkpoint(self):
        data = Config.shared_data("flights-3m.csv.gz")
        expected = reference.flight_delays(data)
        with Cluster(taskmanagers=2, slots=2, name="resume") as cluster:
            spec, out = write_spec(cluster, "resume", data, rate=150000, state=ROCKSDB)
            job_id = cluster.submit(spec)
            wait_until(lambda: (metric(cluster, job_id, "numberOfCompletedCheckpoints") or 0) >= 2,
                       60, "two completed checkpoints")
            cancel = cluster.cli("cancel", job_id)
            self.assertEqual(cancel.returncode, 0, cancel.describe())
            cluster.wait_for_job_state(job_id, {"CANCELED"}, 60, 0.1)
            stats = cluster.rest_json(f"/jobs/{job_id}/checkpoints")
            latest = stats["latest"]["completed"]
            self.assertIsNotNone(latest, json.dumps(stats)[:2000])
            path = latest["external_path"]
            self.assertTrue(os.path.exists(os.path.join(path, "_metadata")), path)
            listing = cluster.cli("checkpoints", job_id)
            self.assertEqual(listing.returncode, 0, listing.describe())
            self.assertIn("completed", listing.stdout)
            self.assertIn(str(latest["id"]), listing.stdout)

            resumed = cluster.cli("run", spec, "--from-checkpoint", path, timeout_s=300)
            self.assertEqual(resumed.returncode, 0, resumed.describe())
            new_id = resumed.job_id()
            self.assertNotEqual(new_id, job_id)
            restored = cluster.rest_json(f"/jobs/{new_id}/checkpoints")["latest"]["restored"]
            self.assertEqual(restored["id"], latest["id"])
            reference.assert_output_matches(self, out, expected)

    def test_always_failing_operator_ends_failed_after_attempts(self):
        data = Config.shared_data("flights-3m.csv.gz")
        with Cluster(taskmanagers=1, slots=2, name="always-fails") as cluster:
            spec, _ = write_spec(
                cluster, "always-fails", data, rate=0,
                restart="restart-strategy:\n  type: fixed-delay\n  attempts: 2\n  delay: 100 ms",
                extra_steps='  - filter: "delay / (distance - distance) > 0"\n')
            job_id = cluster.submit(spec)
            job = cluster.wait_for_job_state(job_id, {"FAILED"}, 120, 0.1)
            self.assertIn("division by zero", job.get("failure-cause", ""))
            self.assertEqual(metric(cluster, job_id, "numRestarts"), 2)
            exceptions = cluster.rest_json(f"/jobs/{job_id}/exceptions")
            self.assertIn("division by zero", exceptions["root-exception"])
            entries = exceptions["exceptionHistory"]["entries"]
            self.assertEqual(len(entries), 3, json.dumps(entries)[:2000])
            for e in entries:
                self.assertIn("division by zero", e["stacktrace"])
                self.assertTrue(e["taskName"].startswith("Source: flights -> Filter"), e)


if __name__ == "__main__":
    harness.main()
