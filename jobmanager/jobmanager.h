#pragma once
// JobManager: the cluster's coordinator process (Flink's JobManager): Dispatcher (job
// submission and job store), one JobMaster per job (ExecutionGraph, scheduler), the
// ResourceManager (TaskManager registry, slots, heartbeats), the gRPC services and the REST API.
//
// Lifecycle: Start() binds the ports and starts serving; Shutdown() cancels running jobs' tasks,
// stops the servers and joins all threads (idempotent; the destructor calls it).
// Thread safety: Start/Shutdown/Wait from one owning thread; everything else is internal.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sluice::jobmanager {

// Every key can be set in sluice.yaml (Flink's key in brackets) and on the command line.
struct JobManagerConfig {
  std::string bind_host = "0.0.0.0";    // [jobmanager.bind-host]
  int rpc_port = 6123;                   // [jobmanager.rpc.port]; 0 = any free port
  int rest_port = 8081;                  // [rest.port]; 0 = any free port, -1 = no REST
  std::string rest_bind_host = "0.0.0.0";  // [rest.bind-address]
  // [rest.server.max-content-length] largest REST request body, bytes (413 beyond).
  int64_t rest_max_content_length = 4 << 20;
  // [rest.server.numThreads] the REST server's event-loop threads.
  int rest_threads = 2;
  // [rest.server.connections-per-address] concurrent REST connections per client address.
  int rest_connections_per_address = 32;
  // A crashed TaskManager is detected at once through its broken session stream; the heartbeat
  // timeout catches the ones that hang or are cut off by the network.
  int64_t heartbeat_interval_ms = 500;   // [heartbeat.interval]
  int64_t heartbeat_timeout_ms = 3000;   // [heartbeat.timeout]
  int64_t buffer_timeout_ms = 5;         // [execution.buffer-timeout]; 0 = flush every batch
  // [state.checkpoints.dir] where checkpointing jobs keep their checkpoints unless the job spec
  // names a directory (checkpointing.dir); a local path or a shared mount all hosts see.
  std::string checkpoint_dir;
  // [state.savepoints.dir] default target of savepoints that name no directory.
  std::string savepoint_dir;
  // [blob.storage.directory] the blob store of uploaded job plugins; empty:
  // <system temp dir>/sluice-blobs. Blobs outlive the process.
  std::string blob_dir;
  // The directory of this daemon's log files (env.log.dir, or log.file's directory), served over
  // REST at /jobmanager/logs; empty: it logs to the console only.
  std::string log_dir;
};

class JobManagerImpl;

class JobManager {
 public:
  // Starts serving. Errors: Unavailable when a port cannot be bound (message names it).
  static absl::StatusOr<std::unique_ptr<JobManager>> Start(const JobManagerConfig& config);
  ~JobManager();

  int rpc_port() const;   // the bound gRPC port
  int rest_port() const;  // the bound REST port, or -1
  // Blocks until Shutdown() is called from another thread or a signal handler.
  void Wait();
  void Shutdown();

 private:
  explicit JobManager(std::unique_ptr<JobManagerImpl> impl);
  std::unique_ptr<JobManagerImpl> impl_;
};

}  // namespace sluice::jobmanager
