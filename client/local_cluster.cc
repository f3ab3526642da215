#include "client/local_cluster.h"

#include <thread>

#include "client/dispatcher_client.h"
#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"

namespace sluice::client {

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(
    int taskmanagers, int slots_per_taskmanager, std::chrono::milliseconds registration_timeout) {
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  jobmanager::JobManagerConfig jm_config;
  jm_config.bind_host = "127.0.0.1";
  jm_config.rpc_port = 0;
  jm_config.rest_port = 0;
  jm_config.rest_bind_host = "127.0.0.1";
  ASSIGN_OR_RETURN(cluster->jobmanager_, jobmanager::JobManager::Start(jm_config));

  for (int i = 0; i < taskmanagers; ++i) {
    taskmanager::TaskManagerConfig tm_config;
    tm_config.jobmanager_address = cluster->jobmanager_address();
    tm_config.slots = slots_per_taskmanager;
    tm_config.host = "127.0.0.1";
    tm_config.bind_host = "127.0.0.1";
    tm_config.rpc_port = 0;
    tm_config.metrics_port_first = -1;  // a mini-cluster has no Prometheus endpoint (Flink's too)
    ASSIGN_OR_RETURN(auto tm, taskmanager::TaskManager::Start(tm_config));
    cluster->taskmanagers_.push_back(std::move(tm));
  }

  // Wait on the condition (all registered) with a deadline, asking the JobManager as a client.
  auto client = DispatcherClient::Create(cluster->jobmanager_address(), std::chrono::seconds(5));
  int64_t deadline = MonotonicMillis() + registration_timeout.count();
  int registered = 0;
  std::string last_error;
  while (true) {
    auto tms = client->ListTaskManagers();
    if (tms.ok()) {
      registered = tms->taskmanagers_size();
      if (registered >= taskmanagers) break;
    } else {
      last_error = std::string(tms.status().message());
    }
    if (MonotonicMillis() > deadline) {
      return absl::DeadlineExceededError(fmt::format(
          "local cluster: only {} of {} TaskManagers registered with the JobManager at {} "
          "within {} ms{}{}",
          registered, taskmanagers, cluster->jobmanager_address(), registration_timeout.count(),
          last_error.empty() ? "" : "; last error: ", last_error));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cluster;
}

LocalCluster::~LocalCluster() { Shutdown(); }

std::string LocalCluster::jobmanager_address() const {
  return fmt::format("127.0.0.1:{}", jobmanager_->rpc_port());
}

int LocalCluster::rest_port() const { return jobmanager_->rest_port(); }

void LocalCluster::Shutdown() {
  // JobManager first (as Flink's MiniCluster): it cancels running tasks while the TaskManagers
  // are still there to receive the cancellation. They stop heartbeating before, so that the
  // JobManager's going away is not a loss they report and reconnect from.
  for (auto& tm : taskmanagers_) tm->DetachFromJobManager();
  if (jobmanager_ != nullptr) jobmanager_->Shutdown();
  for (auto& tm : taskmanagers_) tm->Shutdown();
  taskmanagers_.clear();
  jobmanager_.reset();
}

}  // namespace sluice::client
