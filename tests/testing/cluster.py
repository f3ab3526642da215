"""A Sluice cluster of real processes for end-to-end tests and benchmarks.

Cluster starts one sluice-jobmanager (ephemeral ports reported through --ports-file) and N
sluice-taskmanager processes on loopback, each logging to its own file in a temp dir, and waits
for every TaskManager to show up in the JobManager's REST /taskmanagers. It submits jobs through
the sluice CLI and polls REST /jobs/<id> with deadlines.

Process hygiene: every child gets PR_SET_PDEATHSIG=SIGKILL (it dies with the test process even
if ctest kills the test with SIGKILL), every child is registered for an atexit kill, and the
daemon logs are printed when a test failed (harness.on_failure).

Usage:
    with Cluster(taskmanagers=2, slots=2) as c:
        job_id = c.submit(spec_path, parallelism=4)          # sluice run --detached
        job = c.wait_for_job_state(job_id, {"FINISHED"}, timeout_s=600)
"""

import ctypes
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

from testing import harness
from testing.harness import Config, wait_until

TERMINAL_JOB_STATES = frozenset({"FINISHED", "FAILED", "CANCELED"})
JOB_ID_RE = re.compile(r"Job has been submitted with JobID ([0-9a-f]{32})")

_PR_SET_PDEATHSIG = 1
_live_processes = []  # Popen objects not yet reaped; killed at exit


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies (Linux prctl)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def _kill_all_live():
    for p in list(_live_processes):
        if p.poll() is None:
            try:
                p.kill()
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        _live_processes.remove(p)


harness.on_cleanup(_kill_all_live)


def cpu_seconds(pid):
    """utime + stime of a live process in seconds, from /proc/<pid>/stat (fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class Daemon:
    """One daemon process with its log file."""

    def __init__(self, name, argv, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        _live_processes.append(self.popen)
        self.id = None          # TaskManagers: the id the JobManager reports in /taskmanagers
        self.rest_entry = None  # TaskManagers: their /taskmanagers entry at registration

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            os.kill(self.popen.pid, sig)

    def stop(self, timeout_s=20):
        """SIGTERM, then waits; SIGKILL after timeout_s. Returns the exit code (None: had to kill)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
                self._close()
                return None
        self._close()
        return self.popen.returncode

    def _close(self):
        if self.popen in _live_processes:
            _live_processes.remove(self.popen)
        if not self._log.closed:
            self._log.close()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError as e:
            return f"<cannot read {self.log_path}: {e}>"


class CliResult:
    """Outcome of one sluice CLI invocation."""

    def __init__(self, argv, returncode, stdout, stderr, cpu_s, wall_s):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.cpu_s = cpu_s
        self.wall_s = wall_s

    def job_id(self):
        m = JOB_ID_RE.search(self.stdout)
        if not m:
            raise AssertionError(f"expected 'Job has been submitted with JobID <32 hex>' in the "
                                 f"output of {' '.join(self.argv)}, found:\n{self.describe()}")
        return m.group(1)

    def describe(self):
        return (f"$ {' '.join(self.argv)}\nexit code: {self.returncode}\n"
                f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}")


def run_cli(args, timeout_s=120, log_dir=None):
    """Runs `sluice <args>`; returns a CliResult (CPU time from the child's rusage)."""
    import resource
    argv = [Config.binary("sluice")] + [str(a) for a in args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    _live_processes.append(p)
    try:
        out, err = p.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"timed out after {timeout_s} s: {' '.join(argv)}\n"
                             f"--- stdout ---\n{out.decode(errors='replace')}\n"
                             f"--- stderr ---\n{err.decode(errors='replace')}")
    finally:
        if p in _live_processes and p.poll() is not None:
            _live_processes.remove(p)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = CliResult(argv, p.returncode, out.decode("utf-8", "replace"),
                       err.decode("utf-8", "replace"), cpu, wall)
    if log_dir:
        with open(os.path.join(log_dir, "cli.log"), "a") as f:
            f.write(result.describe() + "\n")
    return result


def http_get(host, port, path, timeout_s=10):
    """GET http://host:port/path; returns (status, parsed JSON or raw text)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        try:
            return resp.status, json.loads(body)
        except ValueError:
            return resp.status, body
    finally:
        conn.close()


def subtask_records(job):
    """Sum of read-records + write-records over all subtasks of all vertices of a /jobs/<id> body."""
    total = 0
    for v in job.get("vertices", []):
        for s in v.get("subtasks", []):
            m = s.get("metrics", {})
            total += int(m.get("read-records", 0)) + int(m.get("write-records", 0))
    return total


class Cluster:
    """A JobManager and N TaskManagers as separate processes on 127.0.0.1.

    Lifecycle: construct, start() (or `with`), use, stop(). stop() is idempotent and also runs
    at interpreter exit. Not thread-safe; use from the test's main thread.
    """

    def __init__(self, taskmanagers=2, slots=2, name="cluster", heartbeat_interval_ms=None,
                 heartbeat_timeout_ms=None, startup_timeout_s=30, daemon_config=None):
        self.num_taskmanagers = taskmanagers
        self.slots = slots
        self.name = name
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.heartbeat_timeout_ms = heartbeat_timeout_ms
        self.startup_timeout_s = startup_timeout_s
        # daemon name ("jobmanager", "taskmanager-0", ...) -> extra config.yaml keys
        self.daemon_config = daemon_config or (lambda name: {})
        self.dir = harness.make_temp_dir(name)
        self.log_dir = os.path.join(self.dir, "logs")
        os.makedirs(self.log_dir)
        self.jobmanager = None
        self.taskmanagers = []
        self.rpc_port = None
        self.rest_port = None
        self._stopped = False
        harness.on_failure(self.dump_logs)
        harness.on_cleanup(self.stop)

    # ---- lifecycle ----

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.dump_logs()
            self.stop()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        self.stop()
        return False

    def start(self):
        ports_file = os.path.join(self.dir, "jobmanager.ports")
        argv = [Config.binary("sluice-jobmanager"), "--rpc-port", "0", "--rest-port", "0",
                "--bind-host", "127.0.0.1", "--ports-file", ports_file,
                "--config", self._daemon_config("jobmanager")]
        if self.heartbeat_interval_ms is not None:
            argv += ["--heartbeat-interval", str(self.heartbeat_interval_ms)]
        if self.heartbeat_timeout_ms is not None:
            argv += ["--heartbeat-timeout", str(self.heartbeat_timeout_ms)]
        self.jobmanager = Daemon("jobmanager", argv, os.path.join(self.log_dir, "jobmanager.log"))

        def ports_ready():
            self._check_alive(self.jobmanager)
            try:
                with open(ports_file) as f:
                    text = f.read()
            except FileNotFoundError:
                return None
            ports = dict(line.split("=", 1) for line in text.split() if "=" in line)
            if "rpc" in ports and "rest" in ports:
                return int(ports["rpc"]), int(ports["rest"])
            return None

        self.rpc_port, self.rest_port = wait_until(
            ports_ready, self.startup_timeout_s, f"the JobManager to write {ports_file}")
        wait_until(self._rest_up, self.startup_timeout_s, "the JobManager REST endpoint")
        for _ in range(self.num_taskmanagers):
            self.add_taskmanager()

    def blob_dir(self, daemon_name):
        """The blob store (job plugins) of a daemon: each has its own, so TaskManagers fetch."""
        return os.path.join(self.dir, "blobs", daemon_name)

    def _daemon_config(self, daemon_name):
        path = os.path.join(self.dir, f"{daemon_name}.yaml")
        with open(path, "w") as f:
            f.write(f"blob.storage.directory: {json.dumps(self.blob_dir(daemon_name))}\n")
            for key, value in self.daemon_config(daemon_name).items():
                f.write(f"{key}: {json.dumps(value)}\n")
        return path

    def add_taskmanager(self, slots=None):
        """Starts one more TaskManager and waits until REST lists it; returns its Daemon.

        TaskManagers are started one at a time so that the new /taskmanagers entry identifies
        which process it is (its `id` is what failure causes should name).
        """
        index = len(self.taskmanagers)
        argv = [Config.binary("sluice-taskmanager"), "--jobmanager",
                f"127.0.0.1:{self.rpc_port}", "--slots", str(slots or self.slots),
                "--host", "127.0.0.1", "--metrics-port", "0",
                "--config", self._daemon_config(f"taskmanager-{index}")]
        known = {self._tm_key(e) for e in self.rest_taskmanagers()}
        tm = Daemon(f"taskmanager-{index}", argv,
                    os.path.join(self.log_dir, f"taskmanager-{index}.log"))
        self.taskmanagers.append(tm)

        def registered():
            self._check_alive(tm)
            new = [e for e in self.rest_taskmanagers() if self._tm_key(e) not in known]
            return new[0] if new else None

        entry = wait_until(registered, self.startup_timeout_s,
                           f"{tm.name} to appear in REST /taskmanagers")
        tm.rest_entry = entry
        tm.id = str(entry.get("id", ""))
        return tm

    def stop(self, timeout_s=20):
        """Stops TaskManagers then the JobManager with SIGTERM; returns {name: exit code}."""
        codes = {}
        if self._stopped:
            return codes
        self._stopped = True
        for d in self.taskmanagers + ([self.jobmanager] if self.jobmanager else []):
            codes[d.name] = d.stop(timeout_s)
        return codes

    # ---- REST ----

    def rest(self, path):
        return http_get("127.0.0.1", self.rest_port, path)

    def rest_json(self, path, expect_status=200):
        status, body = self.rest(path)
        if status != expect_status:
            raise AssertionError(f"GET {path}: expected HTTP {expect_status}, got {status}: {body}")
        return body

    def rest_taskmanagers(self):
        status, body = self.rest("/taskmanagers")
        if status != 200 or not isinstance(body, dict):
            return []
        return body.get("taskmanagers", [])

    def job(self, job_id):
        return self.rest_json(f"/jobs/{job_id}")

    def wait_for_job_state(self, job_id, states, timeout_s, interval_s=0.1):
        """Polls /jobs/<id> until its state is in `states` (or terminal); returns the job JSON.

        Fails if the job reaches a terminal state that is not wanted, or at the deadline.
        """
        states = set(states)
        last = {}

        def reached():
            nonlocal last
            last = self.job(job_id)
            state = last.get("state")
            if state in states:
                return last
            if state in TERMINAL_JOB_STATES:
                raise AssertionError(f"job {job_id} reached {state}, expected one of "
                                     f"{sorted(states)}; job: {json.dumps(last)[:4000]}")
            return None

        return wait_until(reached, timeout_s,
                          lambda: f"job {job_id} to reach {sorted(states)}; last state "
                                  f"{last.get('state')}", interval_s)

    # ---- CLI ----

    @property
    def address(self):
        return f"127.0.0.1:{self.rpc_port}"

    def cli(self, *args, timeout_s=120):
        """Runs `sluice <args> --jobmanager 127.0.0.1:<rpc>`."""
        return run_cli(list(args) + ["--jobmanager", self.address], timeout_s, self.log_dir)

    def stop_with_savepoint(self, job_id, directory, timeout_s=120):
        """`sluice stop JOB --savepoint --dir DIR`; asserts exit 0 and that the savepoint has a
        _metadata file. Returns (the CLI result, the savepoint directory it printed)."""
        r = self.cli("stop", job_id, "--savepoint", "--dir", directory, timeout_s=timeout_s)
        if r.returncode != 0:
            raise AssertionError(f"stop with savepoint failed:\n{r.describe()}")
        location = r.stdout.strip().splitlines()[-1].split("Path: ")[-1]
        if not os.path.exists(os.path.join(location, "_metadata")):
            raise AssertionError(f"no savepoint at {location}:\n{r.describe()}")
        return r, location

    def submit(self, spec_path, parallelism=None, extra=()):
        """`sluice run --detached`; asserts exit 0 and returns the job id."""
        args = ["run", spec_path, "--detached"] + list(extra)
        if parallelism is not None:
            args += ["--parallelism", str(parallelism)]
        r = self.cli(*args)
        if r.returncode != 0:
            raise AssertionError(f"submission failed:\n{r.describe()}")
        return r.job_id()

    # ---- diagnostics ----

    def dump_logs(self, max_chars=20000):
        daemons = ([self.jobmanager] if self.jobmanager else []) + self.taskmanagers
        for d in daemons:
            text = d.log_text()
            if len(text) > max_chars:
                text = f"[... {len(text) - max_chars} chars cut ...]\n" + text[-max_chars:]
            print(f"\n===== {self.name}/{d.name} log ({d.log_path}) =====\n{text}",
                  file=sys.stderr)
        cli_log = os.path.join(self.log_dir, "cli.log")
        if os.path.exists(cli_log):
            with open(cli_log, errors="replace") as f:
                text = f.read()
            print(f"\n===== {self.name}/cli log =====\n{text[-max_chars:]}", file=sys.stderr)

    # ---- internals ----

    def _rest_up(self):
        try:
            status, _ = self.rest("/overview")
            return status == 200
        except OSError:
            self._check_alive(self.jobmanager)
            return False

    @staticmethod
    def _tm_key(entry):
        return json.dumps(entry.get("id", entry), sort_keys=True)

    @staticmethod
    def _check_alive(daemon):
        if not daemon.alive():
            raise AssertionError(f"{daemon.name} exited with code {daemon.popen.returncode} "
                                 f"during startup; log:\n{daemon.log_text()[-5000:]}")
