"""A minimal stand-in for a Confluent Schema Registry (a real one cannot be installed here:
it is a JVM service outside Debian). It serves, from memory, on 127.0.0.1 and a free port, the
REST endpoints Sluice's client uses (runtime/formats/schema_registry.h):

  GET  /schemas/ids/{id}                    {"schema": "..."}
  GET  /subjects                            ["name", ...]
  GET  /subjects/{subject}/versions         [1, 2, ...]
  GET  /subjects/{subject}/versions/latest  {"subject", "version", "id", "schema"}
  POST /subjects/{subject}/versions         {"schema": "..."} -> {"id": n}

Errors use the registry's body, {"error_code": 40401, "message": "Subject not found."}.
Registering a schema identical to a registered one returns that id. No compatibility checks.
Runs in a thread of the test process; stop() shuts it down (use try/finally).
"""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SchemaRegistry:

    def __init__(self):
        self._lock = threading.Lock()
        self._schemas = []   # id - 1 -> schema text
        self._subjects = {}  # subject -> [id by version]
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _parts(self):
                path = urllib.parse.urlsplit(self.path).path
                return [urllib.parse.unquote(p) for p in path.strip("/").split("/")]

            def do_GET(self):
                status, body = registry._get(self._parts())
                self._send(status, body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                parts = self._parts()
                if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
                    return self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                try:
                    schema = json.loads(raw)["schema"]
                    json.loads(schema)
                except (ValueError, KeyError, TypeError):
                    return self._send(422, {"error_code": 42201, "message": "Invalid schema"})
                self._send(200, {"id": registry.register(parts[1], schema)})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def register(self, subject, schema):
        """Registers `schema` (JSON text) under `subject`, as a producer would; returns its id."""
        with self._lock:
            if schema in self._schemas:
                sid = self._schemas.index(schema) + 1
            else:
                self._schemas.append(schema)
                sid = len(self._schemas)
            versions = self._subjects.setdefault(subject, [])
            if not versions or versions[-1] != sid:
                versions.append(sid)
            return sid

    def latest(self, subject):
        with self._lock:
            sid = self._subjects[subject][-1]
            return sid, self._schemas[sid - 1]

    def _get(self, parts):
        missing = (404, {"error_code": 40401, "message": "Subject not found."})
        with self._lock:
            if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                sid = int(parts[2])
                if 1 <= sid <= len(self._schemas):
                    return 200, {"schema": self._schemas[sid - 1]}
                return 404, {"error_code": 40403, "message": "Schema not found"}
            if parts == ["subjects"]:
                return 200, sorted(self._subjects)
            if len(parts) >= 3 and parts[0] == "subjects" and parts[2] == "versions":
                versions = self._subjects.get(parts[1])
                if versions is None:
                    return missing
                if len(parts) == 3:
                    return 200, list(range(1, len(versions) + 1))
                if len(parts) == 4 and parts[3] == "latest":
                    sid = versions[-1]
                    return 200, {"subject": parts[1], "version": len(versions), "id": sid,
                                 "schema": self._schemas[sid - 1]}
            return 404, {"error_code": 404, "message": "HTTP 404 Not Found"}

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
