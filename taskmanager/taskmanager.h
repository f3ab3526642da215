#pragma once
// TaskManager: a worker process (Flink's TaskExecutor). Offers `slots` slots to the JobManager,
// runs one Task (thread) per deployed subtask, and serves data exchange to other TaskManagers.
//
// Lifecycle: Start() binds its gRPC port and begins registering with the JobManager in the
// background, retrying with exponential backoff (100 ms doubling to 10 s) while it is
// unreachable and logging why. Once registered it heartbeats; if the JobManager stops answering
// for heartbeat_timeout_ms it cancels all its tasks and registers again. Shutdown() cancels tasks,
// stops serving and joins (idempotent; the destructor calls it).

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sluice::taskmanager {

struct TaskManagerConfig {
  std::string jobmanager_address = "127.0.0.1:6123";  // [jobmanager.rpc.address/port]
  int slots = 1;                        // [taskmanager.numberOfTaskSlots]
  std::string host = "127.0.0.1";       // [taskmanager.host] address others reach it on
  std::string bind_host = "0.0.0.0";    // [taskmanager.bind-host]
  int rpc_port = 0;                     // [taskmanager.rpc.port]; 0 = any free port
  std::string resource_id;              // [taskmanager.resource-id]; empty = random
  int buffers_per_channel = 4;          // [taskmanager.network.buffers-per-channel] credits
  // [metrics.reporter.prom.port] the Prometheus endpoint (GET /metrics): the first free port of
  // [first, last] ("9249-9259": several TaskManagers on one host); first = 0: any free port;
  // first = -1: no endpoint. Bound on bind_host.
  int metrics_port_first = 9249;
  int metrics_port_last = 9259;
  // [blob.storage.directory] the cache of job plugins fetched from the JobManager; empty:
  // <system temp dir>/sluice-blobs (a JobManager on the same host shares it: blobs are
  // content-addressed and verified).
  std::string blob_dir;
  // The directory of this daemon's log files (env.log.dir, or log.file's directory), served over
  // REST at /taskmanagers/:id/logs; empty: it logs to the console only.
  std::string log_dir;
};

class TaskManagerImpl;

class TaskManager {
 public:
  static absl::StatusOr<std::unique_ptr<TaskManager>> Start(const TaskManagerConfig& config);
  ~TaskManager();

  int rpc_port() const;
  int metrics_port() const;  // -1 without a Prometheus endpoint
  const std::string& resource_id() const;
  void Wait();
  void Shutdown();
  // Stops registering and heartbeating (no reconnection once the JobManager is gone) while
  // still serving RPCs; Shutdown follows. For an embedded cluster shutting down in order.
  void DetachFromJobManager();

 private:
  explicit TaskManager(std::unique_ptr<TaskManagerImpl> impl);
  std::unique_ptr<TaskManagerImpl> impl_;
};

}  // namespace sluice::taskmanager
