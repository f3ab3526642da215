"""TaskManager kills during a running job, shared by the chaos tests (recovery, Kafka).

Waits are conditions with deadlines. The random delay before each kill chooses the moment; it is
not synchronisation (each kill waits for recovery and a fresh completed checkpoint first).
"""

import json
import time

from testing.harness import wait_until


def metric(cluster, job_id, name):
    """The job metric `name` from REST /jobs/:id/metrics, as int; None if not reported."""
    values = cluster.rest_json(f"/jobs/{job_id}/metrics?get={name}")
    return int(values[0]["value"]) if values else None


def kill_taskmanagers(cluster, job_id, kills, rng, on_running=None):
    """Kills `kills` TaskManagers that run subtasks of the job, one after the other, with SIGKILL,
    starting a replacement each time.

    Before each kill: the job is RUNNING with every subtask RUNNING and has completed a
    checkpoint after the previous kill; then a random 0.2-3 s pause (rng) picks the moment.
    After each kill: waits until numRestarts counts it. `on_running(k)` runs before kill k
    (e.g. to check metrics). Fails if the job ends first. Returns the killed TaskManager ids.
    """
    seen = {}
    killed = []

    def recovered_with_fresh_checkpoint(min_completed):
        job = cluster.job(job_id)
        seen["job"] = job
        if job.get("state") in ("FINISHED", "FAILED", "CANCELED"):
            raise AssertionError(f"job ended {job.get('state')} before kill {len(killed) + 1}: "
                                 f"{job.get('failure-cause', '')}")
        subtasks = [s for v in job["vertices"] for s in v["subtasks"]]
        if job.get("state") != "RUNNING" or any(s["status"] != "RUNNING" for s in subtasks):
            return None
        completed = metric(cluster, job_id, "numberOfCompletedCheckpoints") or 0
        return subtasks if completed >= min_completed else None

    for k in range(1, kills + 1):
        before = metric(cluster, job_id, "numberOfCompletedCheckpoints") or 0
        subtasks = wait_until(lambda: recovered_with_fresh_checkpoint(before + 1), 60,
                              lambda: f"recovery and a new checkpoint before kill {k}: "
                                      f"{json.dumps(seen.get('job'))[:2000]}")
        if on_running is not None:
            on_running(k)
        time.sleep(rng.uniform(0.2, 3.0))  # a random moment, not synchronisation
        busy = {s["taskmanager-id"] for s in subtasks}
        candidates = [tm for tm in cluster.taskmanagers if tm.alive() and tm.id in busy]
        if not candidates:
            raise AssertionError(f"no live TaskManager runs subtasks: {busy}")
        victim = rng.choice(candidates)
        victim.kill()
        victim.popen.wait(timeout=10)
        killed.append(victim.id)
        print(f"kill {k}: SIGKILL {victim.name} ({victim.id})", flush=True)
        cluster.add_taskmanager()
        wait_until(lambda: (metric(cluster, job_id, "numRestarts") or 0) >= k, 30,
                   f"restart {k} after killing {victim.id}")
    return killed
