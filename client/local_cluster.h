#pragma once
// The mini-cluster of `sluice local` (Flink's MiniCluster): one JobManager and N TaskManagers in
// this process, talking over loopback gRPC exactly as separate processes do.
//
// Lifecycle: Start() binds everything on 127.0.0.1 with ephemeral ports and waits until all
// TaskManagers have registered; Shutdown() stops the JobManager (which cancels running tasks)
// and then the TaskManagers (idempotent; the destructor calls it). Owned and driven by one
// thread (the CLI's main thread).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "jobmanager/jobmanager.h"
#include "taskmanager/taskmanager.h"

namespace sluice::client {

class LocalCluster {
 public:
  // DeadlineExceeded if the TaskManagers have not all registered within `registration_timeout`;
  // Unavailable if a server cannot bind.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(
      int taskmanagers, int slots_per_taskmanager,
      std::chrono::milliseconds registration_timeout = std::chrono::seconds(30));
  ~LocalCluster();

  // "127.0.0.1:<rpc port>" of the JobManager.
  std::string jobmanager_address() const;
  int rest_port() const;
  void Shutdown();

 private:
  LocalCluster() = default;

  std::unique_ptr<jobmanager::JobManager> jobmanager_;
  std::vector<std::unique_ptr<taskmanager::TaskManager>> taskmanagers_;
};

}  // namespace sluice::client
