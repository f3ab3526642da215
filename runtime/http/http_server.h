#pragma once
// The embedded HTTP/1.1 server of Sluice's daemons: the JobManager's REST API and dashboard, and
// the Prometheus endpoints. Built on GNU libmicrohttpd rather than a thread-per-connection
// server because a control plane must survive slow and abusive clients: connections are served
// by a few event loops (epoll), so a client that trickles its headers holds a socket, not a
// thread; idle connections are closed after `idle_timeout_ms`; each client address may hold at
// most `connections_per_address` connections; a request body larger than `max_body_bytes` is
// answered 413 without being read, and no body is ever buffered beyond that limit.
// See docs/design-decisions.md ("REST server: libmicrohttpd").
//
// Handlers run on the event-loop threads: they must not block for long (a handler that waits
// delays the other connections of its loop, never the server).
//
// Thread safety: Start/Stop from one thread; the router is read concurrently by the loops.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "runtime/http/router.h"

struct MHD_Daemon;

namespace sluice::http {

struct HttpServerOptions {
  // Largest request body, bytes; larger ones answer 413 (Flink: rest.server.max-content-length).
  int64_t max_body_bytes = 4 << 20;
  // Event-loop threads (Flink: rest.server.numThreads).
  int threads = 2;
  // A connection without traffic for this long is closed, ms (whole seconds, rounded up).
  int64_t idle_timeout_ms = 10'000;
  // Concurrent connections per client IP address; more are refused at accept. 0 = no limit.
  int connections_per_address = 32;
  // Concurrent connections in all; more are refused at accept.
  int max_connections = 1024;
  // Memory per connection for the request line, headers and I/O buffers, bytes.
  int64_t connection_memory_bytes = 64 << 10;
};

class HttpServer {
 public:
  // `router` must outlive the server.
  HttpServer(const Router* router, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (0 = any free port) and starts serving. Unavailable when the address cannot
  // be bound (port in use, address not local); InvalidArgument for an unknown host;
  // FailedPrecondition when already started.
  absl::Status Start(const std::string& host, int port);
  // The bound port, -1 before Start.
  int port() const { return port_; }
  // Stops accepting, finishes running handlers, closes every connection. Idempotent.
  void Stop();

  const Router& router() const { return *router_; }
  const HttpServerOptions& options() const { return options_; }

 private:
  const Router* router_;
  HttpServerOptions options_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = -1;
};

}  // namespace sluice::http
