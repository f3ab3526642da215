#pragma once
// REST API of the JobManager, Flink REST API v1 shapes (field names as Flink's
// docs/static/generated/rest_v1_dispatcher.yml) so tools built for Flink work:
//   GET /overview, /config, /jobs, /jobs/overview, /jobs/:jobid, /jobs/:jobid/vertices/:vertexid,
//   /taskmanagers. Unknown job id -> 404 {"errors": ["..."]}; bad id -> 400.
//   POST /sql/validate: SQL scripts checked offline (sql_routes.h).
// The server reads everything through RestBackend, which returns the same protobuf views the
// gRPC API serves, so REST and CLI always agree.
//
// Threading: cpp-httplib's thread pool calls the backend concurrently; the backend is
// thread-safe. Lifecycle: Start() binds and serves on a thread; Stop() joins.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "sluice/v1/jobmanager.pb.h"

namespace httplib { class Server; }

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
  // Savepoints: trigger (returns the trigger id) and poll. FailedPrecondition when the job
  // cannot take one (not running, no checkpointing), InvalidArgument without a directory.
  virtual absl::StatusOr<std::string> TriggerSavepoint(const std::string& job_id,
                                                       const std::string& target_directory,
                                                       bool stop, bool native) = 0;
  virtual absl::StatusOr<v1::SavepointStatus> GetSavepoint(const std::string& job_id,
                                                           const std::string& trigger_id) = 0;
};

class RestServer {
 public:
  explicit RestServer(RestBackend* backend);
  ~RestServer();
  // port 0 = any free port. Unavailable if it cannot bind.
  absl::Status Start(const std::string& host, int port);
  int port() const { return port_; }
  void Stop();

 private:
  RestBackend* backend_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = -1;
};

}  // namespace sluice::jobmanager
