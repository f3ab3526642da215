#!/usr/bin/env python3
"""The web dashboard served by the JobManager at `/`, driven in headless Chromium.

test_dashboard_shows_a_running_job_and_cancels_it:
  A cluster of a JobManager and two TaskManagers (2 slots each) runs a long-running job (an
  unbounded DataGen source at parallelism 1 -> keyed 2 s tumbling windows at parallelism 2 ->
  a blackhole sink at parallelism 1: three vertices, checkpoints every 2 s). Once all its
  subtasks run and a checkpoint completed, tests/browser/dashboard_check.mjs (playwright-core
  driving Debian's /usr/bin/chromium, headless, fresh profile) opens
  http://127.0.0.1:<rest port>/ and checks against REST: the job is in the running jobs; the job
  page's graph has a box for every vertex of GET /jobs/<id> with its exact name and status, one
  edge per plan input, and a records/s figure; a checkpoint REST reports COMPLETED is in the
  checkpoint history; the TaskManagers view lists both TaskManagers with their slots; Cancel
  (confirmed in the page's dialog) makes REST report CANCELED and the page then shows CANCELED.
  Screenshots (overview, job graph, checkpoints, taskmanagers, after cancel; failure.png when
  a check failed) are saved under <bin-dir>/../test-artifacts/dashboard/.

Needs Node.js and playwright-core (`npm ci --prefix tests/browser --no-audit --no-fund`, which
scripts/install-deps.sh runs) and Debian's chromium package. The test fails (it never skips)
when one of them is missing, naming the command that installs it.
"""

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ("overview", "job-graph", "checkpoints", "taskmanagers", "after-cancel")
BROWSER_TIMEOUT_S = 240

SPEC = """name: dashboard-demo
parallelism: 2
checkpointing:
  interval: 2 s
  dir: {checkpoints}
source:
  name: clicks
  type: datagen
  parallelism: 1
  rows-per-second: 2000
  batch-size: 100
  schema: {{user: int64, amount: double, ts: timestamp}}
  fields:
    user: {{kind: random, min: 0, max: 999}}
    amount: {{kind: random, min: 0, max: 100}}
    ts: {{kind: now}}
  event-time: {{field: ts, max-out-of-orderness: 1 s}}
pipeline:
  - key-by: [user]
  - window:
      size: 2 s
      aggregates: {{clicks: count(), total: sum(amount)}}
    name: per-user
sink:
  name: totals
  type: blackhole
  parallelism: 1
"""


def _browser_preexec():
    """The driver gets its own process group (killed as a whole, Chromium included) and dies
    with the test process."""
    os.setsid()
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class BrowserDriver:
    """Runs `node dashboard_check.mjs ...`; its process group is killed on timeout and at exit."""

    def __init__(self, argv, cwd):
        self.popen = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      preexec_fn=_browser_preexec)
        harness.on_cleanup(self.kill)

    def kill(self):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait()

    def run(self, timeout_s):
        """Returns (exit code, output); exit code None when it timed out (and was killed)."""
        try:
            out, _ = self.popen.communicate(timeout=timeout_s)
            code = self.popen.returncode
        except subprocess.TimeoutExpired:
            self.kill()
            out, _ = self.popen.communicate()
            code = None
        # Chromium helpers left behind by a crashed driver.
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return code, out.decode("utf-8", "replace")


def browser_dir():
    return os.path.join(Config.repo, "tests", "browser")


def require_browser_tools(test):
    """Fails (with the command that fixes it) when Node.js, playwright-core or Chromium is missing."""
    node = shutil.which("node")
    if node is None:
        test.fail("Node.js is not installed (`node` not on PATH); the dashboard test drives "
                  "Chromium with playwright-core on Node.js 20")
    package = os.path.join(browser_dir(), "node_modules", "playwright-core", "package.json")
    if not os.path.exists(package):
        test.fail(f"playwright-core is not installed ({package} missing): run "
                  f"`npm ci --prefix {browser_dir()} --no-audit --no-fund` "
                  "(scripts/install-deps.sh does it)")
    if not os.access(CHROMIUM, os.X_OK):
        test.fail(f"no Chromium at {CHROMIUM}: run `apt-get install chromium` "
                  "(scripts/install-deps.sh does it)")
    return node


def artifacts_dir():
    path = os.path.normpath(os.path.join(Config.bin_dir, "..", "test-artifacts", "dashboard"))
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".png"):
            os.remove(os.path.join(path, name))
    return path


def completed_checkpoints(cluster, job_id):
    stats = cluster.rest_json(f"/jobs/{job_id}/checkpoints")
    return int(stats.get("counts", {}).get("completed", 0))


def all_subtasks_running(cluster, job_id):
    job = cluster.job(job_id)
    vertices = job.get("vertices", [])
    return job.get("state") == "RUNNING" and vertices and all(
        v.get("status") == "RUNNING" and all(s.get("status") == "RUNNING" for s in v["subtasks"])
        for v in vertices)


class DashboardTest(unittest.TestCase):

    def test_dashboard_shows_a_running_job_and_cancels_it(self):
        node = require_browser_tools(self)
        out = artifacts_dir()
        with Cluster(taskmanagers=2, slots=2, name="dashboard") as cluster:
            spec = os.path.join(cluster.dir, "dashboard-demo.yaml")
            with open(spec, "w") as f:
                f.write(SPEC.format(checkpoints=json.dumps(os.path.join(cluster.dir, "chk"))))
            job_id = cluster.submit(spec)
            cluster.wait_for_job_state(job_id, {"RUNNING"}, timeout_s=60)
            wait_until(lambda: all_subtasks_running(cluster, job_id), 60,
                       lambda: f"every subtask RUNNING: {json.dumps(cluster.job(job_id))[:2000]}")
            wait_until(lambda: completed_checkpoints(cluster, job_id) >= 1, 60,
                       "a completed checkpoint")
            vertices = [v["name"] for v in cluster.job(job_id)["vertices"]]
            self.assertEqual(len(vertices), 3, f"expected 3 vertices, REST reports {vertices}")

            # The dashboard must be served by the JobManager itself, at /.
            status, body = cluster.rest("/")
            self.assertEqual(status, 200, f"the JobManager does not serve the dashboard at /: "
                                          f"HTTP {status}: {str(body)[:300]}")
            self.assertIn("app.js", str(body), f"GET / is not the dashboard: {str(body)[:300]}")

            url = f"http://127.0.0.1:{cluster.rest_port}/"
            argv = [node, os.path.join(browser_dir(), "dashboard_check.mjs"), "--url", url,
                    "--job", job_id, "--out", out, "--chromium", CHROMIUM]
            print(f"$ {' '.join(argv)}", flush=True)
            code, output = BrowserDriver(argv, browser_dir()).run(BROWSER_TIMEOUT_S)
            print(output, flush=True)
            if code is None:
                self.fail(f"the browser check did not end within {BROWSER_TIMEOUT_S} s")
            self.assertEqual(code, 0, f"the browser check failed (exit {code}); see its output "
                                      f"above and the screenshots in {out}")

            state = cluster.job(job_id)["state"]
            self.assertEqual(state, "CANCELED", "the job is not CANCELED after the page's Cancel")

        for name in SCREENSHOTS:
            path = os.path.join(out, f"{name}.png")
            self.assertTrue(os.path.exists(path), f"screenshot {path} missing")
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
            print(f"artifact: {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    harness.main()
