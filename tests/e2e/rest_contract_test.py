#!/usr/bin/env python3
"""The JobManager's REST API against Flink 1.20's published OpenAPI spec, on real processes.

A JobManager and two TaskManagers (3 slots each) run a long-running checkpointing job (job A: a
DataGen source at parallelism 1, a keyed 1 s tumbling window at parallelism 2, a blackhole sink at
parallelism 1, checkpoints every second). Once A has completed a checkpoint (its chk-<n>/_metadata
exists), every endpoint below is called and its response validated against the response schema
of tests/rest/rest_v1_dispatcher.yml in strict mode (testing/openapi.py: every property the spec
declares must be present, recursively, except the few Flink itself only sends sometimes, which
each call lists; wrong types, enum values (state names), integer formats and status codes are
errors; extra fields are allowed). One test method per endpoint (or small group), and each
reports all of its violations at once, so a failure names every missing field and wrong type.

Read endpoints (job A unless said otherwise):
  /config, /overview, /jobs, /jobs/overview, /taskmanagers, /taskmanagers/:tmid,
  /taskmanagers/:tmid/metrics, /jobmanager/config, /jobmanager/metrics, /jobs/metrics,
  /jobs/:jid (with `plan` and per-vertex `maxParallelism`), /jobs/:jid/status, /config, /plan,
  /exceptions, /execution-result (running, and for finished and cancelled jobs in the control
  tests), /checkpoints (p50/p90/p95/p99/p999 summaries), /checkpoints/config,
  /checkpoints/details/:checkpointid, /vertices/:vid, /vertices/:vid/subtasks/:subtaskindex,
  /subtasktimes, /backpressure, /watermarks, /vertices/:vid/metrics,
  /vertices/:vid/subtasks/metrics, /jobs/:jid/metrics, /resource-requirements.
  Metrics endpoints also answer ?get= for Flink's metric names (0.numRecordsIn per subtask,
  numRegisteredTaskManagers, numRestarts, uptime, ...) with values as strings.

Control endpoints (each on a job of its own, so job A keeps running):
  POST /jobs/:jid/checkpoints (Flink 1.20's CheckpointTriggerRequestBody) -> 202 {request-id};
  GET /jobs/:jid/checkpoints/:triggerid until COMPLETED; the checkpoint is in the statistics.
  POST /jobs/:jid/savepoints {cancel-job: true} -> the job ends CANCELED with a savepoint.
  POST /jobs/:jid/stop {drain: true} -> the job ends FINISHED with a savepoint.
  PUT /jobs/:jid/resource-requirements: a vertex from parallelism 1 to 2; the job keeps its id
  and runs again at the new parallelism.
  POST /savepoint-disposal {savepoint-path} -> 200 {request-id}; GET /savepoint-disposal/:id
  until COMPLETED; the savepoint directory is gone.
  PATCH /jobs/:jid?mode=cancel -> 202; the job ends CANCELED.
  GET /jobs/:jid/execution-result for the finished and cancelled jobs.

Error contract: unknown path 404, wrong method 405 (Flink's router answers 404 there; Sluice
says 405), unknown job/vertex/trigger/taskmanager 404, malformed job id 400, wrong JSON types
400 naming the field, malformed JSON 400; every error body is Flink's ErrorResponseBody
{"errors": [...]}; rejected bodies have no effect on the job they name.

The spec is validated with testing/openapi.py's WIRE_ERRATA applied: where Flink's own Jackson
serializers put something else on the wire than the generated spec says (bare metric arrays,
JobConfigInfo's jid/name/execution-config, JobResult's id/application-status/net-runtime,
lowercase checkpoint mode, hex slotSharingGroupId, ...), what Flink 1.20 sends is the contract.
ValidatorSelfTest proves on hand-made bodies that the validator rejects what it should.

Waits are conditions with deadlines; the whole test takes 10 to 60 seconds.
"""

import functools
import glob
import http.client
import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import TERMINAL_JOB_STATES, Cluster  # noqa: E402
from testing.harness import wait_until  # noqa: E402
from testing.openapi import Spec  # noqa: E402

TASKMANAGERS = 2
SLOTS = 3
UNKNOWN_ID = "0" * 32

JOB_SPEC = """name: {name}
parallelism: 1
checkpointing:
  interval: 1 s
  dir: {checkpoints}
source:
  name: clicks
  type: datagen
  rows-per-second: {rate}
  seed: 7
  schema: {{user: int64, amount: double, ts: timestamp}}
  fields:
    user: {{kind: random, min: 0, max: 999}}
    amount: {{kind: random, min: 0, max: 100}}
    ts: {{kind: now}}
  event-time: {{field: ts, max-out-of-orderness: 100 ms}}
pipeline:
  - key-by: [user]
  - window:
      type: tumbling
      size: 1 s
      aggregates: {{clicks: count(), total: sum(amount)}}
{window_parallelism}sink:
  name: totals
  type: blackhole
"""

# Fields Flink 1.20 itself leaves out (NON_NULL / NON_DEFAULT / NON_EMPTY) or sends as null;
# everything else the spec declares must be there.
ALLOW_SUBTASK = ["$..other-concurrent-attempts"]              # NON_EMPTY
ALLOW_TASKMANAGER = ["$.blocked", "$.taskmanagers[*].blocked"]  # NON_DEFAULT (false)
ALLOW_OVERVIEW = ["$.taskmanagers-blocked", "$.slots-free-and-blocked"]  # NON_DEFAULT (0)
ALLOW_EXCEPTIONS = [
    "$.root-exception", "$.timestamp",  # null without a failure
    "$..taskName", "$..location", "$..endpoint", "$..taskManagerId"]  # NON_NULL (global failures)
ALLOW_CHECKPOINTS = [
    "$..savepointFormat",               # null for checkpoints
    "$.latest.completed", "$.latest.savepoint", "$.latest.failed", "$.latest.restored",  # null
    "$..failure_message"]               # @Nullable
ALLOW_BACKPRESSURE = ["$.subtasks[*].attempt-number", "$..other-concurrent-attempts"]
ALLOW_METRIC_LISTING = ["$[*].value"]          # NON_NULL: a listing without ?get has only ids
ALLOW_AGGREGATE_LISTING = ["$[*].min", "$[*].max", "$[*].avg", "$[*].sum", "$[*].skew"]
ALLOW_JOB_RESULT = ["$.job-execution-result.failure-cause"]    # only when the job failed

FLINK_JOB_METRICS = ["numRestarts", "uptime", "downtime", "numberOfCompletedCheckpoints",
                     "numberOfFailedCheckpoints", "numberOfInProgressCheckpoints",
                     "totalNumberOfCheckpoints", "lastCheckpointDuration", "lastCheckpointSize"]
FLINK_JM_METRICS = ["numRegisteredTaskManagers", "numRunningJobs", "taskSlotsAvailable",
                    "taskSlotsTotal"]
IO_METRIC_NAMES = ["read-bytes", "write-bytes", "read-records", "write-records"]
AGGREGATE_STAT_NAMES = ["min", "max", "avg", "sum", "median", "p25", "p75", "p95"]

SPEC = None
CLUSTER = None
JOB_A = None             # the long-running checkpointing job
JOB_A_RUNNING_AT = None  # time.time() when all of A's subtasks ran
SETUP_PROBLEMS = []      # what the module setup could not establish (reported by the tests)


class Stop(Exception):
    """Ends a test early after a problem that makes its further checks meaningless."""


_NOT_JSON = object()


class Reply:
    def __init__(self, method, path, status, content_type, text):
        self.method = method
        self.path = path
        self.status = status
        self.content_type = content_type or ""
        self.text = text
        try:
            self.body = json.loads(text) if text else None
        except ValueError:
            self.body = _NOT_JSON

    @property
    def what(self):
        return f"{self.method} {self.path}"

    def excerpt(self, n=600):
        t = self.text if len(self.text) <= n else self.text[:n] + " ..."
        return f"HTTP {self.status}, body {t!r}"


def http_call(method, path, body=None, raw=None, timeout_s=15):
    conn = http.client.HTTPConnection("127.0.0.1", CLUSTER.rest_port, timeout=timeout_s)
    try:
        headers = {}
        data = None
        if raw is not None:
            data = raw.encode()
            headers["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        return Reply(method, path, resp.status, resp.getheader("Content-Type"), text)
    finally:
        conn.close()


def write_spec(name, rate=2000, window_parallelism=None):
    path = os.path.join(CLUSTER.dir, f"{name}.yaml")
    wp = f"    parallelism: {window_parallelism}\n" if window_parallelism else ""
    with open(path, "w") as f:
        f.write(JOB_SPEC.format(name=name, rate=rate, window_parallelism=wp,
                                checkpoints=json.dumps(os.path.join(CLUSTER.dir, "chk"))))
    return path


def vertex_running(v):
    """Every subtask of a /jobs/<id> vertex runs: from Sluice's per-vertex "subtasks" if there,
    else from Flink's vertex "status" and "tasks" counts."""
    subtasks = v.get("subtasks")
    if isinstance(subtasks, list) and subtasks:
        return (len(subtasks) == v.get("parallelism")
                and all(s.get("status") == "RUNNING" for s in subtasks))
    tasks = v.get("tasks") if isinstance(v.get("tasks"), dict) else {}
    return v.get("status") == "RUNNING" and tasks.get("RUNNING") == v.get("parallelism")


def all_subtasks_running(job_id):
    """The /jobs/<id> body once the job and every subtask are RUNNING, else None."""
    status, job = CLUSTER.rest(f"/jobs/{job_id}")
    if status != 200 or not isinstance(job, dict):
        return None
    if job.get("state") in TERMINAL_JOB_STATES:
        raise AssertionError(f"job {job_id} ended {job.get('state')}: {json.dumps(job)[:2000]}")
    if job.get("state") != "RUNNING":
        return None
    vertices = [v for v in job.get("vertices") or [] if isinstance(v, dict)]
    if not vertices or not all(vertex_running(v) for v in vertices):
        return None
    return job


def start_job(name, window_parallelism=None, timeout_s=60):
    """Submits a job (sluice run --detached) and waits until all its subtasks run."""
    job_id = CLUSTER.submit(write_spec(name, window_parallelism=window_parallelism))
    wait_until(lambda: all_subtasks_running(job_id), timeout_s,
               f"job {name} ({job_id}) to run all its subtasks", interval_s=0.1)
    return job_id


def checkpoint_dirs(job_id):
    """Completed checkpoints of a job on disk (chk-<n> with _metadata), by n."""
    found = glob.glob(os.path.join(CLUSTER.dir, "chk", job_id, "chk-*", "_metadata"))
    return sorted(int(os.path.basename(os.path.dirname(p))[4:]) for p in found
                  if os.path.basename(os.path.dirname(p))[4:].isdigit())


def ensure_ended(job_id):
    """Cleanup: cancels a job through the CLI (not REST) unless it already ended."""
    try:
        status, job = CLUSTER.rest(f"/jobs/{job_id}")
        if status == 200 and isinstance(job, dict) and job.get("state") in TERMINAL_JOB_STATES:
            return
        CLUSTER.cli("cancel", job_id, timeout_s=30)
        wait_until(lambda: (CLUSTER.rest(f"/jobs/{job_id}")[1] or {}).get("state")
                   in TERMINAL_JOB_STATES, 30, f"job {job_id} to end after cancel")
    except Exception as e:  # cleanup must not hide the test's own result
        print(f"cleanup of job {job_id} failed: {e!r}", file=sys.stderr)


def setUpModule():
    global SPEC, CLUSTER, JOB_A, JOB_A_RUNNING_AT
    SPEC = Spec()
    CLUSTER = Cluster(taskmanagers=TASKMANAGERS, slots=SLOTS, name="rest-contract")
    CLUSTER.__enter__()
    try:
        JOB_A = start_job("rest-contract-a", window_parallelism=2)
        JOB_A_RUNNING_AT = time.time()
        try:
            wait_until(lambda: checkpoint_dirs(JOB_A), 30,
                       f"job A ({JOB_A}) to complete a checkpoint (chk-<n>/_metadata)")
        except AssertionError as e:
            SETUP_PROBLEMS.append(str(e))
    except BaseException:
        CLUSTER.__exit__(*sys.exc_info())
        raise


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.__exit__(None, None, None)


def contract(fn):
    """Runs a test collecting problems; fails once with all of them (and any exception)."""
    @functools.wraps(fn)
    def wrapper(self):
        self.problems = []
        try:
            fn(self)
        except Stop:
            pass
        except AssertionError as e:
            self.problems.append(str(e))
        except Exception as e:
            self.problems.append(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        problems = list(dict.fromkeys(self.problems))  # polls may repeat one
        if problems:
            self.fail(f"{len(problems)} problem(s):\n- " + "\n- ".join(problems))
    return wrapper


class ContractCase(unittest.TestCase):
    maxDiff = None

    # ---- collecting problems ----

    def problem(self, text):
        self.problems.append(text)

    def check(self, condition, text):
        if not condition:
            self.problem(text)
        return bool(condition)

    def require(self, condition, text):
        if not condition:
            self.problem(text)
            raise Stop()

    # ---- calls ----

    def call(self, method, path, expect=200, body=None, raw=None, allow=(), strict=True,
             fatal=True):
        """Calls an endpoint, checks its status and validates the body against the spec.

        Returns the parsed body (None when the status was wrong and fatal is False)."""
        r = http_call(method, path, body=body, raw=raw)
        if r.status != expect:
            self.problem(f"{r.what}: expected HTTP {expect}, got {r.excerpt()}")
            if fatal:
                raise Stop()
            return None
        self.check_json(r)
        if r.body is _NOT_JSON:
            if fatal:
                raise Stop()
            return None
        for e in SPEC.validate_response(method, path, r.status, r.body, strict=strict,
                                        allow_missing=allow):
            self.problem(f"{r.what}: {e}")
        return r.body

    def check_json(self, r):
        if r.body is _NOT_JSON:
            self.problem(f"{r.what}: the body is not JSON: {r.excerpt()}")
        elif r.text and not r.content_type.startswith("application/json"):
            self.problem(f"{r.what}: Content-Type is {r.content_type!r}, expected "
                         f"application/json")

    def call_error(self, method, path, expect, body=None, raw=None, names=()):
        """An error response: its status, Flink's ErrorResponseBody, and that its messages name
        each of `names`."""
        r = http_call(method, path, body=body, raw=raw)
        if r.status != expect:
            sent = raw if raw is not None else (json.dumps(body) if body is not None else None)
            with_body = f" with body {sent}" if sent is not None else ""
            self.problem(f"{r.what}{with_body}: expected HTTP {expect}, got {r.excerpt()}")
            return r
        self.check_json(r)
        errors = SPEC.validate_error(r.body if r.body is not _NOT_JSON else r.text)
        for e in errors:
            self.problem(f"{r.what} (HTTP {r.status}) error body: {e}")
        if not errors:
            text = " ".join(r.body["errors"])
            for name in names:
                self.check(name in text, f"{r.what} (HTTP {r.status}): the error message should "
                                         f"name {name!r}, found {r.body['errors']}")
        return r

    # ---- waiting ----

    def poll(self, fn, timeout_s, what, interval_s=0.2):
        """Polls fn() until truthy; on timeout records a problem and stops the test."""
        try:
            return wait_until(fn, timeout_s, what, interval_s)
        except AssertionError as e:
            self.problem(str(e))
            raise Stop()

    def poll_operation(self, path, timeout_s, allow_completed):
        """Polls an asynchronous operation (savepoint, checkpoint, disposal) until COMPLETED;
        validates every poll (while IN_PROGRESS the operation may be absent)."""
        last = {}

        def done():
            r = http_call("GET", path)
            if r.status != 200:
                self.problem(f"GET {path}: expected HTTP 200, got {r.excerpt()}")
                raise Stop()
            self.check_json(r)
            if r.body is _NOT_JSON:
                raise Stop()
            last["body"] = r.body
            status = (r.body.get("status") or {}).get("id") if isinstance(r.body, dict) else None
            allow = list(allow_completed)
            if status == "IN_PROGRESS":
                # Flink: AsynchronousOperationResult.inProgress() has "operation": null.
                allow += ["$.operation", "$.operation.*"]
                self.check(r.body.get("operation") is None,
                           f"GET {path}: while IN_PROGRESS Flink sends \"operation\": null (or "
                           f"nothing), found {json.dumps(r.body.get('operation'))}")
            for e in SPEC.validate_response("GET", path, 200, r.body, allow_missing=allow):
                self.problem(f"GET {path} ({status}): {e}")
            if status not in ("IN_PROGRESS", "COMPLETED"):
                self.problem(f"GET {path}: status.id must be IN_PROGRESS or COMPLETED, found "
                             f"{r.body}")
                raise Stop()
            return r.body if status == "COMPLETED" else None

        return self.poll(done, timeout_s, lambda: f"{path} to be COMPLETED; last {last}")

    def job_body(self, job_id):
        status, body = CLUSTER.rest(f"/jobs/{job_id}")
        self.require(status == 200 and isinstance(body, dict),
                     f"GET /jobs/{job_id}: expected HTTP 200, got {status}: {str(body)[:500]}")
        return body

    def vertices(self, job_id):
        vs = self.job_body(job_id).get("vertices")
        self.require(isinstance(vs, list) and vs and all(isinstance(v, dict) and "id" in v
                                                         for v in vs),
                     f"GET /jobs/{job_id}: no vertices with ids to address: {vs}")
        return vs

    def window_vertex(self, job_id):
        """The keyed window vertex: the one that is not the source."""
        for v in self.vertices(job_id):
            if not str(v.get("name", "")).startswith("Source"):
                return v
        self.require(False, f"job {job_id}: no non-source vertex in {self.vertices(job_id)}")

    def wait_state(self, job_id, states, timeout_s=60):
        last = {}

        def reached():
            status, body = CLUSTER.rest(f"/jobs/{job_id}/status")
            if status != 200 or not isinstance(body, dict):
                status, body = CLUSTER.rest(f"/jobs/{job_id}")
                if status == 200 and isinstance(body, dict):
                    body = {"status": body.get("state")}
            last["status"] = body
            return isinstance(body, dict) and body.get("status") in states

        self.poll(reached, timeout_s, lambda: f"job {job_id} to reach {states}; last {last}")

    def metric_values(self, path, names):
        """GET path?get=a,b: {id: value} (values are strings in Flink)."""
        body = self.call("GET", f"{path}?get={','.join(names)}")
        if not isinstance(body, list):
            return {}
        values = {m.get("id"): m.get("value") for m in body if isinstance(m, dict)}
        for name in names:
            if self.check(name in values, f"GET {path}?get={name}: no metric {name!r} in {body}"):
                self.check(isinstance(values[name], str),
                           f"GET {path}?get={name}: the value must be a string (Flink's "
                           f"Metric.value), found {values[name]!r}")
        return values

    @staticmethod
    def safe_int(v):
        try:
            return int(v)
        except (TypeError, ValueError):
            return None

    def check_int_string(self, what, value, minimum=None):
        try:
            n = int(value)
        except (TypeError, ValueError):
            try:
                n = float(value)
            except (TypeError, ValueError):
                self.problem(f"{what}: {value!r} is not a number")
                return None
        if minimum is not None:
            self.check(n >= minimum, f"{what}: expected >= {minimum}, found {value!r}")
        return n

    def check_keys(self, what, mapping, expected):
        if not isinstance(mapping, dict):
            self.problem(f"{what}: expected an object, found {mapping!r}")
            return
        missing = [k for k in expected if k not in mapping]
        self.check(not missing, f"{what}: missing keys {missing} (Flink sends one per value: "
                                f"{list(expected)}), found {sorted(mapping)}")

    def check_plan(self, where, plan, vertices):
        """Flink's JSON plan (JsonPlanGenerator): jid, name, type, nodes with id, parallelism,
        operator, operator_strategy, description, optimizer_properties and, for every node
        with inputs, inputs [{num, id, ship_strategy, exchange}]."""
        if not self.check(isinstance(plan, dict), f"{where}: plan must be an object, found "
                                                  f"{plan!r}"):
            return
        for key, t in (("jid", str), ("name", str), ("type", str), ("nodes", list)):
            self.check(isinstance(plan.get(key), t),
                       f"{where}.{key}: expected {t.__name__}, found {plan.get(key)!r}")
        nodes = plan.get("nodes") if isinstance(plan.get("nodes"), list) else []
        ids = {v.get("id") for v in vertices}
        self.check({n.get("id") for n in nodes if isinstance(n, dict)} == ids,
                   f"{where}.nodes: node ids {[n.get('id') for n in nodes]} != vertex ids "
                   f"{sorted(ids)}")
        by_id = {v.get("id"): v for v in vertices}
        for i, n in enumerate(nodes):
            p = f"{where}.nodes[{i}]"
            if not self.check(isinstance(n, dict), f"{p}: not an object"):
                continue
            for key, t in (("id", str), ("parallelism", int), ("operator", str),
                           ("operator_strategy", str), ("description", str),
                           ("optimizer_properties", dict)):
                self.check(isinstance(n.get(key), t) and not isinstance(n.get(key), bool),
                           f"{p}.{key}: expected {t.__name__}, found {n.get(key)!r}")
            v = by_id.get(n.get("id"))
            if v is not None:
                self.check(n.get("parallelism") == v.get("parallelism"),
                           f"{p}.parallelism {n.get('parallelism')} != the vertex's "
                           f"{v.get('parallelism')}")
            if "inputs" in n:
                for j, inp in enumerate(n["inputs"] or []):
                    for key, t in (("num", int), ("id", str), ("ship_strategy", str),
                                   ("exchange", str)):
                        self.check(isinstance(inp, dict) and isinstance(inp.get(key), t),
                                   f"{p}.inputs[{j}].{key}: expected {t.__name__}, found "
                                   f"{inp.get(key) if isinstance(inp, dict) else inp!r}")
        sources = [n for n in nodes if isinstance(n, dict) and not n.get("inputs")]
        self.check(len(sources) == 1 and len(nodes) == len(ids),
                   f"{where}.nodes: exactly the source node should have no inputs; found "
                   f"{len(sources)} without inputs of {len(nodes)}")

    @staticmethod
    def data_ports():
        """{dataPort} of the TaskManagers (from /taskmanagers)."""
        return {t.get("dataPort") for t in CLUSTER.rest_taskmanagers()}

    def check_endpoint(self, where, entry, ports):
        """Flink's subtask location fields: "host" is the TaskManager's host name alone (no port;
        deprecated), "endpoint" is "<host>:<dataPort>" (TaskManagerLocation.getEndpoint())."""
        host, endpoint = entry.get("host"), entry.get("endpoint")
        self.check(isinstance(host, str) and ":" not in host,
                   f"{where}: host is the host name without a port (Flink: "
                   f"TaskManagerLocation.getHostname()), found {host!r}")
        ok = isinstance(endpoint, str) and endpoint.rpartition(":")[0] == host and \
            self.safe_int(endpoint.rpartition(":")[2]) in ports
        self.check(ok, f"{where}: endpoint is \"<host>:<dataPort>\" of its TaskManager "
                       f"(dataPorts {sorted(map(str, ports))}), found {endpoint!r} (host {host!r})")

    def require_checkpoint(self):
        self.require(not SETUP_PROBLEMS, "setup: " + "; ".join(SETUP_PROBLEMS))


class ClusterEndpointsTest(ContractCase):
    """/config, /overview, /jobs, /jobs/overview, /taskmanagers..., /jobmanager/...,
    /jobs/metrics."""

    @contract
    def test_config(self):
        body = self.call("GET", "/config")
        self.check(isinstance(body.get("refresh-interval"), int) and body["refresh-interval"] > 0,
                   f"GET /config: refresh-interval must be a positive int (ms), found "
                   f"{body.get('refresh-interval')!r}")

    @contract
    def test_overview(self):
        body = self.call("GET", "/overview", allow=ALLOW_OVERVIEW)
        self.check(body.get("taskmanagers") == TASKMANAGERS,
                   f"GET /overview: taskmanagers {body.get('taskmanagers')!r} != {TASKMANAGERS}")
        self.check(body.get("slots-total") == TASKMANAGERS * SLOTS,
                   f"GET /overview: slots-total {body.get('slots-total')!r} != "
                   f"{TASKMANAGERS * SLOTS}")
        self.check(isinstance(body.get("jobs-running"), int) and body["jobs-running"] >= 1,
                   f"GET /overview: jobs-running {body.get('jobs-running')!r}, job A runs")

    @contract
    def test_jobs(self):
        body = self.call("GET", "/jobs")
        entries = [j for j in body.get("jobs", []) if isinstance(j, dict)]
        mine = [j for j in entries if j.get("id") == JOB_A]
        self.check(mine and mine[0].get("status") == "RUNNING",
                   f"GET /jobs: job A {JOB_A} should be listed RUNNING, found {entries}")

    @contract
    def test_jobs_overview(self):
        body = self.call("GET", "/jobs/overview")
        entries = [j for j in body.get("jobs", []) if isinstance(j, dict)]
        mine = [j for j in entries if j.get("jid") == JOB_A]
        self.require(mine, f"GET /jobs/overview: job A {JOB_A} is not listed: {entries}")
        a = mine[0]
        self.check(a.get("state") == "RUNNING", f"GET /jobs/overview: A's state "
                                                f"{a.get('state')!r}")
        lower = [s.lower() for s in SPEC.enum("ExecutionState")]
        tasks = a.get("tasks")
        self.check_keys("GET /jobs/overview: jobs[A].tasks", tasks, lower + ["total"])
        if isinstance(tasks, dict) and all(isinstance(tasks.get(k), int) for k in lower):
            self.check(tasks.get("total") == sum(tasks[k] for k in lower),
                       f"GET /jobs/overview: tasks.total must be the number of subtasks (the "
                       f"sum of the per-state counts), found {tasks}")
            self.check(tasks.get("running") == 4,
                       f"GET /jobs/overview: job A runs 4 subtasks (source 1 + window 2 + "
                       f"sink 1), tasks: {tasks}")
        now_ms = time.time() * 1000
        self.check(isinstance(a.get("start-time"), int)
                   and now_ms - 600_000 < a["start-time"] <= now_ms + 5000,
                   f"GET /jobs/overview: start-time must be epoch ms, found "
                   f"{a.get('start-time')!r}")
        self.check(a.get("end-time") == -1, f"GET /jobs/overview: a running job's end-time is "
                                            f"-1, found {a.get('end-time')!r}")

    @contract
    def test_taskmanagers(self):
        body = self.call("GET", "/taskmanagers", allow=ALLOW_TASKMANAGER)
        tms = [t for t in body.get("taskmanagers", []) if isinstance(t, dict)]
        self.check(sorted(t.get("id") for t in tms) == sorted(tm.id for tm in CLUSTER.taskmanagers),
                   f"GET /taskmanagers: ids {[t.get('id') for t in tms]} != the cluster's "
                   f"{[tm.id for tm in CLUSTER.taskmanagers]}")
        now_ms = time.time() * 1000
        for t in tms:
            self.check(t.get("slotsNumber") == SLOTS, f"GET /taskmanagers: {t.get('id')} "
                                                      f"slotsNumber {t.get('slotsNumber')!r}")
            hb = t.get("timeSinceLastHeartbeat")
            self.check(isinstance(hb, int) and now_ms - 60_000 <= hb <= now_ms + 5000,
                       f"GET /taskmanagers: timeSinceLastHeartbeat is, despite its name, the "
                       f"epoch ms of the last heartbeat in Flink; found {hb!r}")

    @contract
    def test_taskmanager_details(self):
        jobs_in_slots = set()
        for tm in CLUSTER.taskmanagers:
            body = self.call("GET", f"/taskmanagers/{tm.id}", allow=ALLOW_TASKMANAGER,
                             fatal=False)
            if not isinstance(body, dict):
                continue
            self.check(body.get("id") == tm.id, f"GET /taskmanagers/{tm.id}: id {body.get('id')}")
            for slot in body.get("allocatedSlots") or []:
                if isinstance(slot, dict):
                    jobs_in_slots.add(slot.get("jobId"))
        self.check(JOB_A in jobs_in_slots,
                   f"GET /taskmanagers/:tmid: job A {JOB_A} runs, so some TaskManager's "
                   f"allocatedSlots must name it (jobId); found {sorted(map(str, jobs_in_slots))}")

    @contract
    def test_taskmanager_metrics(self):
        tm = CLUSTER.taskmanagers[0]
        path = f"/taskmanagers/{tm.id}/metrics"
        listing = self.call("GET", path, allow=ALLOW_METRIC_LISTING)
        ids = [m.get("id") for m in listing if isinstance(m, dict)]
        self.require(ids, f"GET {path}: lists no metrics")
        values = self.metric_values(path, ids[:3])
        for name, value in values.items():
            self.check_int_string(f"GET {path}?get={name}", value)

    @contract
    def test_jobmanager_config(self):
        body = self.call("GET", "/jobmanager/config")
        entries = {e.get("key"): e.get("value") for e in body if isinstance(e, dict)}
        blob_dir = CLUSTER.blob_dir("jobmanager")
        self.check(entries.get("blob.storage.directory") == blob_dir,
                   f"GET /jobmanager/config: the configuration file sets blob.storage.directory "
                   f"= {blob_dir}; found {entries.get('blob.storage.directory')!r} in {entries}")

    @contract
    def test_jobmanager_metrics(self):
        listing = self.call("GET", "/jobmanager/metrics", allow=ALLOW_METRIC_LISTING)
        ids = {m.get("id") for m in listing if isinstance(m, dict)}
        missing = [n for n in FLINK_JM_METRICS if n not in ids]
        self.check(not missing, f"GET /jobmanager/metrics: Flink's {missing} are not listed "
                                f"(found {sorted(map(str, ids))})")
        values = self.metric_values("/jobmanager/metrics", FLINK_JM_METRICS)
        expected = {"numRegisteredTaskManagers": TASKMANAGERS, "taskSlotsTotal":
                    TASKMANAGERS * SLOTS}
        for name, want in expected.items():
            if name in values:
                got = self.check_int_string(f"GET /jobmanager/metrics?get={name}", values[name])
                self.check(got == want, f"GET /jobmanager/metrics?get={name}: expected "
                                        f"'{want}', found {values[name]!r}")
        if "numRunningJobs" in values:
            self.check_int_string("GET /jobmanager/metrics?get=numRunningJobs",
                                  values["numRunningJobs"], minimum=1)

    @contract
    def test_jobs_metrics_aggregated(self):
        listing = self.call("GET", "/jobs/metrics", allow=ALLOW_AGGREGATE_LISTING)
        ids = {m.get("id") for m in listing if isinstance(m, dict)}
        self.check("numRestarts" in ids and "uptime" in ids,
                   f"GET /jobs/metrics: should list the jobs' metrics (numRestarts, uptime, ...), "
                   f"found {sorted(map(str, ids))}")
        body = self.call("GET", "/jobs/metrics?get=numRestarts")
        self.check(any(isinstance(m, dict) and m.get("id") == "numRestarts" for m in body),
                   f"GET /jobs/metrics?get=numRestarts: no numRestarts in {body}")
        for m in body:
            if isinstance(m, dict) and m.get("id") == "numRestarts":
                self.check(m.get("min") == 0 and m.get("max") == 0,
                           f"GET /jobs/metrics?get=numRestarts: no job restarted, found {m}")
        body = self.call("GET", f"/jobs/metrics?get=uptime&agg=max&jobs={JOB_A}",
                         allow=["$[*].min", "$[*].avg", "$[*].sum", "$[*].skew"])
        for m in body:
            if isinstance(m, dict):
                self.check(set(m) & {"min", "avg", "sum", "skew"} == set(),
                           f"GET /jobs/metrics?agg=max: only max was asked for, found {m}")
                self.check(isinstance(m.get("max"), (int, float)) and m["max"] >= 1000,
                           f"GET /jobs/metrics?get=uptime&agg=max: uptime is in ms and A has "
                           f"run for seconds, found {m}")


class JobEndpointsTest(ContractCase):
    """The read endpoints of the running job A."""

    @contract
    def test_job_details(self):
        body = self.call("GET", f"/jobs/{JOB_A}")
        self.check(body.get("jid") == JOB_A and body.get("state") == "RUNNING",
                   f"GET /jobs/A: jid/state {body.get('jid')}/{body.get('state')}")
        self.check(body.get("job-type") == "STREAMING",
                   f"GET /jobs/A: job-type {body.get('job-type')!r}, expected STREAMING")
        vertices = [v for v in body.get("vertices") or [] if isinstance(v, dict)]
        self.check(sorted(v.get("parallelism") for v in vertices) == [1, 1, 2],
                   f"GET /jobs/A: expected 3 vertices of parallelism 1 (source), 2 (window), "
                   f"1 (sink); found {[(v.get('name'), v.get('parallelism')) for v in vertices]}")
        for v in vertices:
            mp = v.get("maxParallelism")
            self.check(isinstance(mp, int) and isinstance(v.get("parallelism"), int)
                       and mp >= v["parallelism"] and mp >= 1,
                       f"GET /jobs/A: vertex {v.get('name')!r} maxParallelism {mp!r} must be an "
                       f"int >= its parallelism")
            self.check_keys(f"GET /jobs/A: vertex {v.get('name')!r} tasks", v.get("tasks"),
                            SPEC.enum("ExecutionState"))
        self.check_keys("GET /jobs/A: timestamps", body.get("timestamps"), SPEC.enum("JobStatus"))
        self.check_keys("GET /jobs/A: status-counts", body.get("status-counts"),
                        SPEC.enum("ExecutionState"))
        if isinstance(body.get("timestamps"), dict):
            running_at = body["timestamps"].get("RUNNING")
            self.check(isinstance(running_at, int) and running_at > 0,
                       f"GET /jobs/A: timestamps.RUNNING must be the epoch ms A switched to "
                       f"RUNNING, found {running_at!r}")
        self.check_plan("GET /jobs/A: $.plan", body.get("plan"), vertices)

    @contract
    def test_job_status(self):
        body = self.call("GET", f"/jobs/{JOB_A}/status")
        self.check(body.get("status") == "RUNNING", f"GET /jobs/A/status: {body}")

    @contract
    def test_job_config(self):
        body = self.call("GET", f"/jobs/{JOB_A}/config")
        self.check(body.get("jid") == JOB_A and body.get("name") == "rest-contract-a",
                   f"GET /jobs/A/config: jid/name {body.get('jid')!r}/{body.get('name')!r}")
        ec = body.get("execution-config")
        if isinstance(ec, dict):
            self.check(ec.get("job-parallelism") == 1,
                       f"GET /jobs/A/config: execution-config.job-parallelism is the job's "
                       f"default parallelism (Flink: ExecutionConfig.getParallelism(); the spec's "
                       f"top-level parallelism: 1), not the largest vertex's; found "
                       f"{ec.get('job-parallelism')!r}")

    @contract
    def test_job_plan(self):
        body = self.call("GET", f"/jobs/{JOB_A}/plan")
        self.check_plan("GET /jobs/A/plan: $.plan", body.get("plan"), self.vertices(JOB_A))

    @contract
    def test_job_exceptions(self):
        body = self.call("GET", f"/jobs/{JOB_A}/exceptions", allow=ALLOW_EXCEPTIONS)
        history = body.get("exceptionHistory")
        if isinstance(history, dict):
            self.check(history.get("entries") == [] and history.get("truncated") is False,
                       f"GET /jobs/A/exceptions: A never failed: exceptionHistory {history}")

    @contract
    def test_execution_result_running(self):
        body = self.call("GET", f"/jobs/{JOB_A}/execution-result",
                         allow=["$.job-execution-result"])
        self.check(body.get("status") == {"id": "IN_PROGRESS"} and
                   "job-execution-result" not in body,
                   f"GET /jobs/A/execution-result: a running job's is {{status: {{id: "
                   f"IN_PROGRESS}}}} without job-execution-result, found {body}")

    @contract
    def test_checkpoints(self):
        self.require_checkpoint()
        body = self.call("GET", f"/jobs/{JOB_A}/checkpoints", allow=ALLOW_CHECKPOINTS)
        counts = body.get("counts") or {}
        self.check(isinstance(counts.get("completed"), int) and counts["completed"] >= 1,
                   f"GET /jobs/A/checkpoints: counts.completed {counts.get('completed')!r}, A "
                   f"completed checkpoints {checkpoint_dirs(JOB_A)}")
        history = [h for h in body.get("history") or [] if isinstance(h, dict)]
        ids = [h.get("id") for h in history]
        self.check(ids == sorted(ids, reverse=True) and ids,
                   f"GET /jobs/A/checkpoints: history must list checkpoints newest first, "
                   f"found ids {ids}")
        completed = [h for h in history if h.get("status") == "COMPLETED"]
        for h in completed:
            self.check(h.get("className") == "completed",
                       f"GET /jobs/A/checkpoints: a COMPLETED history entry has className "
                       f"'completed', found {h.get('className')!r}")
        latest = (body.get("latest") or {}).get("completed")
        if completed:
            self.check(isinstance(latest, dict) and latest.get("id") == completed[0].get("id"),
                       f"GET /jobs/A/checkpoints: latest.completed must be the newest completed "
                       f"checkpoint {completed[0].get('id')}, found {latest}")
        now_ms = time.time() * 1000
        for h in completed[:3]:
            trig, ack, dur = (h.get("trigger_timestamp"), h.get("latest_ack_timestamp"),
                              h.get("end_to_end_duration"))
            if all(isinstance(x, int) for x in (trig, ack, dur)):
                self.check(JOB_A_RUNNING_AT * 1000 - 60_000 < trig <= now_ms and trig <= ack
                           and 0 <= dur <= ack - trig + 1000,
                           f"GET /jobs/A/checkpoints: checkpoint {h.get('id')}: trigger_timestamp "
                           f"and latest_ack_timestamp are epoch ms, end_to_end_duration ms; "
                           f"found {trig}, {ack}, {dur}")
        summary = body.get("summary") or {}
        for name, stats in summary.items():
            if isinstance(stats, dict) and all(isinstance(stats.get(k), (int, float)) for k in
                                               ("min", "max", "avg", "p50", "p99")):
                self.check(stats["min"] <= stats["p50"] <= stats["max"]
                           and stats["min"] <= stats["avg"] <= stats["max"]
                           and stats["p99"] <= stats["max"],
                           f"GET /jobs/A/checkpoints: summary.{name} is inconsistent: {stats}")

    @contract
    def test_checkpoint_config(self):
        body = self.call("GET", f"/jobs/{JOB_A}/checkpoints/config")
        expected = {"interval": 1000, "timeout": 600_000, "min_pause": 0, "max_concurrent": 1,
                    "tolerable_failed_checkpoints": 2147483647, "mode": "exactly_once"}
        for key, want in expected.items():
            self.check(body.get(key) == want,
                       f"GET /jobs/A/checkpoints/config: {key} expected {want!r} (durations in "
                       f"ms, mode lowercase as Flink writes it), found {body.get(key)!r}")

    @contract
    def test_checkpoint_details(self):
        self.require_checkpoint()
        status, stats = CLUSTER.rest(f"/jobs/{JOB_A}/checkpoints")
        ids = []
        if status == 200 and isinstance(stats, dict):
            latest = (stats.get("latest") or {}).get("completed") or {}
            if isinstance(latest.get("id"), int):
                ids.append(latest["id"])
        ids += list(reversed(checkpoint_dirs(JOB_A)))
        self.require(ids, "job A: no completed checkpoint id known")
        cid = ids[0]
        body = self.call("GET", f"/jobs/{JOB_A}/checkpoints/details/{cid}",
                         allow=ALLOW_CHECKPOINTS)
        self.check(body.get("id") == cid and body.get("status") == "COMPLETED"
                   and body.get("className") == "completed",
                   f"GET /jobs/A/checkpoints/details/{cid}: id/status/className "
                   f"{body.get('id')}/{body.get('status')}/{body.get('className')}")
        tasks = body.get("tasks")
        vertex_ids = {v.get("id") for v in self.vertices(JOB_A)}
        self.check(isinstance(tasks, dict) and set(tasks) == vertex_ids,
                   f"GET /jobs/A/checkpoints/details/{cid}: tasks must be keyed by the vertex "
                   f"ids {sorted(vertex_ids)}, found "
                   f"{sorted(tasks) if isinstance(tasks, dict) else tasks}")
        self.check(body.get("num_subtasks") == 4 and body.get("num_acknowledged_subtasks") == 4,
                   f"GET /jobs/A/checkpoints/details/{cid}: A has 4 subtasks, all acknowledged; "
                   f"found {body.get('num_acknowledged_subtasks')}/{body.get('num_subtasks')}")

    @contract
    def test_vertex_details(self):
        for v in self.vertices(JOB_A):
            body = self.call("GET", f"/jobs/{JOB_A}/vertices/{v['id']}", allow=ALLOW_SUBTASK,
                             fatal=False)
            if not isinstance(body, dict):
                continue
            subtasks = body.get("subtasks") or []
            self.check(body.get("id") == v["id"] and len(subtasks) == v.get("parallelism")
                       and isinstance(body.get("maxParallelism"), int),
                       f"GET /jobs/A/vertices/{v['id']}: id, one subtask per parallel instance "
                       f"({v.get('parallelism')}) and maxParallelism; found id {body.get('id')}, "
                       f"{len(subtasks)} subtasks, maxParallelism {body.get('maxParallelism')!r}")
            metrics = (body.get("aggregated") or {}).get("metrics")
            if isinstance(metrics, dict):
                for name in IO_METRIC_NAMES:
                    self.check_keys(f"GET /jobs/A/vertices/{v['id']}: aggregated.metrics.{name}",
                                    metrics.get(name), AGGREGATE_STAT_NAMES)

    @contract
    def test_subtask_details(self):
        w = self.window_vertex(JOB_A)
        for i in range(w.get("parallelism") or 0):
            path = f"/jobs/{JOB_A}/vertices/{w['id']}/subtasks/{i}"
            body = self.call("GET", path, allow=ALLOW_SUBTASK, fatal=False)
            if isinstance(body, dict):
                self.check(body.get("subtask") == i and body.get("status") == "RUNNING",
                           f"GET {path}: subtask/status {body.get('subtask')}/"
                           f"{body.get('status')}")
                self.check(body.get("taskmanager-id") in {tm.id for tm in CLUSTER.taskmanagers},
                           f"GET {path}: taskmanager-id {body.get('taskmanager-id')!r} is not a "
                           f"TaskManager of the cluster")
                self.check_endpoint(f"GET {path}", body, self.data_ports())
        self.call("GET", f"/jobs/{JOB_A}/vertices/{w['id']}/subtasks/{w.get('parallelism')}",
                  expect=404, strict=False)

    @contract
    def test_subtask_times(self):
        w = self.window_vertex(JOB_A)
        body = self.call("GET", f"/jobs/{JOB_A}/vertices/{w['id']}/subtasktimes")
        subtasks = [s for s in body.get("subtasks") or [] if isinstance(s, dict)]
        self.check(body.get("id") == w["id"] and len(subtasks) == w.get("parallelism"),
                   f"GET .../subtasktimes: id {body.get('id')}, {len(subtasks)} subtasks")
        ports = self.data_ports()
        for s in subtasks:
            self.check_endpoint(f"GET .../subtasktimes: subtasks[{s.get('subtask')}]", s, ports)
            self.check_keys(f"GET .../subtasktimes: subtasks[{s.get('subtask')}].timestamps",
                            s.get("timestamps"), SPEC.enum("ExecutionState"))
            ts = s.get("timestamps") or {}
            self.check(isinstance(ts.get("RUNNING"), int) and ts["RUNNING"] > 0,
                       f"GET .../subtasktimes: a running subtask's timestamps.RUNNING is the epoch "
                       f"ms it started running, found {ts.get('RUNNING')!r}")

    @contract
    def test_backpressure(self):
        w = self.window_vertex(JOB_A)
        path = f"/jobs/{JOB_A}/vertices/{w['id']}/backpressure"

        def sampled():
            r = http_call("GET", path)  # not 200: no use waiting, the call below reports it
            return r if r.status != 200 or isinstance(r.body, dict) and r.body.get(
                "status") == "ok" else None

        try:  # Flink answers {"status": "deprecated"} until it has the subtasks' metrics
            wait_until(sampled, 15, "backpressure status ok", 0.3)
        except AssertionError:
            pass
        body = self.call("GET", path, allow=ALLOW_BACKPRESSURE)
        self.require(isinstance(body, dict) and body.get("status") == "ok",
                     f"GET {path}: status should become 'ok' within 15 s of running (Flink's "
                     f"'deprecated' means no metrics), found {body}")
        subtasks = body.get("subtasks") or []
        self.check(len(subtasks) == w.get("parallelism"),
                   f"GET {path}: one entry per subtask ({w.get('parallelism')}), found {subtasks}")
        for s in subtasks:
            if isinstance(s, dict):
                for key in ("ratio", "idleRatio", "busyRatio"):
                    r = s.get(key)
                    self.check(isinstance(r, (int, float)) and 0 <= r <= 1,
                               f"GET {path}: {key} is a ratio in [0, 1], found {r!r}")

    @contract
    def test_watermarks(self):
        w = self.window_vertex(JOB_A)
        path = f"/jobs/{JOB_A}/vertices/{w['id']}/watermarks"
        expected = [f"{i}.currentInputWatermark" for i in range(w.get("parallelism") or 0)]

        def advanced():
            r = http_call("GET", path)
            if r.status != 200 or not isinstance(r.body, list):
                return r  # no use waiting: the call below reports it
            values = {m.get("id"): m.get("value") for m in r.body if isinstance(m, dict)}
            return values if all(self.safe_int(values.get(k)) is not None
                                 and self.safe_int(values[k]) > 0 for k in expected) else None

        try:
            wait_until(advanced, 20, "watermarks", 0.3)
        except AssertionError:
            pass
        body = self.call("GET", path)
        values = {m.get("id"): m.get("value") for m in body if isinstance(m, dict)}
        for k in expected:
            self.require(isinstance(values.get(k), str) and self.safe_int(values[k]) is not None
                         and self.safe_int(values[k]) > 0,
                         f"GET {path}: expected {expected} with positive epoch-ms watermarks as "
                         f"strings (event time advances), found {body}")
        now_ms = time.time() * 1000
        for k in expected:
            self.check(now_ms - 600_000 < self.safe_int(values[k]) <= now_ms + 5000,
                       f"GET {path}: {k} is the event-time watermark in epoch ms, found "
                       f"{values[k]!r}")

    @contract
    def test_vertex_metrics(self):
        w = self.window_vertex(JOB_A)
        path = f"/jobs/{JOB_A}/vertices/{w['id']}/metrics"
        listing = self.call("GET", path, allow=ALLOW_METRIC_LISTING)
        ids = {m.get("id") for m in listing if isinstance(m, dict)}
        names = [f"{i}.{m}" for i in range(w.get("parallelism") or 0)
                 for m in ("numRecordsIn", "numRecordsOut")]
        missing = [n for n in names if n not in ids]
        self.check(not missing, f"GET {path}: Flink's per-subtask metrics {missing} are not "
                                f"listed (found {sorted(map(str, ids))[:40]})")

        query = f"{path}?get={','.join(names)}"

        def counted():
            r = http_call("GET", query)
            if r.status != 200 or not isinstance(r.body, list):
                return r  # no use waiting: the call below reports it
            values = {m.get("id"): m.get("value") for m in r.body if isinstance(m, dict)}
            return values if all(self.safe_int(values.get(f"{i}.numRecordsIn")) not in (None, 0)
                                 for i in range(w.get("parallelism") or 0)) else None

        try:
            wait_until(counted, 20, "records in", 0.3)
        except AssertionError:
            pass
        values = self.metric_values(path, names)
        for n in names:
            if n in values:
                self.check_int_string(f"GET {path}?get={n}", values[n],
                                      minimum=1 if n.endswith("numRecordsIn") else 0)

    @contract
    def test_vertex_subtasks_metrics_aggregated(self):
        w = self.window_vertex(JOB_A)
        path = f"/jobs/{JOB_A}/vertices/{w['id']}/subtasks/metrics"
        listing = self.call("GET", path, allow=ALLOW_AGGREGATE_LISTING)
        ids = {m.get("id") for m in listing if isinstance(m, dict)}
        self.check("numRecordsIn" in ids, f"GET {path}: should list numRecordsIn (no subtask "
                                          f"prefix), found {sorted(map(str, ids))[:40]}")
        body = self.call("GET", f"{path}?get=numRecordsIn")
        agg = [m for m in body if isinstance(m, dict) and m.get("id") == "numRecordsIn"]
        if self.check(agg, f"GET {path}?get=numRecordsIn: no entry in {body}"):
            m = agg[0]
            if all(isinstance(m.get(k), (int, float)) for k in ("min", "max", "sum")):
                self.check(m["min"] <= m["max"] <= m["sum"],
                           f"GET {path}?get=numRecordsIn: min <= max <= sum, found {m}")
        self.call("GET", f"{path}?get=numRecordsIn&agg=sum&subtasks=0",
                  allow=["$[*].min", "$[*].max", "$[*].avg", "$[*].skew"])

    @contract
    def test_job_metrics(self):
        path = f"/jobs/{JOB_A}/metrics"
        listing = self.call("GET", path, allow=ALLOW_METRIC_LISTING)
        ids = {m.get("id") for m in listing if isinstance(m, dict)}
        missing = [n for n in FLINK_JOB_METRICS if n not in ids]
        self.check(not missing, f"GET {path}: Flink's {missing} are not listed")
        values = self.metric_values(path, FLINK_JOB_METRICS)
        if "numRestarts" in values:
            self.check(values["numRestarts"] == "0", f"GET {path}?get=numRestarts: A never "
                                                     f"restarted, found {values['numRestarts']!r}")
        if "uptime" in values:
            ran_ms = (time.time() - JOB_A_RUNNING_AT) * 1000
            up = self.check_int_string(f"GET {path}?get=uptime", values["uptime"])
            if up is not None:
                self.check(ran_ms - 1000 <= up <= ran_ms + 120_000,
                           f"GET {path}?get=uptime: milliseconds since A runs (about "
                           f"{ran_ms:.0f}), found {values['uptime']!r}")
        if "numberOfCompletedCheckpoints" in values and not SETUP_PROBLEMS:
            self.check_int_string(f"GET {path}?get=numberOfCompletedCheckpoints",
                                  values["numberOfCompletedCheckpoints"], minimum=1)

    @contract
    def test_resource_requirements_get(self):
        body = self.call("GET", f"/jobs/{JOB_A}/resource-requirements")
        vertices = {v["id"]: v for v in self.vertices(JOB_A)}
        self.check(set(body) == set(vertices),
                   f"GET /jobs/A/resource-requirements: keyed by every vertex id "
                   f"{sorted(vertices)}, found {sorted(body)}")
        for vid, req in body.items():
            par = (req or {}).get("parallelism") if isinstance(req, dict) else None
            if isinstance(par, dict) and vid in vertices:
                self.check(par.get("upperBound") == vertices[vid].get("parallelism")
                           and isinstance(par.get("lowerBound"), int)
                           and 1 <= par["lowerBound"] <= par["upperBound"],
                           f"GET /jobs/A/resource-requirements: {vid}: lowerBound <= upperBound "
                           f"= the vertex's parallelism {vertices[vid].get('parallelism')}, "
                           f"found {par}")


class ControlEndpointsTest(ContractCase):
    """Checkpoint trigger, savepoint with cancel, stop with drain, rescale, disposal, cancel."""

    @contract
    def test_trigger_checkpoint(self):
        self.require_checkpoint()
        for request in ({"checkpointType": "FULL"}, {}):
            body = self.call("POST", f"/jobs/{JOB_A}/checkpoints", expect=202, body=request)
            trigger = body.get("request-id")
            self.require(isinstance(trigger, str),
                         f"POST /jobs/A/checkpoints {request}: no request-id in {body}")
            done = self.poll_operation(f"/jobs/{JOB_A}/checkpoints/{trigger}", 30,
                                       ["$.operation.failureCause"])
            op = done.get("operation") or {}
            cid = op.get("checkpointId")
            self.require(isinstance(cid, int) and "failureCause" not in op,
                         f"GET /jobs/A/checkpoints/{trigger}: a completed checkpoint has "
                         f"operation.checkpointId (camelCase), found {done}")

            def in_statistics():
                status, stats = CLUSTER.rest(f"/jobs/{JOB_A}/checkpoints")
                if status != 200 or not isinstance(stats, dict):
                    return None
                history = {h.get("id"): h for h in stats.get("history") or []
                           if isinstance(h, dict)}
                latest = ((stats.get("latest") or {}).get("completed") or {}).get("id")
                return history.get(cid) or (isinstance(latest, int) and latest >= cid)

            self.poll(in_statistics, 10, f"checkpoint {cid} (triggered by {request}) in "
                                         f"/jobs/A/checkpoints")
            details = self.call("GET", f"/jobs/{JOB_A}/checkpoints/details/{cid}",
                                allow=ALLOW_CHECKPOINTS, fatal=False)
            if isinstance(details, dict):
                self.check(details.get("status") == "COMPLETED",
                           f"GET /jobs/A/checkpoints/details/{cid}: status "
                           f"{details.get('status')!r}")

    @contract
    def test_savepoint_with_cancel_job(self):
        job = start_job("rest-contract-savepoint")
        try:
            target = os.path.join(CLUSTER.dir, "savepoints-cancel")
            body = self.call("POST", f"/jobs/{job}/savepoints", expect=202,
                             body={"target-directory": target, "cancel-job": True})
            trigger = body.get("request-id")
            self.require(isinstance(trigger, str), f"POST /jobs/:jid/savepoints: no request-id "
                                                   f"in {body}")
            done = self.poll_operation(f"/jobs/{job}/savepoints/{trigger}", 60,
                                       ["$.operation.failure-cause"])
            location = (done.get("operation") or {}).get("location")
            self.require(isinstance(location, str) and location,
                         f"GET /jobs/:jid/savepoints/{trigger}: COMPLETED without "
                         f"operation.location: {done}")
            path = location[len("file:"):] if location.startswith("file:") else location
            self.check(os.path.exists(os.path.join(path, "_metadata")),
                       f"savepoint {location}: no _metadata there")
            self.check(os.path.abspath(path).startswith(os.path.abspath(target)),
                       f"savepoint {location} is not under target-directory {target}")
            self.wait_state(job, {"CANCELED"}, 30)
            result = self.call("GET", f"/jobs/{job}/execution-result", allow=ALLOW_JOB_RESULT)
            jer = result.get("job-execution-result") or {}
            self.check(result.get("status") == {"id": "COMPLETED"}
                       and jer.get("application-status") == "CANCELED" and jer.get("id") == job,
                       f"GET /jobs/:jid/execution-result of a job cancelled with a savepoint: "
                       f"{result}")
        finally:
            ensure_ended(job)

    @contract
    def test_stop_with_drain(self):
        job = start_job("rest-contract-drain")
        try:
            target = os.path.join(CLUSTER.dir, "savepoints-drain")
            body = self.call("POST", f"/jobs/{job}/stop", expect=202,
                             body={"drain": True, "targetDirectory": target})
            trigger = body.get("request-id")
            self.require(isinstance(trigger, str), f"POST /jobs/:jid/stop: no request-id in "
                                                   f"{body}")
            done = self.poll_operation(f"/jobs/{job}/savepoints/{trigger}", 60,
                                       ["$.operation.failure-cause"])
            location = (done.get("operation") or {}).get("location")
            self.check(isinstance(location, str) and location,
                       f"stop with drain: COMPLETED without operation.location: {done}")
            self.wait_state(job, {"FINISHED"}, 30)
            result = self.call("GET", f"/jobs/{job}/execution-result", allow=ALLOW_JOB_RESULT)
            jer = result.get("job-execution-result") or {}
            self.check(result.get("status") == {"id": "COMPLETED"}
                       and jer.get("application-status") == "SUCCEEDED"
                       and isinstance(jer.get("net-runtime"), int) and jer["net-runtime"] > 0,
                       f"GET /jobs/:jid/execution-result of a drained job: SUCCEEDED with "
                       f"net-runtime (ms), found {result}")
            self.call("GET", f"/jobs/{job}", allow=["$.failure-cause"])
        finally:
            ensure_ended(job)

    @contract
    def test_rescale_with_resource_requirements(self):
        job = start_job("rest-contract-rescale")
        try:
            w = self.window_vertex(job)
            self.require(w.get("parallelism") == 1, f"job {job}: the window vertex should start "
                                                    f"at parallelism 1: {w}")
            reqs = self.call("GET", f"/jobs/{job}/resource-requirements")
            self.require(w["id"] in reqs, f"GET /jobs/:jid/resource-requirements: no entry for "
                                          f"the window vertex {w['id']}: {reqs}")
            new = json.loads(json.dumps(reqs))
            new[w["id"]] = {"parallelism": {"lowerBound": 1, "upperBound": 2}}
            self.call("PUT", f"/jobs/{job}/resource-requirements", expect=200, body=new)

            def rescaled():
                status, body = CLUSTER.rest(f"/jobs/{job}")
                if status != 200:
                    return None
                if body.get("state") in TERMINAL_JOB_STATES:
                    self.problem(f"job {job} ended {body.get('state')} instead of rescaling")
                    raise Stop()
                vs = {v.get("id"): v for v in body.get("vertices") or [] if isinstance(v, dict)}
                v = vs.get(w["id"])
                if (body.get("state") == "RUNNING" and v and v.get("parallelism") == 2
                        and all(vertex_running(x) for x in vs.values())):
                    return body
                return None

            body = self.poll(rescaled, 60, f"job {job} to run its window vertex {w['id']} at "
                                           f"parallelism 2 under the same job id")
            self.check(body.get("jid") == job, f"the job id changed: {body.get('jid')}")
            reqs = self.call("GET", f"/jobs/{job}/resource-requirements")
            par = (reqs.get(w["id"]) or {}).get("parallelism") or {}
            self.check(par.get("upperBound") == 2,
                       f"GET /jobs/:jid/resource-requirements after the rescale: upperBound 2 "
                       f"for {w['id']}, found {reqs}")
            vertex = self.call("GET", f"/jobs/{job}/vertices/{w['id']}", allow=ALLOW_SUBTASK)
            self.check(vertex.get("parallelism") == 2 and len(vertex.get("subtasks") or []) == 2,
                       f"GET /jobs/:jid/vertices/{w['id']} after the rescale: {vertex}")
            # The rescale's savepoint is transient: gone once the rescaled job has completed a
            # checkpoint of its own (it restarts from that one from then on).
            rescale_dir = os.path.join(CLUSTER.dir, "chk", "rescale")
            self.poll(lambda: os.path.isdir(rescale_dir) and not os.listdir(rescale_dir), 60,
                      f"the rescale savepoint in {rescale_dir} to be deleted after the rescaled "
                      f"job's first checkpoint")
        finally:
            ensure_ended(job)

    @contract
    def test_savepoint_disposal(self):
        target = os.path.join(CLUSTER.dir, "savepoints-dispose")
        r = CLUSTER.cli("savepoint", JOB_A, "--dir", target, timeout_s=60)
        self.require(r.returncode == 0, f"sluice savepoint (to have one to dispose) failed:\n"
                                        f"{r.describe()}")
        location = r.stdout.strip().splitlines()[-1].split("Path: ")[-1].strip()
        self.require(os.path.isdir(location), f"sluice savepoint printed {location!r}, which is "
                                              f"not a directory:\n{r.describe()}")
        body = self.call("POST", "/savepoint-disposal", expect=200,
                         body={"savepoint-path": location})
        trigger = body.get("request-id")
        self.require(isinstance(trigger, str), f"POST /savepoint-disposal: no request-id in "
                                               f"{body}")
        done = self.poll_operation(f"/savepoint-disposal/{trigger}", 30,
                                   ["$.operation.failure-cause"])
        self.check("failure-cause" not in (done.get("operation") or {}),
                   f"GET /savepoint-disposal/{trigger}: disposal failed: {done}")
        self.check(not os.path.exists(location), f"savepoint {location} still exists after "
                                                 f"its disposal COMPLETED")
        self.call_error("GET", f"/savepoint-disposal/{UNKNOWN_ID}", 404)

    @contract
    def test_cancel_with_patch(self):
        job = start_job("rest-contract-cancel")
        try:
            self.call("PATCH", f"/jobs/{job}?mode=cancel", expect=202)
            self.wait_state(job, {"CANCELED"}, 30)
            result = self.call("GET", f"/jobs/{job}/execution-result", allow=ALLOW_JOB_RESULT)
            jer = result.get("job-execution-result") or {}
            self.check(result.get("status") == {"id": "COMPLETED"}
                       and jer.get("application-status") == "CANCELED",
                       f"GET /jobs/:jid/execution-result of a cancelled job: {result}")
            details = self.call("GET", f"/jobs/{job}", allow=["$.failure-cause"])
            self.check(details.get("state") == "CANCELED" and isinstance(details.get("end-time"),
                                                                         int)
                       and details["end-time"] >= details.get("start-time", 0) > 0,
                       f"GET /jobs/:jid of the cancelled job: state CANCELED with end-time >= "
                       f"start-time, found {details.get('state')}, {details.get('start-time')}, "
                       f"{details.get('end-time')}")
            overview = self.call("GET", "/jobs/overview")
            mine = [j for j in overview.get("jobs", []) if j.get("jid") == job]
            self.check(mine and mine[0].get("state") == "CANCELED",
                       f"GET /jobs/overview: the cancelled job: {mine}")
        finally:
            ensure_ended(job)


class ErrorContractTest(ContractCase):
    """Status codes and Flink's ErrorResponseBody for bad requests."""

    victim = None  # a job of its own, so a wrongly accepted body cannot disturb job A

    @classmethod
    def setUpClass(cls):
        cls.victim = start_job("rest-contract-errors")

    @classmethod
    def tearDownClass(cls):
        if cls.victim:
            ensure_ended(cls.victim)

    def victim_still_running(self):
        status, body = CLUSTER.rest(f"/jobs/{self.victim}")
        self.check(status == 200 and body.get("state") == "RUNNING",
                   f"after the rejected requests job {self.victim} must still be RUNNING, found "
                   f"{status} {body.get('state') if isinstance(body, dict) else body}")

    @contract
    def test_unknown_path_404(self):
        for path in ("/nope", f"/jobs/{JOB_A}/nope", "/jobs/overview/extra",
                     f"/jobs/{JOB_A}/vertices"):
            self.call_error("GET", path, 404)

    @contract
    def test_wrong_method_405(self):
        for method, path in (("DELETE", "/jobs/overview"), ("POST", "/overview"),
                             ("PUT", "/config"), ("DELETE", "/taskmanagers"),
                             ("POST", f"/jobs/{JOB_A}/status"),
                             ("GET", f"/jobs/{JOB_A}/stop")):
            self.call_error(method, path, 405)

    @contract
    def test_unknown_ids_404(self):
        w = self.window_vertex(JOB_A)
        for method, path, body in (
                ("GET", f"/jobs/{UNKNOWN_ID}", None),
                ("GET", f"/jobs/{UNKNOWN_ID}/status", None),
                ("GET", f"/jobs/{UNKNOWN_ID}/checkpoints", None),
                ("GET", f"/jobs/{UNKNOWN_ID}/execution-result", None),
                ("GET", f"/jobs/{UNKNOWN_ID}/metrics", None),
                ("GET", f"/jobs/{UNKNOWN_ID}/vertices/{w['id']}", None),
                ("PATCH", f"/jobs/{UNKNOWN_ID}?mode=cancel", None),
                ("POST", f"/jobs/{UNKNOWN_ID}/savepoints", {"target-directory": "/tmp/x"}),
                ("POST", f"/jobs/{UNKNOWN_ID}/checkpoints", {}),
                ("GET", f"/jobs/{JOB_A}/vertices/{UNKNOWN_ID}", None),
                ("GET", f"/jobs/{JOB_A}/savepoints/{UNKNOWN_ID}", None),
                ("GET", f"/jobs/{JOB_A}/checkpoints/{UNKNOWN_ID}", None),
                ("GET", f"/jobs/{JOB_A}/checkpoints/details/999999", None),
                ("GET", f"/taskmanagers/{UNKNOWN_ID}", None)):
            self.call_error(method, path, 404, body=body)

    @contract
    def test_malformed_job_id_400(self):
        self.call_error("GET", "/jobs/not-a-job-id", 400)
        self.call_error("GET", "/jobs/not-a-job-id/checkpoints", 400)

    @contract
    def test_wrong_json_types_400(self):
        v = self.victim
        vertices = self.vertices(v)
        w = self.window_vertex(v)
        reqs = {x["id"]: {"parallelism": {"lowerBound": 1, "upperBound": x.get("parallelism")}}
                for x in vertices}
        bad_reqs = json.loads(json.dumps(reqs))
        bad_reqs[w["id"]]["parallelism"]["upperBound"] = "2"
        for method, path, body, field in (
                ("POST", f"/jobs/{v}/savepoints", {"cancel-job": "yes"}, "cancel-job"),
                ("POST", f"/jobs/{v}/savepoints", {"target-directory": 5}, "target-directory"),
                ("POST", f"/jobs/{v}/stop", {"drain": "true"}, "drain"),
                ("POST", f"/jobs/{v}/checkpoints", {"checkpointType": 5}, "checkpointType"),
                ("PUT", f"/jobs/{v}/resource-requirements", bad_reqs, "upperBound"),
                ("POST", "/savepoint-disposal", {"savepoint-path": 5}, "savepoint-path")):
            self.call_error(method, path, 400, body=body, names=[field])
        self.victim_still_running()
        w_now = self.window_vertex(v)
        self.check(w_now.get("parallelism") == w.get("parallelism"),
                   f"a rejected resource-requirements update changed the parallelism: {w_now}")

    @contract
    def test_malformed_json_400(self):
        v = self.victim
        for method, path, raw in (("POST", f"/jobs/{v}/savepoints", "{not json"),
                                  ("POST", f"/jobs/{v}/stop", "{\"drain\": tru"),
                                  ("POST", f"/jobs/{v}/checkpoints", "[1, 2"),
                                  ("PUT", f"/jobs/{v}/resource-requirements", "{"),
                                  ("POST", "/savepoint-disposal", "savepoint-path=/x")):
            self.call_error(method, path, 400, raw=raw)
        self.victim_still_running()


class ValidatorSelfTest(unittest.TestCase):
    """testing/openapi.py itself: hand-made wrong bodies must fail, right ones pass (so a green
    contract test means something)."""

    JID = "0123456789abcdef0123456789abcdef"

    def errors(self, method, path, status, body, **kw):
        return SPEC.validate_response(method, path, status, body, **kw)

    def assert_error(self, errors, *fragments):
        text = "\n".join(errors)
        for f in fragments:
            self.assertIn(f, text, f"expected an error mentioning {f!r}, got:\n{text}")

    def test_rejects_wrong_bodies(self):
        job = f"/jobs/{self.JID}"
        self.assert_error(self.errors("GET", job, 200, {"jid": self.JID}),
                          "$.vertices: missing (declared by JobDetailsInfo)",
                          "$.plan: missing", "$.maxParallelism: missing")
        self.assertEqual(self.errors("GET", job, 200, {"jid": self.JID}, strict=False), [])
        self.assert_error(self.errors("GET", f"{job}/status", 200, {"status": "RUNNIN"}),
                          "$.status: 'RUNNIN' is not one of")
        self.assert_error(self.errors("GET", "/overview", 200, {"taskmanagers": "2"},
                                      strict=False), "$.taskmanagers: '2' is not of type")
        self.assert_error(self.errors("GET", "/overview", 200, {"taskmanagers": 2.0},
                                      strict=False), "$.taskmanagers: 2.0 is not an int32")
        self.assert_error(self.errors("GET", f"{job}/metrics", 200,
                                      {"metrics": [{"id": "uptime", "value": "1"}]}),
                          "is not of type 'array'")
        self.assert_error(self.errors("GET", f"{job}/metrics", 200, [{"id": "uptime",
                                                                     "value": 1}]),
                          "$[0].value: 1 is not of type 'string'")
        self.assert_error(self.errors("GET", f"{job}/checkpoints/{self.JID}", 200,
                                      {"status": {"id": "COMPLETED"},
                                       "operation": {"checkpointId": "7"}}),
                          "$.operation.checkpointId: '7' is not of type 'integer'")
        self.assert_error(self.errors("GET", f"{job}/checkpoints/details/1", 200,
                                      {"className": "completed", "id": 1}),
                          "$.external_path: missing (declared by CompletedCheckpointStatistics)")
        self.assert_error(self.errors("POST", "/savepoint-disposal", 202, {"request-id": self.JID}),
                          "HTTP 202 is not a response the spec documents")
        self.assert_error(self.errors("GET", "/overview", 404, {"error": "x"}), "$.errors: missing")
        self.assert_error(SPEC.validate_error("Not found"), "an error body must be JSON")

    def test_accepts_right_bodies(self):
        self.assertEqual(self.errors("GET", f"/jobs/{self.JID}/status", 200,
                                     {"status": "RUNNING", "sluice-extra": 1}), [])
        self.assertEqual(self.errors("GET", "/overview", 200, {"taskmanagers": 2},
                                     strict=False), [])
        self.assertEqual(self.errors("GET", f"/jobs/{self.JID}/metrics", 200,
                                     [{"id": "uptime"}], allow_missing=["$[*].value"]), [])
        self.assertEqual(self.errors("GET", f"/jobs/{self.JID}/savepoints/{self.JID}", 200,
                                     {"status": {"id": "COMPLETED"}, "operation": {
                                         "location": "/s"}},
                                     allow_missing=["$.operation.failure-cause"]), [])
        self.assertEqual(self.errors("PATCH", f"/jobs/{self.JID}?mode=cancel", 202, {}), [])
        self.assertEqual(SPEC.validate_error({"errors": ["Not found: /x"]}), [])


if __name__ == "__main__":
    harness.main()
