#!/usr/bin/env python3
"""Losing a TaskManager mid-job fails the job promptly and names the lost TaskManager.

Until recovery from checkpoints lands (issue #3), a job whose TaskManager dies cannot continue:
it must reach FAILED, not hang in RUNNING. The test runs a JobManager and two TaskManagers
(2 slots each) as processes, submits the flight-delays job on the full data set at parallelism 4
(so every TaskManager runs subtasks), waits until REST shows the job RUNNING with records flowing,
kill -9s one TaskManager and checks
  - the job reaches FAILED within 60 s and never FINISHED;
  - its failure-cause names the killed TaskManager: its id or its address as REST /taskmanagers
    listed them (the first failure observed may be the JobManager's heartbeat timeout or a
    surviving task's broken data channel to the dead TaskManager; both must name it);
  - the JobManager drops the dead TaskManager from /taskmanagers;
  - the JobManager and the surviving TaskManager still exit 0 on SIGTERM.

Determinism: the kill happens as soon as the condition "RUNNING and records > 0" is observed.
The source lists the full file SOURCE_COPIES times (one gzip split per source subtask, 24 million
rows in all), so the job runs for many seconds while the kill comes within a fraction of one; if
it ever finished before the kill, the test fails saying the job is too light, never passes by
accident. The output is not checked here (the counts are multiplied), only the failure.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness, specs  # noqa: E402
from testing.cluster import Cluster, subtask_records  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402

PARALLELISM = 4
RUNNING_DEADLINE_S = 120
FAILED_DEADLINE_S = 60
HEARTBEAT_INTERVAL_MS = 500
HEARTBEAT_TIMEOUT_MS = 5000
SOURCE_COPIES = 8


class TaskManagerLossTest(unittest.TestCase):

    def test_killed_taskmanager_fails_the_job(self):
        data = Config.shared_data("flights-3m.csv.gz")
        with Cluster(taskmanagers=2, slots=2, name="tm-loss",
                     heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
                     heartbeat_timeout_ms=HEARTBEAT_TIMEOUT_MS) as cluster:
            out_dir = os.path.join(cluster.dir, "out")
            spec = specs.write_example_copy(Config.repo, cluster.dir,
                                            source_path=[data] * SOURCE_COPIES,
                                            sink_path=out_dir,
                                            top_level={"name": "tm-loss"})
            job_id = cluster.submit(spec, parallelism=PARALLELISM)

            last = {}

            def running_with_records():
                nonlocal last
                last = cluster.job(job_id)
                state = last.get("state")
                if state in ("FINISHED", "FAILED", "CANCELED"):
                    raise AssertionError(
                        f"job reached {state} before the TaskManager could be killed; "
                        f"the job is too light to be interrupted reliably, make it heavier. "
                        f"Job: {json.dumps(last)[:3000]}")
                return state == "RUNNING" and subtask_records(last) > 0

            wait_until(running_with_records, RUNNING_DEADLINE_S,
                       lambda: f"job {job_id} RUNNING with records flowing; last: "
                               f"{json.dumps(last)[:2000]}", interval_s=0.01)

            victim, survivor = cluster.taskmanagers[1], cluster.taskmanagers[0]
            self.assertTrue(victim.id, f"no id in /taskmanagers entry {victim.rest_entry}")
            victim.kill()
            victim.popen.wait(timeout=10)
            killed_at = time.monotonic()

            job = cluster.wait_for_job_state(job_id, {"FAILED"}, FAILED_DEADLINE_S, 0.1)
            print(f"job FAILED {time.monotonic() - killed_at:.2f} s after the kill")
            cause = job.get("failure-cause", "")
            print(f"failure-cause: {cause}")
            names = [n for n in (victim.id, victim.rest_entry.get("path")) if n]
            self.assertTrue(any(n in cause for n in names),
                            f"failure-cause should name the lost TaskManager (one of {names}); "
                            f"got: {cause!r}")
            self.assertNotIn(survivor.id, cause.replace(victim.id, ""),
                             f"failure-cause should not blame the surviving TaskManager: "
                             f"{cause!r}")

            def victim_dropped():
                ids = [str(e.get("id")) for e in cluster.rest_taskmanagers()]
                return victim.id not in ids and survivor.id in ids

            wait_until(victim_dropped, 30,
                       lambda: f"the JobManager to drop {victim.id} from /taskmanagers: "
                               f"{cluster.rest_taskmanagers()}")

            self.assertTrue(survivor.alive(), "the surviving TaskManager should keep running")
            self.assertTrue(cluster.jobmanager.alive(), "the JobManager should keep running")
            codes = cluster.stop()
            codes.pop(victim.name)
            self.assertEqual(codes, {name: 0 for name in codes},
                             "the JobManager and the surviving TaskManager should exit 0 on "
                             "SIGTERM")

    def test_frozen_taskmanager_is_lost_by_heartbeat_timeout(self):
        """SIGSTOP keeps the victim's sockets open, so no data stream breaks: only the
        JobManager's heartbeat timeout can notice. The job must fail naming the heartbeat; after
        SIGCONT the victim learns it was dropped, cancels its tasks and registers again."""
        import signal
        data = Config.shared_data("flights-3m.csv.gz")
        with Cluster(taskmanagers=2, slots=2, name="tm-frozen",
                     heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
                     heartbeat_timeout_ms=2000) as cluster:
            spec = specs.write_example_copy(Config.repo, cluster.dir,
                                            source_path=[data] * SOURCE_COPIES,
                                            sink_path=os.path.join(cluster.dir, "out"),
                                            top_level={"name": "tm-frozen"})
            job_id = cluster.submit(spec, parallelism=PARALLELISM)
            wait_until(lambda: (lambda j: j.get("state") == "RUNNING"
                                and subtask_records(j) > 0)(cluster.job(job_id)),
                       RUNNING_DEADLINE_S, lambda: f"job {job_id} RUNNING with records",
                       interval_s=0.01)
            victim = cluster.taskmanagers[1]
            victim.kill(signal.SIGSTOP)
            try:
                job = cluster.wait_for_job_state(job_id, {"FAILED"}, FAILED_DEADLINE_S, 0.1)
            finally:
                victim.kill(signal.SIGCONT)
            cause = job.get("failure-cause", "")
            print(f"failure-cause: {cause}")
            self.assertIn("no heartbeat", cause)
            self.assertIn(victim.id, cause)

            def victim_registered_again():
                ids = [str(e.get("id")) for e in cluster.rest_taskmanagers()]
                return victim.id in ids

            wait_until(victim_registered_again, 30,
                       lambda: f"{victim.id} to register again after SIGCONT: "
                               f"{cluster.rest_taskmanagers()}")
            codes = cluster.stop()
            self.assertEqual(codes, {name: 0 for name in codes},
                             "all daemons should exit 0 on SIGTERM")


if __name__ == "__main__":
    harness.main()
