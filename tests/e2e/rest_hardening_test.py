#!/usr/bin/env python3
"""The JobManager's REST server against slow and abusive clients (issue: hardened control plane).

Against a real JobManager (and one TaskManager), on loopback, bounded:
  - 24 clients that trickle half a request line (on the good client's own address, within its
    connection limit) and 120 that hold connections from three other loopback addresses (beyond
    the per-address limit) do not lock others out: GET /overview keeps answering, every time;
  - a declared 100 MB body is answered 413 without being read; a chunked body that grows past
    rest.server.max-content-length is discarded, not kept, and answered 413;
  - bodies just under the limit are read and answered, and afterwards the JobManager's resident
    memory returns to near its baseline (no body is held beyond its request);
  - wrong JSON types answer 400 naming the field; an unknown path 404; a wrong method 405; all with
    Flink's {"errors": [...]}.
"""

import http.client
import json
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import unittest  # noqa: E402

from testing import harness  # noqa: E402
from testing.cluster import Cluster  # noqa: E402
from testing.harness import wait_until  # noqa: E402

LIMIT = 4 << 20  # rest.server.max-content-length default


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def raw_connect(port, source="127.0.0.1", timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_reply(sock):
    """Reads until the server closes or sends a complete header block; returns the text."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return data.decode("latin-1")


class RestHardeningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(taskmanagers=1, slots=1, name="rest-hardening")
        cls.cluster.start()
        cls.port = cls.cluster.rest_port

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def get(self, path, method="GET", body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def test_slow_and_hogging_clients_do_not_lock_others_out(self):
        sockets = []
        try:
            # Trickling clients on the good client's own address, within its connection limit
            # (rest.server.connections-per-address, 32): three times a thread pool of 8.
            for _ in range(24):
                s = raw_connect(self.port)
                s.sendall(b"GET /over")
                sockets.append(s)
            for i in range(120):  # hogs from other loopback addresses, past their limit
                try:
                    s = raw_connect(self.port, source=f"127.0.0.{2 + i % 3}")
                    s.sendall(b"GET /overview HTTP/1.1\r\nHost: x\r\n")
                    sockets.append(s)
                except OSError:
                    pass  # refused: fine
            for _ in range(20):
                status, body = self.get("/overview")
                self.assertEqual(status, 200, body)
                self.assertIn("taskmanagers", json.loads(body))
        finally:
            for s in sockets:
                s.close()

    def test_oversized_bodies_are_413_and_not_read(self):
        for _ in range(5):
            s = raw_connect(self.port)
            s.sendall(b"POST /sql/validate HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                      b"Content-Length: 104857600\r\n\r\n")
            reply = read_reply(s)
            s.close()
            self.assertTrue(reply.startswith("HTTP/1.1 413"), reply[:200])
        s = raw_connect(self.port)
        s.sendall(b"POST /sql/validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b"x" * (1 << 20))
        try:
            for _ in range(8):  # twice the limit: read and discarded, then 413
                s.sendall(chunk)
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed
        reply = read_reply(s)
        s.close()
        self.assertTrue(reply.startswith("HTTP/1.1 413"), reply[:200])
        status, body = self.get("/overview")
        self.assertEqual(status, 200)

    def test_memory_returns_to_baseline_after_large_bodies(self):
        pid = self.cluster.jobmanager.pid
        for _ in range(3):
            self.get("/overview")
        baseline = rss_bytes(pid)
        body = b"{\"target-directory\": \"" + b"a" * (LIMIT - 64) + b"\"}"

        def post():
            for _ in range(5):
                status, _ = self.get("/jobs/00000000000000000000000000000000/savepoints",
                                     method="POST", body=body,
                                     headers={"Content-Type": "application/json"})
                self.assertEqual(status, 404)

        threads = [threading.Thread(target=post) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        # 40 bodies of 4 MiB went through; none is held afterwards.
        wait_until(lambda: rss_bytes(pid) < baseline + (24 << 20), 20,
                   lambda: f"JobManager RSS {rss_bytes(pid) >> 20} MiB back near its baseline "
                           f"{baseline >> 20} MiB")

    def test_error_shapes(self):
        status, body = self.get("/no/such/path")
        self.assertEqual(status, 404)
        self.assertIsInstance(json.loads(body)["errors"], list)
        status, body = self.get("/jobs/overview", method="DELETE")
        self.assertEqual(status, 405)
        self.assertIsInstance(json.loads(body)["errors"], list)
        status, body = self.get("/jobs/00000000000000000000000000000000/savepoints",
                                method="POST", body=b'{"cancel-job": "yes"}',
                                headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertIn("cancel-job", json.loads(body)["errors"][0])


if __name__ == "__main__":
    harness.main()
