#!/usr/bin/env python3
"""The deployment files in deploy/ and the install rules in cmake/install.cmake.

Structural checks that fail on a real mistake, plus runs of the real daemons:

- deploy/config/config.yaml lists exactly the keys the daemons know (kKeys in
  runtime/config/config_file.cc and the table in docs/configuration.md), each with a comment giving
  its unit and its actual default; a JobManager and a TaskManager started with it (ports and
  directories replaced by free ones / temp dirs) and with the systemd units' command lines form
  a cluster and exit 0 on SIGTERM;
- deploy/kubernetes: every manifest parses and is named, the kustomization lists every manifest
  (and `kubectl kustomize` builds it when kubectl is installed), selectors match pod labels,
  Service and container ports and probes agree with the ConfigMap's config.yaml, TaskManagers
  reach the JobManager through the Service and advertise their pod IP, the checkpoint volume is
  ReadWriteMany and mounted where state.checkpoints.dir points in both Deployments; the
  ConfigMap's config.yaml with the Deployments' command lines starts a real cluster;
- deploy/systemd: the units parse, run as `sluice` with the hardening asked for, their
  ExecStart binaries exist in a `cmake --install` layout and accept their flags, the state
  directories of the config are writable under ProtectSystem=strict, and `systemd-analyze
  verify` accepts them (when installed);
- `cmake --install <build> --prefix <tmp>` lays out bin/, etc/sluice/config.yaml,
  share/doc/sluice/, share/sluice/examples/ and lib/systemd/system/;
- deploy/docker/Dockerfile: debian:12 stages, install-deps.sh, /opt/sluice, the config's ports
  exposed, no ENTRYPOINT, the runtime packages exist in apt and provide every shared library the
  built binaries need (readelf + ldd + dpkg -S), the image's uid is the pods' runAsUser.

The build directory is the parent of --bin-dir unless --build-dir is given (for runs against a
copy of the binaries).
"""

import configparser
import functools
import glob
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
# PyYAML: Debian's python3-yaml when the interpreter (pyenv) has none of its own.
sys.path.append("/usr/lib/python3/dist-packages")

import unittest  # noqa: E402

import yaml  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Daemon, http_get  # noqa: E402
from testing.harness import Config, wait_until  # noqa: E402

STARTUP_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30

_build_dir_override = None


def _take_build_dir_arg():
    """Removes `--build-dir DIR` from sys.argv (harness.main does not know it)."""
    global _build_dir_override
    argv = sys.argv
    for i, a in enumerate(argv):
        if a == "--build-dir" and i + 1 < len(argv):
            _build_dir_override = os.path.abspath(argv[i + 1])
            del argv[i:i + 2]
            return
        if a.startswith("--build-dir="):
            _build_dir_override = os.path.abspath(a.split("=", 1)[1])
            del argv[i]
            return


def build_dir():
    return _build_dir_override or os.path.dirname(os.path.abspath(Config.bin_dir))


def repo_path(*parts):
    return os.path.join(Config.repo, *parts)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def flatten(mapping, prefix=""):
    """Nested YAML maps -> {dotted key: value}, as the daemons read them."""
    out = {}
    for k, v in mapping.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def load_config_text(text, source):
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise AssertionError(f"{source}: expected a map of configuration keys, got {data!r}")
    return flatten(data)


def known_keys():
    """{key: default} of kKeys in runtime/config/config_file.cc, the daemons' key table."""
    source = read(repo_path("runtime", "config", "config_file.cc"))
    m = re.search(r"kKeys\[\]\s*=\s*\{(.*?)\n\};", source, re.S)
    if not m:
        raise AssertionError("cannot find kKeys[] in runtime/config/config_file.cc")
    keys = dict(re.findall(r'\{\s*"([^"]+)",\s*"([^"]*)"', m.group(1)))
    if len(keys) < 10:
        raise AssertionError(f"parsed only {len(keys)} keys from kKeys: {sorted(keys)}")
    return keys


def documented_keys():
    """Keys of the table under '### Configuration keys' in docs/configuration.md."""
    text = read(repo_path("docs", "configuration.md"))
    start = text.find("### Configuration keys")
    if start < 0:
        raise AssertionError("docs/configuration.md has no '### Configuration keys' section")
    end = text.find("\n## ", start)
    section = text[start:end if end >= 0 else len(text)]
    keys = re.findall(r"^\| `([A-Za-z0-9_.\-]+)` \|", section, re.M)
    if not keys:
        raise AssertionError("no keys in the configuration table of docs/configuration.md")
    return set(keys)


def edit_config(text, overrides):
    """A copy of a flat config.yaml with `overrides` ({key: value}) replacing the keys' lines
    in place (comments and order kept) or appended when absent."""
    lines = text.splitlines()
    done = set()
    for i, line in enumerate(lines):
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*:", line)
        if m and m.group(1) in overrides:
            lines[i] = f"{m.group(1)}: {json.dumps(overrides[m.group(1)])}"
            done.add(m.group(1))
    for key, value in overrides.items():
        if key not in done:
            lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def help_text(binary):
    r = subprocess.run([binary, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"{binary} --help exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r.stdout + r.stderr


def assert_flags_accepted(test, binary, argv, what):
    """Every --flag of argv appears in `binary --help`."""
    text = help_text(binary)
    for arg in argv:
        if arg.startswith("--"):
            flag = arg.split("=", 1)[0]
            test.assertTrue(re.search(re.escape(flag) + r"(?![\w-])", text),
                            f"{what}: {os.path.basename(binary)} --help does not list {flag}")


_install_prefix = None


def install_prefix():
    """`cmake --install <build> --prefix <tmp>`, once per run; returns the prefix."""
    global _install_prefix
    if _install_prefix is not None:
        return _install_prefix
    build = build_dir()
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        raise AssertionError(f"expected a configured CMake build in {build} (the parent of "
                             f"--bin-dir, or --build-dir), found no CMakeCache.txt")
    prefix = os.path.join(harness.make_temp_dir("deploy-install"), "prefix")
    r = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240)
    if r.returncode != 0:
        raise AssertionError(f"cmake --install {build} --prefix {prefix} exited "
                             f"{r.returncode}:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    _install_prefix = prefix
    return prefix


# ---------------------------------------------------------------------------------------------
# Kubernetes manifests

K8S_DIR_PARTS = ("deploy", "kubernetes")


class Manifests:
    """The manifests of deploy/kubernetes, parsed."""

    def __init__(self):
        self.dir = repo_path(*K8S_DIR_PARTS)
        self.files = sorted(os.path.basename(p)
                            for p in glob.glob(os.path.join(self.dir, "*.yaml"))
                            + glob.glob(os.path.join(self.dir, "*.yml")))
        self.docs = {}  # file -> [objects]
        for name in self.files:
            docs = [d for d in yaml.safe_load_all(read(os.path.join(self.dir, name)))
                    if d is not None]
            self.docs[name] = docs
        self.kustomization = self.docs.get("kustomization.yaml", [None])[0]
        self.objects = [d for name, docs in self.docs.items() if name != "kustomization.yaml"
                        for d in docs]

    def of_kind(self, kind):
        return [o for o in self.objects if isinstance(o, dict) and o.get("kind") == kind]

    def one(self, kind, predicate=lambda o: True):
        found = [o for o in self.of_kind(kind) if predicate(o)]
        if len(found) != 1:
            raise AssertionError(f"expected exactly one {kind} (matching), found "
                                 f"{[o['metadata']['name'] for o in found]}")
        return found[0]

    def deployment(self, component):
        """The Deployment whose name or pod labels say jobmanager/taskmanager."""
        def match(o):
            labels = o["spec"]["template"]["metadata"].get("labels", {})
            return component in o["metadata"]["name"] or component in labels.values()
        return self.one("Deployment", match)

    def configmap(self):
        return self.one("ConfigMap", lambda o: "config.yaml" in (o.get("data") or {}))

    def cluster_config(self):
        cm = self.configmap()
        return load_config_text(cm["data"]["config.yaml"],
                                f"ConfigMap {cm['metadata']['name']} config.yaml")


def container(deployment):
    containers = deployment["spec"]["template"]["spec"]["containers"]
    if len(containers) != 1:
        raise AssertionError(f"{deployment['metadata']['name']}: expected one container, found "
                             f"{[c.get('name') for c in containers]}")
    return containers[0]


def container_argv(c):
    return [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]


def container_port(c, port):
    """A probe's or Service's port (a number or a container port name) -> number."""
    if isinstance(port, int):
        return port
    for p in c.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    raise AssertionError(f"container {c.get('name')} has no port named {port!r}")


def flag_value(argv, flag):
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def under(path, directory):
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return os.path.commonpath([path, directory]) == directory


class KubernetesManifestsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Manifests()

    def test_every_manifest_parses_and_is_named(self):
        self.assertIn("kustomization.yaml", self.m.files)
        for name, docs in self.m.docs.items():
            self.assertTrue(docs, f"{name}: no YAML document")
            if name == "kustomization.yaml":
                continue
            for d in docs:
                self.assertIsInstance(d, dict, f"{name}: a document is not a map")
                for field in ("apiVersion", "kind"):
                    self.assertTrue(d.get(field), f"{name}: no {field}")
                self.assertTrue((d.get("metadata") or {}).get("name"), f"{name}: no metadata.name")
        kinds = sorted(o["kind"] for o in self.m.objects)
        for kind in ("ConfigMap", "Deployment", "PersistentVolumeClaim", "Service"):
            self.assertIn(kind, kinds)
        self.assertEqual(kinds.count("Deployment"), 2, kinds)

    def test_kustomization_lists_every_manifest(self):
        k = self.m.kustomization
        self.assertEqual(k.get("kind"), "Kustomization")
        self.assertTrue(str(k.get("apiVersion", "")).startswith("kustomize.config.k8s.io/"))
        resources = k.get("resources") or []
        self.assertEqual(len(resources), len(set(resources)), f"listed twice: {resources}")
        manifests = set(self.m.files) - {"kustomization.yaml"}
        self.assertEqual(set(resources), manifests,
                         "kustomization.yaml resources must be exactly the manifests in "
                         "deploy/kubernetes")

    def test_kustomize_builds(self):
        kubectl = shutil.which("kubectl")
        if not kubectl:
            self.skipTest("kubectl not installed")
        r = subprocess.run([kubectl, "kustomize", self.m.dir], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, f"kubectl kustomize failed:\n{r.stderr}")
        built = [d for d in yaml.safe_load_all(r.stdout) if d]
        self.assertEqual(sorted((o["kind"], o["metadata"]["name"]) for o in built),
                         sorted((o["kind"], o["metadata"]["name"]) for o in self.m.objects))
        for o in built:
            if o["kind"] == "Deployment":
                self.assertEqual(container(o)["image"].split("/")[-1], "sluice:latest")

    def test_selectors_match_pod_labels(self):
        pods = {}
        for d in self.m.of_kind("Deployment"):
            name = d["metadata"]["name"]
            selector = d["spec"]["selector"]["matchLabels"]
            labels = d["spec"]["template"]["metadata"]["labels"]
            self.assertTrue(selector, f"{name}: empty selector")
            for k, v in selector.items():
                self.assertEqual(labels.get(k), v,
                                 f"{name}: selector {k}={v} does not match the pod template "
                                 f"labels {labels}")
            pods[name] = labels
        jm = self.m.deployment("jobmanager")
        tm = self.m.deployment("taskmanager")
        self.assertEqual(jm["spec"].get("replicas", 1), 1, "exactly one JobManager")
        self.assertGreaterEqual(tm["spec"].get("replicas", 1), 1)
        # The Deployments' selectors must not overlap, or each would adopt the other's pods.
        jm_sel = jm["spec"]["selector"]["matchLabels"]
        tm_sel = tm["spec"]["selector"]["matchLabels"]
        self.assertFalse(all(pods[tm["metadata"]["name"]].get(k) == v for k, v in jm_sel.items()),
                         "the JobManager selector also selects TaskManager pods")
        self.assertFalse(all(pods[jm["metadata"]["name"]].get(k) == v for k, v in tm_sel.items()),
                         "the TaskManager selector also selects JobManager pods")
        svc = self.m.one("Service")
        selector = svc["spec"]["selector"]
        selects = {name for name, labels in pods.items()
                   if all(labels.get(k) == v for k, v in selector.items())}
        self.assertEqual(selects, {jm["metadata"]["name"]},
                         f"Service selector {selector} must select the JobManager pods only")

    def test_ports_match_the_configuration(self):
        config = self.m.cluster_config()
        rpc, rest = int(config["jobmanager.rpc.port"]), int(config["rest.port"])
        self.assertGreater(rpc, 0)
        self.assertGreater(rest, 0)
        jm = container(self.m.deployment("jobmanager"))
        self.assertEqual({p["containerPort"] for p in jm.get("ports", [])}, {rpc, rest},
                         "JobManager container ports")
        svc = self.m.one("Service")
        self.assertIn(svc["spec"].get("type", "ClusterIP"), ("ClusterIP",))
        by_port = {p["port"]: p for p in svc["spec"]["ports"]}
        self.assertEqual(set(by_port), {rpc, rest}, "Service ports")
        for port in (rpc, rest):
            target = by_port[port].get("targetPort", port)
            self.assertEqual(container_port(jm, target), port,
                             f"Service port {port} targets container port {target}")
        tm = container(self.m.deployment("taskmanager"))
        tm_ports = {p["containerPort"] for p in tm.get("ports", [])}
        for key in ("taskmanager.rpc.port", "metrics.reporter.prom.port"):
            port = single_port(config.get(key, 0))
            if port:
                self.assertIn(port, tm_ports, f"the TaskManager container declares {key}")

    def test_prometheus_annotations_name_the_metrics_ports(self):
        config = self.m.cluster_config()
        expected = {"jobmanager": single_port(config["rest.port"]),
                    "taskmanager": single_port(config.get("metrics.reporter.prom.port", -1))}
        for component, port in expected.items():
            d = self.m.deployment(component)
            ann = d["spec"]["template"]["metadata"].get("annotations") or {}
            if ann.get("prometheus.io/scrape") != "true":
                continue
            self.assertIsNotNone(port, f"{component}: scraped, but no fixed metrics port")
            self.assertEqual(int(ann.get("prometheus.io/port", -1)), port,
                             f"{component}: prometheus.io/port")
            self.assertIn(port, {p["containerPort"] for p in container(d).get("ports", [])},
                          f"{component}: prometheus.io/port is not a container port")
            self.assertEqual(ann.get("prometheus.io/path", "/metrics"), "/metrics")

    def test_probes_point_at_the_rest_port(self):
        config = self.m.cluster_config()
        jm = container(self.m.deployment("jobmanager"))
        for probe in ("readinessProbe", "livenessProbe"):
            p = jm.get(probe)
            self.assertTrue(p, f"JobManager has no {probe}")
            get = p.get("httpGet")
            self.assertTrue(get, f"JobManager {probe} is not an HTTP GET")
            self.assertEqual(get.get("path"), "/overview")
            self.assertEqual(container_port(jm, get["port"]), int(config["rest.port"]),
                             f"JobManager {probe} port")
        tm = container(self.m.deployment("taskmanager"))
        for probe in ("readinessProbe", "livenessProbe"):
            p = tm.get(probe)
            if p and "tcpSocket" in p:
                self.assertEqual(container_port(tm, p["tcpSocket"]["port"]),
                                 int(config["taskmanager.rpc.port"]), f"TaskManager {probe}")

    def test_taskmanagers_reach_the_jobmanager_service_and_advertise_their_pod_ip(self):
        config = self.m.cluster_config()
        svc = self.m.one("Service")["metadata"]["name"]
        address = str(config["jobmanager.rpc.address"])
        self.assertTrue(address == svc or address.startswith(svc + "."),
                        f"jobmanager.rpc.address {address!r} is not the Service {svc!r} "
                        f"(or its {svc}.<namespace>.svc... name)")
        tm = container(self.m.deployment("taskmanager"))
        argv = container_argv(tm)
        host = flag_value(argv, "--host")
        self.assertIsNotNone(host, f"the TaskManager must get --host (taskmanager.host): {argv}")
        m = re.fullmatch(r"\$\((\w+)\)", host)
        self.assertTrue(m, f"--host {host!r} is not an env reference $(VAR)")
        env = {e["name"]: e for e in tm.get("env", [])}
        self.assertIn(m.group(1), env)
        self.assertEqual(env[m.group(1)].get("valueFrom", {}).get("fieldRef", {}).get("fieldPath"),
                         "status.podIP", "--host must be the pod IP from the downward API")
        self.assertNotIn("taskmanager.host", config,
                         "taskmanager.host in the shared ConfigMap would give every TaskManager "
                         "the same address")

    def test_config_is_mounted_where_the_daemons_read_it(self):
        cm = self.m.configmap()["metadata"]["name"]
        for component in ("jobmanager", "taskmanager"):
            d = self.m.deployment(component)
            c = container(d)
            argv = container_argv(c)
            path = flag_value(argv, "--config")
            self.assertTrue(path, f"{component}: no --config in {argv}")
            volumes = {v["name"]: v for v in d["spec"]["template"]["spec"].get("volumes", [])}
            mounted = False
            for mount in c.get("volumeMounts", []):
                v = volumes.get(mount["name"], {})
                if (v.get("configMap") or {}).get("name") == cm and \
                        os.path.join(mount["mountPath"], "config.yaml") == path:
                    mounted = True
            self.assertTrue(mounted, f"{component}: ConfigMap {cm} is not mounted so that "
                                     f"{path} is its config.yaml")
            binary = os.path.basename(argv[0])
            self.assertEqual(binary, f"sluice-{component}")
            self.assertEqual(c.get("image", "").split("/")[-1], "sluice:latest")
            assert_flags_accepted(self, Config.binary(binary), argv, f"{component} Deployment")

    def test_checkpoint_volume_is_shared_and_mounted_at_the_state_directories(self):
        config = self.m.cluster_config()
        pvc = self.m.one("PersistentVolumeClaim")
        self.assertIn("ReadWriteMany", pvc["spec"]["accessModes"])
        claim = pvc["metadata"]["name"]
        for component in ("jobmanager", "taskmanager"):
            d = self.m.deployment(component)
            volumes = [v["name"] for v in d["spec"]["template"]["spec"].get("volumes", [])
                       if (v.get("persistentVolumeClaim") or {}).get("claimName") == claim]
            self.assertEqual(len(volumes), 1, f"{component}: the PVC {claim} is not a volume")
            mounts = [mt["mountPath"] for mt in container(d).get("volumeMounts", [])
                      if mt["name"] == volumes[0]]
            self.assertEqual(len(mounts), 1, f"{component}: the PVC volume is not mounted")
            for key in ("state.checkpoints.dir", "state.savepoints.dir"):
                self.assertIn(key, config)
                self.assertTrue(under(config[key], mounts[0]),
                                f"{component}: {key} {config[key]} is not on the PVC mounted at "
                                f"{mounts[0]}")


# ---------------------------------------------------------------------------------------------
# The example configuration file

CONFIG_PARTS = ("deploy", "config", "config.yaml")


def config_comments(text):
    """{key: the comment block right above its line}."""
    out, block = {}, []
    for line in text.splitlines():
        if line.startswith("#"):
            block.append(line.lstrip("#").strip())
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*:", line)
        if m:
            out[m.group(1)] = " ".join(block)
        block = []
    return out


class ConfigFileTest(unittest.TestCase):

    def test_lists_exactly_the_known_keys(self):
        text = read(repo_path(*CONFIG_PARTS))
        keys = set(load_config_text(text, "deploy/config/config.yaml"))
        known = set(known_keys())
        self.assertEqual(sorted(keys - known), [], "keys the daemons do not know (kKeys)")
        self.assertEqual(sorted(known - keys), [], "known keys missing from the example")
        self.assertEqual(sorted(keys - documented_keys()), [],
                         "keys missing from docs/configuration.md's configuration table")
        self.assertEqual(sorted(documented_keys() - known), [],
                         "docs/configuration.md documents keys the daemons do not know")
        cluster = set(Manifests().cluster_config())
        self.assertEqual(sorted(cluster - known), [], "ConfigMap keys the daemons do not know")

    def test_every_key_has_its_meaning_unit_and_default(self):
        text = read(repo_path(*CONFIG_PARTS))
        comments = config_comments(text)
        for key, default in known_keys().items():
            comment = comments.get(key, "")
            self.assertGreater(len(comment), 30, f"{key}: no comment explaining it")
            self.assertIn("Unit:", comment, f"{key}: the comment gives no unit")
            self.assertIn("Default:", comment, f"{key}: the comment gives no default")
            if default:
                self.assertIn(f"Default: {default}", comment,
                              f"{key}: the daemons' default is {default!r}")

    def test_production_state_directories(self):
        config = load_config_text(read(repo_path(*CONFIG_PARTS)), "config.yaml")
        for key in ("state.checkpoints.dir", "state.savepoints.dir", "blob.storage.directory",
                    "io.tmp.dirs"):
            self.assertTrue(under(str(config[key]), "/var/lib/sluice"), f"{key}: {config[key]}")


# ---------------------------------------------------------------------------------------------
# Real daemons with the shipped configurations


class ClusterRun:
    """A JobManager and one TaskManager started from given argv and config copies."""

    def __init__(self, test, name):
        self.test = test
        self.dir = harness.make_temp_dir(f"deploy-{name}")
        self.daemons = []
        harness.on_cleanup(self.kill)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def start_jobmanager(self, argv):
        ports_file = self.path("jobmanager.ports")
        jm = Daemon("jobmanager", argv + ["--ports-file", ports_file],
                    self.path("jobmanager.log"))
        self.daemons.append(jm)

        def ports():
            self._alive(jm)
            try:
                text = read(ports_file)
            except FileNotFoundError:
                return None
            kv = dict(line.split("=", 1) for line in text.split() if "=" in line)
            if "rpc" in kv and "rest" in kv:
                return int(kv["rpc"]), int(kv["rest"])
            return None

        self.rpc_port, self.rest_port = wait_until(ports, STARTUP_TIMEOUT_S,
                                                   f"the JobManager to write {ports_file}")
        self.test.assertGreater(self.rest_port, 0, "the REST API is off")

        def overview():
            self._alive(jm)
            try:
                status, body = http_get("127.0.0.1", self.rest_port, "/overview")
            except OSError:
                return None
            return body if status == 200 else None

        wait_until(overview, STARTUP_TIMEOUT_S, "GET /overview (the probe) to answer 200")
        return jm

    def start_taskmanager(self, argv):
        tm = Daemon("taskmanager", argv, self.path("taskmanager.log"))
        self.daemons.append(tm)

        def registered():
            self._alive(tm)
            try:
                status, body = http_get("127.0.0.1", self.rest_port, "/taskmanagers")
            except OSError:
                return None
            if status != 200 or not isinstance(body, dict):
                return None
            return body.get("taskmanagers") or None

        entries = wait_until(registered, STARTUP_TIMEOUT_S,
                             "the TaskManager to appear in REST /taskmanagers")
        self.test.assertEqual(len(entries), 1, entries)
        return tm, entries[0]

    def stop_all(self):
        """SIGTERM, TaskManager first; asserts that both exit 0."""
        for d in reversed(self.daemons):
            code = d.stop(STOP_TIMEOUT_S)
            self.test.assertEqual(code, 0, f"{d.name} did not exit 0 after SIGTERM (code "
                                           f"{code}); log:\n{d.log_text()[-5000:]}")

    def kill(self):
        for d in self.daemons:
            d.kill()
            d.stop(5)

    @staticmethod
    def _alive(d):
        if not d.alive():
            raise AssertionError(f"{d.name} exited with code {d.popen.returncode}; log:\n"
                                 f"{d.log_text()[-5000:]}")


def jobmanager_overrides(run, config):
    """Loopback, free ports, temp dirs: the JobManager's copy of a config."""
    o = {"jobmanager.rpc.port": 0, "rest.port": 0, "jobmanager.bind-host": "127.0.0.1",
         "rest.bind-address": "127.0.0.1",
         "state.checkpoints.dir": run.path("checkpoints"),
         "state.savepoints.dir": run.path("savepoints"),
         "blob.storage.directory": run.path("blobs-jobmanager")}
    if "env.log.dir" in config:
        o["env.log.dir"] = run.path("logs-jobmanager")
    if "io.tmp.dirs" in config:
        o["io.tmp.dirs"] = run.path("tmp")
    if "taskmanager.rpc.port" in config:
        o["taskmanager.rpc.port"] = 0
    if "taskmanager.bind-host" in config:
        o["taskmanager.bind-host"] = "127.0.0.1"
    return o


def taskmanager_overrides(run, config, jobmanager_host="127.0.0.1", metrics_port=0):
    o = jobmanager_overrides(run, config)
    o.update({"jobmanager.rpc.address": jobmanager_host, "jobmanager.rpc.port": run.rpc_port,
              "taskmanager.rpc.port": 0, "taskmanager.bind-host": "127.0.0.1",
              "blob.storage.directory": run.path("blobs-taskmanager")})
    if "env.log.dir" in config:
        o["env.log.dir"] = run.path("logs-taskmanager")
    if "taskmanager.host" in config:
        o["taskmanager.host"] = "127.0.0.1"
    if "metrics.reporter.prom.port" in config:
        o["metrics.reporter.prom.port"] = metrics_port
    return o


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def single_port(value):
    """A config port value -> int, or None for a range / off / any."""
    try:
        port = int(str(value))
    except ValueError:
        return None
    return port if port > 0 else None


def substitute_config_path(argv, config_copy):
    out = list(argv)
    for i, a in enumerate(out):
        if a == "--config" and i + 1 < len(out):
            out[i + 1] = config_copy
    return out


def unit_exec_start(path):
    unit = parse_unit(path)
    return shlex.split(unit["Service"]["ExecStart"])


class DaemonsAcceptConfigTest(unittest.TestCase):

    def test_a_bad_value_is_refused(self):
        # Control: the daemons do check the file (so a clean start below means something).
        run = ClusterRun(self, "bad-value")
        text = edit_config(read(repo_path(*CONFIG_PARTS)), {"rest.port": "lots"})
        cfg = run.write("bad.yaml", text)
        r = subprocess.run([Config.binary("sluice-jobmanager"), "--config", cfg],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, r"bad\.yaml:\d+:\d+: bad value 'lots' for configuration key "
                                   r"'rest\.port'")

    def test_the_example_config_with_the_systemd_command_lines(self):
        run = ClusterRun(self, "systemd")
        text = read(repo_path(*CONFIG_PARTS))
        config = load_config_text(text, "config.yaml")
        jm_cfg = run.write("jobmanager.yaml", edit_config(text, jobmanager_overrides(run, config)))
        argv = unit_exec_start(repo_path("deploy", "systemd", "sluice-jobmanager.service"))
        argv = [Config.binary(os.path.basename(argv[0]))] + substitute_config_path(argv[1:],
                                                                                   jm_cfg)
        run.start_jobmanager(argv)
        tm_cfg = run.write("taskmanager.yaml",
                           edit_config(text, taskmanager_overrides(run, config)))
        argv = unit_exec_start(repo_path("deploy", "systemd", "sluice-taskmanager.service"))
        argv = [Config.binary(os.path.basename(argv[0]))] + substitute_config_path(argv[1:],
                                                                                   tm_cfg)
        _, entry = run.start_taskmanager(argv)
        self.assertTrue(str(entry.get("path", "")).startswith("127.0.0.1:"), entry)
        self.assertEqual(int(entry.get("slotsNumber", -1)),
                         int(config["taskmanager.numberOfTaskSlots"]), entry)
        run.stop_all()

    def test_the_configmap_with_the_deployments_command_lines(self):
        m = Manifests()
        run = ClusterRun(self, "kubernetes")
        text = m.configmap()["data"]["config.yaml"]
        config = load_config_text(text, "ConfigMap config.yaml")
        pod_name = "sluice-taskmanager-5d8f7c9b4-x2x7q"

        def argv_of(component, config_copy):
            c = container(m.deployment(component))
            env = {}
            for e in c.get("env", []):
                field = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
                env[e["name"]] = {"status.podIP": "127.0.0.1", "metadata.name": pod_name,
                                  None: e.get("value")}.get(field, f"<{field}>")
            argv = container_argv(c)
            argv = [re.sub(r"\$\((\w+)\)", lambda mm: str(env.get(mm.group(1), mm.group(0))), a)
                    for a in argv]
            return [Config.binary(os.path.basename(argv[0]))] + \
                substitute_config_path(argv[1:], config_copy)

        jm_cfg = run.write("jobmanager.yaml", edit_config(text, jobmanager_overrides(run, config)))
        run.start_jobmanager(argv_of("jobmanager", jm_cfg))
        # A host name, as the Service's is (resolved by the TaskManager, not an IP literal).
        metrics_port = free_port()
        tm_cfg = run.write("taskmanager.yaml", edit_config(
            text, taskmanager_overrides(run, config, "localhost", metrics_port)))
        _, entry = run.start_taskmanager(argv_of("taskmanager", tm_cfg))
        # --host $(POD_IP) and --resource-id $(POD_NAME) took effect.
        self.assertTrue(str(entry.get("path", "")).startswith("127.0.0.1:"), entry)
        self.assertEqual(entry.get("id"), pod_name, entry)
        self.assertEqual(int(entry.get("slotsNumber", -1)),
                         int(config["taskmanager.numberOfTaskSlots"]), entry)
        # What the pods' prometheus.io annotations point scrapers at answers.
        for component, port in (("jobmanager", run.rest_port), ("taskmanager", metrics_port)):
            ann = m.deployment(component)["spec"]["template"]["metadata"].get("annotations") or {}
            if ann.get("prometheus.io/scrape") == "true":
                path = ann.get("prometheus.io/path", "/metrics")
                status, body = http_get("127.0.0.1", port, path)
                self.assertEqual(status, 200, f"{component} GET {path}: {str(body)[:500]}")
        run.stop_all()


# ---------------------------------------------------------------------------------------------
# systemd units

UNITS = ("sluice-jobmanager.service", "sluice-taskmanager.service")


def parse_unit(path):
    p = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                  comment_prefixes=("#", ";"), empty_lines_in_values=False)
    p.optionxform = str  # systemd keys are case-sensitive
    with open(path) as f:
        p.read_file(f, source=path)
    return p


class SystemdUnitsTest(unittest.TestCase):

    def unit(self, name):
        return parse_unit(repo_path("deploy", "systemd", name))

    def test_units_run_the_daemons_as_sluice_with_hardening(self):
        config = load_config_text(read(repo_path(*CONFIG_PARTS)), "config.yaml")
        for name in UNITS:
            u = self.unit(name)
            for section in ("Unit", "Service", "Install"):
                self.assertIn(section, u, f"{name}: no [{section}]")
            s = u["Service"]
            self.assertIn(s.get("Type"), ("simple", "exec"), name)
            self.assertEqual(s.get("User"), "sluice", name)
            self.assertEqual(s.get("Restart"), "on-failure", name)
            self.assertEqual(s.get("NoNewPrivileges"), "yes", name)
            self.assertEqual(s.get("ProtectSystem"), "strict", name)
            self.assertEqual(s.get("KillSignal"), "SIGTERM", name)
            self.assertTrue(s.get("TimeoutStopSec"), name)
            self.assertRegex(s.get("LimitNOFILE", ""), r"^\d+$", name)
            self.assertEqual(u["Install"].get("WantedBy"), "multi-user.target", name)
            writable = s.get("ReadWritePaths", "").split()
            self.assertIn("/var/lib/sluice", writable, name)
            self.assertIn("/var/log/sluice", writable, name)
            # The state the daemons write must be writable under ProtectSystem=strict.
            for key in ("state.checkpoints.dir", "state.savepoints.dir",
                        "blob.storage.directory"):
                self.assertTrue(any(under(str(config[key]), w) for w in writable),
                                f"{name}: {key} {config[key]} is read-only for the service")
            argv = shlex.split(s["ExecStart"])
            daemon = name.removesuffix(".service")
            self.assertEqual(argv[0], f"/usr/local/bin/{daemon}")
            self.assertEqual(flag_value(argv, "--config"), "/etc/sluice/config.yaml")

    def test_exec_start_binaries_exist_in_the_install_layout_and_accept_their_flags(self):
        prefix = install_prefix()
        for name in UNITS:
            argv = shlex.split(self.unit(name)["Service"]["ExecStart"])
            installed = os.path.join(prefix, os.path.relpath(argv[0], "/usr/local"))
            self.assertTrue(os.access(installed, os.X_OK),
                            f"{name}: ExecStart {argv[0]} is not in the install layout "
                            f"({installed})")
            assert_flags_accepted(self, installed, argv[1:], name)

    def test_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze not installed")
        prefix = install_prefix()
        tmp = harness.make_temp_dir("deploy-units")
        paths = []
        for name in UNITS:
            # ExecStart pointed at the installed binaries (verify checks they are executable).
            text = read(repo_path("deploy", "systemd", name)).replace(
                "/usr/local/bin/", os.path.join(prefix, "bin") + "/")
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            paths.append(path)
        r = subprocess.run([analyze, "verify"] + paths, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        output = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, output)
        complaints = [line for line in output.splitlines() if ".service" in line]
        self.assertEqual(complaints, [], output)


# ---------------------------------------------------------------------------------------------
# cmake --install layout


class InstallLayoutTest(unittest.TestCase):

    def test_install_lays_out_binaries_config_docs_examples_and_units(self):
        prefix = install_prefix()
        expected = [os.path.join("bin", b)
                    for b in ("sluice", "sluice-jobmanager", "sluice-taskmanager")]
        expected += [os.path.join("share", "doc", "sluice", "README.md")]
        expected += [os.path.join("share", "doc", "sluice", os.path.basename(p))
                     for p in glob.glob(repo_path("docs", "*.md"))]
        examples = os.path.join("share", "sluice", "examples")
        expected += [os.path.join(examples, os.path.basename(p))
                     for p in glob.glob(repo_path("examples", "*.yaml"))]
        expected += [os.path.join(examples, "sql", os.path.relpath(p, repo_path("examples", "sql")))
                     for p in glob.glob(repo_path("examples", "sql", "**", "*"), recursive=True)
                     if os.path.isfile(p)]
        expected += [os.path.join(examples, "data", "README.md"),
                     os.path.join(examples, "data", "flights-2001-01.csv.gz")]
        missing = [p for p in expected if not os.path.isfile(os.path.join(prefix, p))]
        self.assertEqual(missing, [], f"missing from the install layout {prefix}")
        for b in ("sluice", "sluice-jobmanager", "sluice-taskmanager"):
            self.assertTrue(os.access(os.path.join(prefix, "bin", b), os.X_OK), b)
        # Copies of the repository's files, not stale ones.
        same = {os.path.join("etc", "sluice", "config.yaml"): repo_path(*CONFIG_PARTS)}
        for name in UNITS:
            same[os.path.join("lib", "systemd", "system", name)] = repo_path("deploy", "systemd",
                                                                             name)
        for installed, source in same.items():
            path = os.path.join(prefix, installed)
            self.assertTrue(os.path.isfile(path), f"{installed} not installed")
            self.assertEqual(read(path), read(source), f"{installed} differs from {source}")
        # The installed example specs find their data where they look for it.
        for spec in glob.glob(os.path.join(prefix, examples, "*.yaml")):
            for rel in re.findall(r"path:\s*(data/\S+)", read(spec)):
                self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(spec), rel)),
                                f"{spec} reads {rel}, not installed")


# ---------------------------------------------------------------------------------------------
# Dockerfile

DEBIAN_12 = re.compile(r"^(docker\.io/)?(library/)?debian:(12|bookworm)([.\-][\w.\-]*)?$")
# Libraries every debian:12 image has (libc, the C++ runtime): not installed by the Dockerfile.
BASE_IMAGE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}


def dockerfile_instructions(text):
    """[(stage index, INSTRUCTION, arguments)] with continuations joined, comments dropped."""
    out, stage, pending = [], -1, ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if not line:
            continue
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            stage += 1
        out.append((stage, instr, args.strip()))
    return out


def apt_packages(run_args):
    """Package names of `apt-get install ...` commands in a RUN."""
    pkgs = []
    for command in re.split(r"&&|;|\|\|", run_args):
        words = command.split()
        if "apt-get" in words and "install" in words:
            for w in words[words.index("install") + 1:]:
                if not w.startswith("-"):
                    pkgs.append(w)
    return pkgs


class DockerfileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.path = repo_path("deploy", "docker", "Dockerfile")
        cls.instructions = dockerfile_instructions(read(cls.path))
        cls.froms = [(s, a) for s, i, a in cls.instructions if i == "FROM"]

    def stage_runs(self, stage):
        return [a for s, i, a in self.instructions if i == "RUN" and s == stage]

    def runtime_packages(self):
        last = len(self.froms) - 1
        return [p for run in self.stage_runs(last) for p in apt_packages(run)]

    def test_stages_are_debian_12(self):
        self.assertGreaterEqual(len(self.froms), 2, "expected a build and a runtime stage")
        for _, args in self.froms:
            image = args.split()[0]
            self.assertRegex(image, DEBIAN_12, f"FROM {args}")

    def test_build_stage_installs_deps_builds_and_installs_to_opt_sluice(self):
        build_runs = " ".join(self.stage_runs(0))
        self.assertIn("scripts/install-deps.sh", build_runs)
        self.assertRegex(build_runs, r"cmake -S \. -B build\b.*-DCMAKE_BUILD_TYPE=Release")
        self.assertRegex(build_runs, r"cmake --build build\b")
        self.assertRegex(build_runs, r"cmake --install build --prefix /opt/sluice\b")
        copies = [a for s, i, a in self.instructions if i == "COPY" and s == len(self.froms) - 1]
        build_name = self.froms[0][1].split()[-1] if " as " in self.froms[0][1].lower() else "0"
        self.assertTrue(any(re.match(rf"--from={re.escape(build_name)}\s+/opt/sluice\b", c)
                            for c in copies), f"runtime stage does not copy /opt/sluice: {copies}")

    def test_no_entrypoint_and_the_ports_of_the_configuration(self):
        self.assertEqual([a for _, i, a in self.instructions if i in ("ENTRYPOINT", "CMD")], [])
        exposed = set()
        for s, i, a in self.instructions:
            if i == "EXPOSE" and s == len(self.froms) - 1:
                exposed |= {int(p.split("/")[0]) for p in a.split()}
        for config in (load_config_text(read(repo_path(*CONFIG_PARTS)), "config.yaml"),
                       Manifests().cluster_config()):
            for key in ("jobmanager.rpc.port", "rest.port"):
                self.assertIn(int(config[key]), exposed, f"{key} not EXPOSEd")

    def test_runs_as_the_uid_the_pods_use(self):
        runtime = len(self.froms) - 1
        users = [a for s, i, a in self.instructions if i == "USER" and s == runtime]
        self.assertTrue(users and users[-1] not in ("root", "0"), f"USER {users}")
        runs = " ".join(self.stage_runs(runtime))
        m = re.search(r"useradd\b[^&;]*--uid\s+(\d+)[^&;]*\bsluice\b", runs)
        self.assertTrue(m, "the runtime stage does not create the user sluice with a fixed uid")
        uid = int(m.group(1))
        manifests = Manifests()
        for component in ("jobmanager", "taskmanager"):
            d = manifests.deployment(component)
            ctx = d["spec"]["template"]["spec"].get("securityContext", {})
            self.assertEqual(ctx.get("runAsUser"), uid, f"{component} runAsUser")
            argv0 = container_argv(container(d))[0]
            self.assertTrue(argv0.startswith("/opt/sluice/bin/"),
                            f"{component} runs {argv0}, the image installs to /opt/sluice")

    def test_runtime_packages_exist_in_apt(self):
        apt_cache = shutil.which("apt-cache")
        if not apt_cache:
            self.skipTest("apt-cache not installed")
        pkgs = self.runtime_packages()
        self.assertGreater(len(pkgs), 5, pkgs)
        for p in pkgs:
            self.assertFalse(p.endswith("-dev"), f"{p}: a -dev package in the runtime stage")
        # One call for all (apt-cache is slow to start); it fails if any package is unknown.
        r = subprocess.run([apt_cache, "show"] + pkgs, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        known = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
        self.assertEqual(sorted(set(pkgs) - known), [],
                         f"packages apt does not know (apt-cache show): {r.stderr}")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_runtime_packages_provide_every_library_of_the_binaries(self):
        for tool in ("readelf", "ldd", "dpkg"):
            if not shutil.which(tool):
                self.skipTest(f"{tool} not installed")
        provided = self.installed_closure(self.runtime_packages()) | BASE_IMAGE_PACKAGES
        missing = {}
        for binary in ("sluice", "sluice-jobmanager", "sluice-taskmanager"):
            path = Config.binary(binary)
            dyn = subprocess.run(["readelf", "-d", path], capture_output=True, text=True,
                                 timeout=60, check=True).stdout
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
            self.assertTrue(needed, f"{binary}: no NEEDED entries")
            ldd = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=60).stdout
            resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
            for soname in needed:
                lib = resolved.get(soname)
                self.assertTrue(lib and lib != "not", f"{binary}: {soname} not found by ldd")
                package = self.package_of(lib)
                if package not in provided:
                    missing.setdefault(package, set()).add(soname)
        self.assertEqual(missing, {}, "shared libraries whose packages the runtime stage does "
                                      "not install")

    @staticmethod
    def installed_closure(packages):
        """The packages apt-get install brings: the packages and their Depends/PreDepends."""
        apt_cache = shutil.which("apt-cache")
        if not apt_cache:
            return set(packages)
        r = subprocess.run([apt_cache, "depends", "--recurse", "--no-recommends",
                            "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces",
                            "--no-enhances"] + list(packages),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"apt-cache depends failed: {r.stderr}")
        closure = set(packages)
        for line in r.stdout.splitlines():
            m = (re.match(r"^\s*\|?(?:Pre)?Depends: ([^\s<>]+)", line)
                 or re.match(r"^(\S+)$", line))
            if m:
                closure.add(m.group(1).split(":")[0])
        return closure

    @staticmethod
    @functools.lru_cache(maxsize=None)
    def package_of(lib):
        candidates = [lib, os.path.realpath(lib)]
        for c in list(candidates):  # merged /usr: dpkg may know either spelling
            if c.startswith("/usr/"):
                candidates.append(c[len("/usr"):])
            else:
                candidates.append("/usr" + c)
        for c in candidates:
            r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True, timeout=60)
            if r.returncode == 0:
                return r.stdout.split(":")[0].split(",")[0].strip()
        raise AssertionError(f"no Debian package owns {lib}")


if __name__ == "__main__":
    _take_build_dir_arg()
    harness.main()
