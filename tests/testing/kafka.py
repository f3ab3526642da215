"""Helpers for tests against sluice-kafka-dev (tools/kafka-dev): the broker process, kcat and
subprocess runs that die with the test. Shared by the Kafka e2e tests."""

import ctypes
import os
import shutil
import signal
import subprocess
import sys

from testing import harness
from testing.harness import Config, wait_until


def _die_with_parent():
    """preexec_fn: the tool gets SIGKILL when the test process dies (Linux prctl)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def kcat():
    path = shutil.which("kcat")
    if not path:
        raise AssertionError("kcat is not installed (Debian package kcat; scripts/install-deps.sh)")
    return path


def run(argv, timeout_s=120):
    """Runs a client to completion; returns the CompletedProcess (text), failing on a timeout."""
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout_s, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"timed out after {timeout_s} s: {' '.join(argv)}\n"
                             f"stdout: {e.stdout!r}\nstderr: {e.stderr!r}")


class KafkaDev:
    """One sluice-kafka-dev process; stdout and stderr go to files in a temp dir.

    Always stopped: by the test's finally (stop()), and by a cleanup hook (kill) at exit.
    """

    def __init__(self, args, control=False, name="kafka-dev"):
        self.dir = harness.make_temp_dir(name)
        self.port_file = os.path.join(self.dir, "bootstrap.txt")
        self.stdout_path = os.path.join(self.dir, "stdout.txt")
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        self.argv = ([Config.binary("sluice-kafka-dev")] + list(args) +
                     ["--port-file", self.port_file] + (["--control-stdin"] if control else []))
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.popen = subprocess.Popen(self.argv,
                                      stdin=subprocess.PIPE if control else subprocess.DEVNULL,
                                      stdout=self._out, stderr=self._err,
                                      preexec_fn=_die_with_parent)
        self.replies = 0
        harness.on_cleanup(self.kill)
        harness.on_failure(self.dump)

    def stdout_lines(self):
        with open(self.stdout_path, errors="replace") as f:
            return f.read().splitlines()

    def describe(self):
        with open(self.stderr_path, errors="replace") as f:
            err = f.read()
        return (f"$ {' '.join(self.argv)}\nexit code: {self.popen.poll()}\n--- stdout ---\n"
                + "\n".join(self.stdout_lines()) + f"\n--- stderr ---\n{err[-8000:]}")

    def dump(self):
        print(f"\n===== {self.dir} =====\n{self.describe()}", file=sys.stderr)

    def wait_ready(self, timeout_s=30):
        """Waits for the port file; returns the bootstrap servers it names."""
        def ready():
            if self.popen.poll() is not None:
                raise AssertionError(f"sluice-kafka-dev exited early:\n{self.describe()}")
            try:
                with open(self.port_file) as f:
                    return f.read()
            except FileNotFoundError:
                return None

        text = wait_until(ready, timeout_s, f"sluice-kafka-dev to write {self.port_file}")
        self.bootstrap_line = text.strip()
        assert self.bootstrap_line.startswith("bootstrap.servers="), text
        return self.bootstrap_line[len("bootstrap.servers="):]

    def command(self, line, timeout_s=30):
        """Sends one --control-stdin command; returns its one-line answer."""
        self.popen.stdin.write((line + "\n").encode())
        self.popen.stdin.flush()
        self.replies += 1
        # Line 0 is the bootstrap line; the answer to the n-th command is line n.
        lines = wait_until(lambda: len(self.stdout_lines()) > self.replies and self.stdout_lines(),
                           timeout_s, f"an answer to '{line}':\n{self.describe()}")
        return lines[self.replies]

    def stop(self, sig=signal.SIGTERM, timeout_s=20):
        """Sends `sig` and waits; returns the exit code (None: it had to be killed)."""
        code = None
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                code = self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        else:
            code = self.popen.returncode
        self._close()
        return code

    def kill(self):
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)
        self._close()

    def _close(self):
        for f in (self._out, self._err, self.popen.stdin):
            if f is not None and not f.closed:
                try:
                    f.close()
                except OSError:
                    pass


def produce_lines(bootstrap, topic, partitions, lines, compression="zstd"):
    """Writes `lines` (bytes, without newlines) into partitions 0..partitions-1 of `topic`,
    round-robin (line i to partition i mod partitions), one message per line, with one
    independent `kcat -P -p <partition>` producer per partition. Returns the number written.

    Round-robin keeps the partitions equally full: librdkafka 2.0.2's mock keeps only ~5 MB of
    batches per partition (tools/kafka-dev/README.md), which zstd batches of the flights CSV fit
    at 375,000 rows per partition.
    """
    producers = [subprocess.Popen([kcat(), "-P", "-b", bootstrap, "-t", topic, "-p", str(p),
                                   "-z", compression, "-X", "linger.ms=100"],
                                  stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                                  preexec_fn=_die_with_parent)
                 for p in range(partitions)]
    buffers = [[] for _ in range(partitions)]
    n = 0
    try:
        for line in lines:
            buffers[n % partitions].append(line)
            n += 1
            if n % (partitions * 20000) == 0:
                for p, b in enumerate(buffers):
                    producers[p].stdin.write(b"\n".join(b) + b"\n")
                    b.clear()
        for p, b in enumerate(buffers):
            if b:
                producers[p].stdin.write(b"\n".join(b) + b"\n")
    finally:
        for pr in producers:
            pr.stdin.close()
    for p, pr in enumerate(producers):
        code = pr.wait(timeout=300)
        err = pr.stderr.read().decode(errors="replace")
        pr.stderr.close()
        if code != 0:
            raise AssertionError(f"kcat -P to {topic} partition {p} exited {code}: {err[-2000:]}")
    return n


def end_offsets(bootstrap, topic, partitions, which=-1):
    """The end offset (high watermark; which=-1) or the first offset still held (which=-2) of
    each partition, by `kcat -Q` (a ListOffsets request)."""
    argv = [kcat(), "-Q", "-b", bootstrap]
    for p in range(partitions):
        argv += ["-t", f"{topic}:{p}:{which}"]
    r = run(argv, timeout_s=60)
    if r.returncode != 0:
        raise AssertionError(f"kcat -Q failed: {r.stderr[-2000:]}")
    offsets = {}
    for line in r.stdout.splitlines():
        # "flights [3] offset 375000"
        parts = line.split()
        if len(parts) == 4 and parts[0] == topic and parts[2] == "offset":
            offsets[int(parts[1].strip("[]"))] = int(parts[3])
    if sorted(offsets) != list(range(partitions)):
        raise AssertionError(f"kcat -Q answered for partitions {sorted(offsets)}:\n{r.stdout}")
    return [offsets[p] for p in range(partitions)]


def consume(bootstrap, topic, fmt="%s\\n", timeout_s=120):
    """Every message of `topic` from the start to the current end, formatted by kcat's -f
    (default: the value and a newline), as text."""
    r = run([kcat(), "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
             "-f", fmt], timeout_s=timeout_s)
    if r.returncode != 0:
        raise AssertionError(f"kcat -C {topic} exited {r.returncode}: {r.stderr[-2000:]}")
    return r.stdout


def produce_values(bootstrap, topic, partition, values, work_dir):
    """Writes binary `values` (bytes each, any content) to one partition of `topic`, one
    message each, in order, with an independent `kcat -P` that sends every file it is given as
    one message. Files go to `work_dir`."""
    paths = []
    for i, v in enumerate(values):
        path = os.path.join(work_dir, f"{topic}-{partition}-{i:06d}.bin")
        with open(path, "wb") as f:
            f.write(v)
        paths.append(path)
    for start in range(0, len(paths), 500):  # stay far below the argument list limit
        r = run([kcat(), "-P", "-b", bootstrap, "-t", topic, "-p", str(partition)]
                + paths[start:start + 500], timeout_s=120)
        if r.returncode != 0:
            raise AssertionError(f"kcat -P to {topic} partition {partition} exited "
                                 f"{r.returncode}: {r.stderr[-2000:]}")
    return len(paths)


def consume_keyed_values(bootstrap, topic, timeout_s=120):
    """Every message of `topic` from the start to the current end as (key text, value bytes or
    None for a tombstone), read by kcat with `-f '%k\\t%R%s'` (the value's length as a
    big-endian int32, -1 for null, then its bytes). Keys must not contain a tab."""
    try:
        r = subprocess.run([kcat(), "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e",
                            "-q", "-f", "%k\\t%R%s"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout_s, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"kcat -C {topic} timed out after {timeout_s} s")
    if r.returncode != 0:
        raise AssertionError(f"kcat -C {topic} exited {r.returncode}: {r.stderr[-2000:]!r}")
    out, data, i = [], r.stdout, 0
    while i < len(data):
        tab = data.index(b"\t", i)
        key = data[i:tab].decode()
        n = int.from_bytes(data[tab + 1:tab + 5], "big", signed=True)
        i = tab + 5
        if n < 0:
            out.append((key, None))
        else:
            out.append((key, data[i:i + n]))
            i += n
    return out


def upsert_table(messages, decode=lambda v: v):
    """Applies an upsert topic's (key, value or None) messages in order: returns ({key: decoded
    last value} without deleted keys, the number of tombstones)."""
    table, tombstones = {}, 0
    for key, value in messages:
        if value is None:
            tombstones += 1
            table.pop(key, None)
        else:
            table[key] = decode(value)
    return table, tombstones


def highest_bid_per_auction(bids):
    """{auction: the bid with the highest price} of dicts with "auction" and "price"."""
    best = {}
    for b in bids:
        if b["auction"] not in best or b["price"] > best[b["auction"]]["price"]:
            best[b["auction"]] = b
    return best
