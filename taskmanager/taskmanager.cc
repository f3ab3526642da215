#include "taskmanager/taskmanager.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "runtime/base/clock.h"
#include "runtime/base/host_port.h"
#include "runtime/base/ids.h"
#include "runtime/base/status.h"
#include "sluice/grpc_defaults.h"
#include "spdlog/spdlog.h"
#include "runtime/plugin/plugin_loader.h"
#include "taskmanager/service/jobmaster_client.h"
#include "taskmanager/service/metrics_exporter.h"
#include "taskmanager/service/exchange_client.h"
#include "taskmanager/service/task_executor_service.h"
#include "taskmanager/task_executor.h"
#include "runtime/base/thread_name.h"

namespace sluice::taskmanager {

// Wires the TaskManager's parts: the gRPC server (TaskExecutorServiceImpl), the TaskExecutor
// running the tasks, and the JobMasterClient; and runs the control loop on its own thread:
// registration with backoff, heartbeats, and re-registration when the JobManager is lost.
class TaskManagerImpl {
 public:
  explicit TaskManagerImpl(TaskManagerConfig config)
      : config_(std::move(config)), blobs_(plugin::BlobStore::DefaultDir(config_.blob_dir)) {
    if (config_.resource_id.empty()) config_.resource_id = ResourceId::Random().ToString();
  }
  ~TaskManagerImpl() { Shutdown(); }

  absl::Status Start() {
    jobmaster_ = std::make_unique<JobMasterClient>(config_.jobmanager_address);
    executor_ = std::make_unique<TaskExecutor>(
        config_.buffers_per_channel, jobmaster_.get(),
        [this](const JobId& job, const deployment::ConsumerLocation& consumer, int gate, int subtask) {
          return std::make_unique<RemoteOutputChannel>(connections_.get(), consumer.address, job,
                                                       consumer.attempt_id, gate, subtask);
        },
        [this](job::JobSubmission* sub) -> absl::Status {
          ASSIGN_OR_RETURN(std::string path, jobmaster_->FetchBlob(sub->plugin_ref.blob_key, blobs_));
          return plugin::AttachPlugin(path, sub);
        });
    service_ = std::make_unique<TaskExecutorServiceImpl>(executor_.get(), config_.buffers_per_channel,
                                                         config_.log_dir);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(JoinHostPort(config_.bind_host, config_.rpc_port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(static_cast<v1::TaskExecutorService::Service*>(service_.get()));
    builder.RegisterService(static_cast<v1::DataExchangeService::Service*>(service_.get()));
    rpc::ConfigureServer(builder);
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) {
      return UnavailableF("TaskManager cannot listen on {}:{}", config_.bind_host, config_.rpc_port);
    }
    // Known once bound; set before registering, so before any task can be deployed here.
    location_ = JoinHostPort(config_.host, port_);
    if (config_.metrics_port_first >= 0) {
      metrics_ = std::make_unique<MetricsExporter>(config_.resource_id, config_.host,
                                                   [this] { return executor_->RunningTasks(); });
      RETURN_IF_ERROR(metrics_->Start(config_.bind_host, config_.metrics_port_first,
                                      std::max(config_.metrics_port_first, config_.metrics_port_last)));
      spdlog::info("Prometheus metrics of TaskManager {} at http://{}:{}/metrics",
                   config_.resource_id, config_.host, metrics_->port());
    }
    connections_ = std::make_unique<ExchangeConnectionManager>(location_);
    executor_->SetLocation(location_);
    spdlog::info("TaskManager {} serving on {} with {} slots", config_.resource_id, location_,
                 config_.slots);
    control_ = std::thread([this] { ControlLoop(); });
    return absl::OkStatus();
  }

  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      if (shut_down_ || shutting_down_) return;
      shutting_down_ = true;
      stopping_ = true;
    }
    cv_.notify_all();
    if (control_.joinable()) control_.join();
    if (jobmaster_) jobmaster_->EndSession();
    if (executor_) executor_->Shutdown();
    if (connections_) connections_->Shutdown();
    if (metrics_) metrics_->Stop();
    // Its tasks are gone; what remains are other TaskManagers' idle exchange streams, which never
    // end by themselves: a short grace for in-flight calls, then they are cancelled.
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    std::lock_guard lock(mu_);
    shut_down_ = true;
    cv_.notify_all();
  }

  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return shut_down_; });
  }

  // Stops the registration/heartbeat loop, so that the JobManager may go away first (an
  // embedded cluster's orderly shutdown) without reconnection attempts and their warnings;
  // the RPC server keeps serving (the JobManager's cancellations still arrive).
  void DetachFromJobManager() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (control_.joinable()) control_.join();
  }

  int port() const { return port_; }
  int metrics_port() const { return metrics_ ? metrics_->port() : -1; }
  const std::string& resource_id() const { return config_.resource_id; }

 private:
  // Waits up to `ms`; true when stopping. Wakes early when the session breaks (*broken).
  bool Wait(int64_t ms, bool* broken) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_ || session_broken_; });
    if (broken) *broken = session_broken_;
    return stopping_;
  }

  bool Register() {
    auto r = jobmaster_->Register(config_.resource_id, location_, config_.slots, metrics_port());
    if (!r.ok()) {
      last_error_ = std::string(r.status().message());
      return false;
    }
    executor_->SetJobManagerId(r->jobmanager_id);
    registration_ = *r;
    spdlog::info("Registered at JobManager {} ({}) as {}", config_.jobmanager_address,
                 r->jobmanager_id, config_.resource_id);
    {
      std::lock_guard lock(mu_);
      session_broken_ = false;
    }
    jobmaster_->OpenSession(config_.resource_id, [this] {
      {
        std::lock_guard lock(mu_);
        session_broken_ = true;
      }
      cv_.notify_all();
    });
    return true;
  }

  // Registration with backoff, then heartbeats; on JobManager loss cancel tasks and re-register.
  void ControlLoop() {
    SetCurrentThreadName("tm-control");
    int64_t backoff = 100;
    bool registered = false;
    int64_t last_ack = 0;
    while (true) {
      if (!registered) {
        if (Register()) {
          registered = true;
          backoff = 100;
          last_ack = MonotonicMillis();
        } else {
          spdlog::warn("Cannot register at JobManager {}: {}; retrying in {} ms",
                       config_.jobmanager_address, last_error_, backoff);
          if (Wait(backoff, nullptr)) return;
          backoff = std::min<int64_t>(backoff * 2, 10'000);
          continue;
        }
      }
      bool broken = false;
      if (Wait(registration_.heartbeat_interval_ms, &broken)) return;
      if (broken) {
        spdlog::warn("Connection to JobManager {} closed; cancelling tasks and registering again",
                     config_.jobmanager_address);
        executor_->CancelAll("lost the JobManager");
        registered = false;
        continue;
      }
      auto known = jobmaster_->Heartbeat(config_.resource_id, executor_->RunningTasks(),
                                         registration_.heartbeat_interval_ms * 2);
      if (known.ok() && *known) {
        last_ack = MonotonicMillis();
      } else if (known.ok()) {
        spdlog::warn("JobManager does not know this TaskManager any more; cancelling tasks and "
                     "registering again");
        executor_->CancelAll("JobManager lost this TaskManager");
        registered = false;
      } else if (MonotonicMillis() - last_ack > registration_.heartbeat_timeout_ms) {
        spdlog::warn("JobManager {} unreachable for {} ms ({}); cancelling tasks and "
                     "registering again",
                     config_.jobmanager_address, MonotonicMillis() - last_ack,
                     known.status().message());
        executor_->CancelAll("lost the JobManager");
        registered = false;
      }
    }
  }

  TaskManagerConfig config_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<TaskExecutorServiceImpl> service_;
  int port_ = 0;
  std::string location_;
  std::unique_ptr<JobMasterClient> jobmaster_;
  plugin::BlobStore blobs_;  // cache of job plugins
  std::unique_ptr<TaskExecutor> executor_;
  std::unique_ptr<MetricsExporter> metrics_;
  std::thread control_;
  std::string last_error_;
  Registration registration_;

  // Data connections to other TaskManagers; created once the address is known, before any task.
  std::unique_ptr<ExchangeConnectionManager> connections_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;       // the control loop ends
  bool shutting_down_ = false;  // Shutdown started
  bool shut_down_ = false;
  bool session_broken_ = false;
};

absl::StatusOr<std::unique_ptr<TaskManager>> TaskManager::Start(const TaskManagerConfig& config) {
  auto impl = std::make_unique<TaskManagerImpl>(config);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<TaskManager>(new TaskManager(std::move(impl)));
}

TaskManager::TaskManager(std::unique_ptr<TaskManagerImpl> impl) : impl_(std::move(impl)) {}
TaskManager::~TaskManager() { Shutdown(); }
int TaskManager::rpc_port() const { return impl_->port(); }
int TaskManager::metrics_port() const { return impl_->metrics_port(); }
const std::string& TaskManager::resource_id() const { return impl_->resource_id(); }
void TaskManager::Wait() { impl_->Wait(); }
void TaskManager::Shutdown() { impl_->Shutdown(); }
void TaskManager::DetachFromJobManager() { impl_->DetachFromJobManager(); }

}  // namespace sluice::taskmanager
