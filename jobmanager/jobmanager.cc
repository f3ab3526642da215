// JobManager: wires the JobManager's parts (Flink's names): the ResourceManager (TaskManagers,
// slots, heartbeats), the Dispatcher (job store, one JobMaster per job), the gRPC services
// (service/: DispatcherService for the CLI, JobMasterService for TaskManagers), the REST API,
// and a timer thread that ticks heartbeats, checkpoints and restarts.

#include "jobmanager/jobmanager.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "jobmanager/dispatcher.h"
#include "jobmanager/resource_manager.h"
#include "jobmanager/rest/rest_server.h"
#include "jobmanager/service/dispatcher_service.h"
#include "jobmanager/service/grpc_task_executor_gateway.h"
#include "jobmanager/service/jobmaster_service.h"
#include "jobmanager/service/taskmanager_logs.h"
#include "runtime/base/host_port.h"
#include "runtime/base/status.h"
#include "runtime/plugin/blob_store.h"
#include "runtime/plugin/plugin_loader.h"
#include "sluice/grpc_defaults.h"
#include "spdlog/spdlog.h"
#include "runtime/base/thread_name.h"

namespace sluice::jobmanager {

class JobManagerImpl {
 public:
  explicit JobManagerImpl(JobManagerConfig config)
      : config_(std::move(config)),
        jobmanager_id_(Id128::Random().ToString()),
        rm_([](const std::string& address) -> TaskExecutorGatewayPtr {
              return std::make_shared<GrpcTaskExecutorGateway>(address);
            },
            config_.heartbeat_timeout_ms,
            [this](const std::string& id, const std::string& cause) {
              dispatcher_.OnTaskManagerLost(id, cause);
            }),
        blobs_(plugin::BlobStore::DefaultDir(config_.blob_dir)),
        dispatcher_(JobMasterOptions{jobmanager_id_, config_.buffer_timeout_ms,
                                     config_.checkpoint_dir, 2 * config_.heartbeat_timeout_ms},
                    config_.savepoint_dir, &rm_,
                    [this](job::JobSubmission* sub) -> absl::Status {
                      ASSIGN_OR_RETURN(std::string path, blobs_.PathOf(sub->plugin_ref.blob_key));
                      return plugin::AttachPlugin(path, sub);
                    }),
        dispatcher_service_(&dispatcher_, &rm_, &blobs_),
        jobmaster_service_(&dispatcher_, &rm_, jobmanager_id_, config_.heartbeat_interval_ms,
                           config_.heartbeat_timeout_ms, &blobs_),
        taskmanager_logs_(&rm_),
        rest_(&dispatcher_service_, RestOptions(config_), config_.log_dir, &taskmanager_logs_) {}
  ~JobManagerImpl() { Shutdown(); }

  absl::Status Start() {
    RETURN_IF_ERROR(plugin::BlobStore::Open(blobs_.dir()).status());
    grpc::ServerBuilder builder;
    builder.AddListeningPort(JoinHostPort(config_.bind_host, config_.rpc_port),
                             grpc::InsecureServerCredentials(), &rpc_port_);
    builder.RegisterService(&dispatcher_service_);
    builder.RegisterService(&jobmaster_service_);
    rpc::ConfigureServer(builder);
    server_ = builder.BuildAndStart();
    if (!server_ || rpc_port_ == 0) {
      return UnavailableF("JobManager cannot listen for RPC on {}:{} (port in use?)",
                          config_.bind_host, config_.rpc_port);
    }
    spdlog::info("JobManager {} RPC listening on {}:{}", jobmanager_id_, config_.bind_host, rpc_port_);
    if (config_.rest_port >= 0) {
      rest_.set_jobmanager_config(ConfigEntries());
      RETURN_IF_ERROR(rest_.Start(config_.rest_bind_host, config_.rest_port));
      spdlog::info("REST API listening on http://{}:{}", config_.rest_bind_host, rest_.port());
    }
    timer_ = std::thread([this] { TimerLoop(); });
    return absl::OkStatus();
  }

  void Shutdown() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (timer_.joinable()) timer_.join();
    jobmaster_service_.Stop();
    rest_.Stop();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    dispatcher_.Shutdown();  // cancels what still runs so TaskManagers free their slots
    std::lock_guard lock(mu_);
    shut_down_ = true;
    cv_.notify_all();
  }

  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return shut_down_; });
  }

  int rpc_port() const { return rpc_port_; }
  int rest_port() const { return config_.rest_port >= 0 ? rest_.port() : -1; }

 private:
  static http::HttpServerOptions RestOptions(const JobManagerConfig& c) {
    http::HttpServerOptions o;
    o.max_body_bytes = c.rest_max_content_length;
    o.threads = c.rest_threads;
    o.connections_per_address = c.rest_connections_per_address;
    return o;
  }

  // GET /jobmanager/config: the effective configuration, by Flink key.
  std::vector<std::pair<std::string, std::string>> ConfigEntries() const {
    const JobManagerConfig& c = config_;
    return {{"jobmanager.bind-host", c.bind_host},
            {"jobmanager.rpc.port", std::to_string(rpc_port_)},
            {"rest.bind-address", c.rest_bind_host},
            {"rest.port", std::to_string(c.rest_port)},
            {"rest.server.max-content-length", std::to_string(c.rest_max_content_length)},
            {"rest.server.numThreads", std::to_string(c.rest_threads)},
            {"rest.server.connections-per-address", std::to_string(c.rest_connections_per_address)},
            {"heartbeat.interval", std::to_string(c.heartbeat_interval_ms)},
            {"heartbeat.timeout", std::to_string(c.heartbeat_timeout_ms)},
            {"execution.buffer-timeout", std::to_string(c.buffer_timeout_ms)},
            {"state.checkpoints.dir", c.checkpoint_dir},
            {"state.savepoints.dir", c.savepoint_dir},
            {"blob.storage.directory", blobs_.dir()},
            {"env.log.dir", c.log_dir}};
  }

  void TimerLoop() {
    SetCurrentThreadName("jm-timer");
    // Fine enough for checkpoint intervals and timeouts; each tick is a few map lookups.
    const int64_t tick = std::max<int64_t>(10, std::min<int64_t>(config_.heartbeat_interval_ms, 50));
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(tick), [this] { return stopping_; })) {
      lock.unlock();
      rm_.CheckHeartbeats();
      dispatcher_.Tick();
      lock.lock();
    }
  }

  JobManagerConfig config_;
  std::string jobmanager_id_;
  ResourceManager rm_;
  plugin::BlobStore blobs_;
  Dispatcher dispatcher_;
  DispatcherServiceImpl dispatcher_service_;
  JobMasterServiceImpl jobmaster_service_;
  GrpcTaskManagerLogs taskmanager_logs_;
  RestServer rest_;
  std::unique_ptr<grpc::Server> server_;
  int rpc_port_ = 0;
  std::thread timer_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool shut_down_ = false;
};

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Start(const JobManagerConfig& config) {
  auto impl = std::make_unique<JobManagerImpl>(config);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<JobManager>(new JobManager(std::move(impl)));
}

JobManager::JobManager(std::unique_ptr<JobManagerImpl> impl) : impl_(std::move(impl)) {}
JobManager::~JobManager() { Shutdown(); }
int JobManager::rpc_port() const { return impl_->rpc_port(); }
int JobManager::rest_port() const { return impl_->rest_port(); }
void JobManager::Wait() { impl_->Wait(); }
void JobManager::Shutdown() { impl_->Shutdown(); }

}  // namespace sluice::jobmanager
