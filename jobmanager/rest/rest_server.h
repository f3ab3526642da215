#pragma once
// REST API of the JobManager, Flink REST API v1 shapes (paths, field names, state strings and
// the error body {"errors": [...]} as Flink 1.20's docs/static/generated/rest_v1_dispatcher.yml)
// so tools built for Flink work. Route groups live in routes.h; bodies in rest_views.h.
// Unknown paths answer 404, a wrong method 405 (with Allow), wrong JSON types 400 naming the
// field, bodies over rest.server.max-content-length 413. POST /sql/validate: sql_routes.h;
// log files: log_routes.h.
// The server reads everything through RestBackend, which returns the same protobuf views the
// gRPC API serves, so REST and CLI always agree.
//
// Threading: the HTTP server's event loops call the backend concurrently; the backend is
// thread-safe and must not block for long. Lifecycle: Start() binds and serves; Stop() joins.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "jobmanager/rest/log_routes.h"
#include "runtime/http/http_server.h"
#include "runtime/http/router.h"
#include "sluice/v1/jobmanager.pb.h"

namespace sluice::jobmanager {

class RestBackend {
 public:
  virtual ~RestBackend() = default;
  virtual v1::ListJobsResponse ListJobs() = 0;
  // NotFound for an unknown job id; InvalidArgument for a malformed one.
  virtual absl::StatusOr<v1::GetJobResponse> GetJob(const std::string& job_id) = 0;
  virtual v1::ListTaskManagersResponse ListTaskManagers() = 0;
  // Flink's JSON bodies of /jobs/:jobid/checkpoints, /jobs/:jobid/exceptions and
  // /jobs/:jobid/metrics ([{"id","value"}]); NotFound / InvalidArgument as GetJob.
  virtual absl::StatusOr<std::string> GetJobCheckpointsJson(const std::string& job_id) = 0;
  virtual absl::StatusOr<std::string> GetJobExceptionsJson(const std::string& job_id) = 0;
  virtual absl::StatusOr<std::string> GetJobMetricsJson(const std::string& job_id) = 0;
  // Flink's JobConfigInfo, CheckpointConfigInfo (NotFound when the job does not checkpoint) and
  // one checkpoint's CheckpointStatistics (NotFound when not in the history).
  virtual absl::StatusOr<std::string> GetJobConfigJson(const std::string& job_id) = 0;
  virtual absl::StatusOr<std::string> GetCheckpointConfigJson(const std::string& job_id) = 0;
  virtual absl::StatusOr<std::string> GetCheckpointDetailsJson(const std::string& job_id,
                                                               int64_t checkpoint_id) = 0;
  // FailedPrecondition when the job already ended.
  virtual absl::Status CancelJob(const std::string& job_id) = 0;
  // Rescales the job in place to `parallelism` per vertex id (see Dispatcher::Rescale):
  // InvalidArgument for an unknown vertex or a bad parallelism, FailedPrecondition when it
  // cannot rescale now.
  virtual absl::Status RescaleJob(const std::string& job_id,
                                  const std::map<std::string, int>& parallelism) = 0;
  // Savepoints (plain, cancel-job, stop, stop with drain, as the request says): returns the
  // trigger id. FailedPrecondition when the job cannot take one (not running, no checkpointing,
  // already stopping), InvalidArgument without a directory.
  virtual absl::StatusOr<std::string> TriggerSavepoint(
      const v1::TriggerSavepointRequest& request) = 0;
  // A manual checkpoint; errors as TriggerSavepoint. Polled with GetSavepoint.
  virtual absl::StatusOr<std::string> TriggerCheckpoint(const std::string& job_id) = 0;
  // NotFound for an unknown trigger id.
  virtual absl::StatusOr<v1::SavepointStatus> GetSavepoint(const std::string& job_id,
                                                           const std::string& trigger_id) = 0;
  // Deletes a savepoint directory (outcome in the response); InvalidArgument for an empty path.
  virtual absl::StatusOr<v1::DisposeSavepointResponse> DisposeSavepoint(
      const std::string& path) = 0;
  // NotFound for an unknown trigger id.
  virtual absl::StatusOr<v1::DisposeSavepointResponse> GetSavepointDisposal(
      const std::string& trigger_id) = 0;
};

class RestServer {
 public:
  // `jobmanager_log_dir`: the JobManager's log directory (empty: console only);
  // `taskmanager_logs` (may be null) reaches the TaskManagers' logs and must outlive the server.
  explicit RestServer(RestBackend* backend, http::HttpServerOptions options = {},
                      std::string jobmanager_log_dir = {},
                      rest::TaskManagerLogs* taskmanager_logs = nullptr);
  ~RestServer();
  // What GET /jobmanager/config lists (Flink's key names); set before Start.
  void set_jobmanager_config(std::vector<std::pair<std::string, std::string>> entries) {
    jobmanager_config_ = std::move(entries);
  }
  // port 0 = any free port. Unavailable if it cannot bind.
  absl::Status Start(const std::string& host, int port);
  int port() const { return server_.port(); }
  void Stop() { server_.Stop(); }

 private:
  std::vector<std::pair<std::string, std::string>> jobmanager_config_;
  const std::string jobmanager_log_dir_;
  http::Router router_;
  http::HttpServer server_;
};

}  // namespace sluice::jobmanager
