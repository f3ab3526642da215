#pragma once
// Blocking client of the JobManager's DispatcherService for the CLI. Every call has a deadline
// (10 s by default) and returns absl::Status with messages meant for the user:
//   Unavailable      "cannot reach the JobManager at HOST:PORT: <details>"
//   DeadlineExceeded "the JobManager at HOST:PORT did not answer within 10 s (<rpc>)"
//   other codes      the JobManager's own message (e.g. the job spec error for SubmitJob).
//
// Lifecycle: Create() builds the channel lazily (no connection yet). Thread-safe (gRPC stubs are).

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sluice/v1/jobmanager.grpc.pb.h"

namespace sluice::client {

inline constexpr int kDefaultJobManagerPort = 6123;

class DispatcherClient {
 public:
  // `address` is HOST:PORT; a bare HOST gets port 6123.
  static std::unique_ptr<DispatcherClient> Create(
      const std::string& address, std::chrono::milliseconds rpc_timeout = std::chrono::seconds(10));

  const std::string& address() const { return address_; }

  // Uploads the file at `path` (a job plugin) to the JobManager's blob store in 1 MiB chunks
  // under its SHA-256 `key`; returns the key the JobManager stored it under. The deadline is 5
  // minutes. NotFound/Internal when the file cannot be read.
  absl::StatusOr<std::string> UploadBlob(const std::string& path, const std::string& key);
  // Returns the new job's id (32 hex characters).
  absl::StatusOr<std::string> SubmitJob(const v1::JobSubmission& job);
  absl::StatusOr<v1::ListJobsResponse> ListJobs();
  absl::StatusOr<v1::GetJobResponse> GetJob(const std::string& job_id);
  // Flink's /jobs/:jobid/checkpoints statistics as JSON text.
  absl::StatusOr<std::string> GetJobCheckpoints(const std::string& job_id);
  // Starts a savepoint (stop: stop with savepoint; drain: after ending the input; cancel_job:
  // cancel once taken); returns the trigger id. `native`: Flink's formatType NATIVE.
  absl::StatusOr<std::string> TriggerSavepoint(const v1::TriggerSavepointRequest& request);
  // Deletes a savepoint directory; the response says whether it was deleted.
  absl::StatusOr<v1::DisposeSavepointResponse> DisposeSavepoint(const std::string& path);
  absl::StatusOr<v1::SavepointStatus> GetSavepoint(const std::string& job_id,
                                                   const std::string& trigger_id);
  absl::Status CancelJob(const std::string& job_id);
  absl::StatusOr<v1::ListTaskManagersResponse> ListTaskManagers();

 private:
  DispatcherClient(std::string address, std::chrono::milliseconds rpc_timeout);
  void PrepareContext(grpc::ClientContext* context) const;
  // The one place grpc::Status becomes absl::Status.
  absl::Status ToStatus(const grpc::Status& status, const char* rpc) const;

  std::string address_;
  std::chrono::milliseconds rpc_timeout_;
  std::unique_ptr<v1::DispatcherService::Stub> stub_;
};

// "host" -> "host:6123"; "host:port" unchanged.
std::string NormalizeJobManagerAddress(const std::string& address);

}  // namespace sluice::client
