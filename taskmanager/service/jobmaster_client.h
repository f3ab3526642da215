#pragma once
// The TaskManager's client of the JobManager's JobMasterService (gRPC): registration,
// heartbeats with task metrics, the session stream whose break reveals a dead JobManager at
// once, and the task reports of JobMasterGateway (state updates, checkpoint acknowledgements and
// declines). Every report carries job id and attempt id (fencing happens at the JobManager).
//
// Threading: thread-safe (gRPC stubs are); the session is opened and closed by the
// TaskManager's control thread only.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "runtime/plugin/blob_store.h"
#include "sluice/v1/jobmanager.grpc.pb.h"
#include "taskmanager/task_executor.h"

namespace sluice::taskmanager {

struct Registration {
  std::string jobmanager_id;
  int64_t heartbeat_interval_ms = 1000;
  int64_t heartbeat_timeout_ms = 5000;
};

class JobMasterClient final : public JobMasterGateway {
 public:
  explicit JobMasterClient(const std::string& jobmanager_address);
  ~JobMasterClient() override;

  // Registers this TaskManager. Unavailable (with gRPC's message) when the JobManager cannot be
  // reached within 5 s.
  absl::StatusOr<Registration> Register(const std::string& resource_id, const std::string& address,
                                        int slots, int metrics_port);
  // One heartbeat with the running tasks' metrics. Returns whether the JobManager knows this
  // TaskManager; Unavailable when it did not answer.
  absl::StatusOr<bool> Heartbeat(const std::string& resource_id,
                                 const std::vector<TaskStatusReport>& tasks, int64_t deadline_ms);
  // Opens the session stream; `on_broken` runs (on a reader thread) when it breaks.
  void OpenSession(const std::string& resource_id, std::function<void()> on_broken);
  void CloseSession();

  // Fetches blob `key` from the JobManager's blob store into `cache` (nothing to do when it is
  // there already); returns its path there. NotFound/Unavailable from the JobManager;
  // InvalidArgument when the received bytes do not match the key.
  absl::StatusOr<std::string> FetchBlob(const std::string& key, const plugin::BlobStore& cache);

  void UpdateTaskExecutionState(const TaskExecutionStateUpdate& update) override;
  void AcknowledgeCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                             const CheckpointAck& ack) override;
  void DeclineCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                         int64_t checkpoint_id, const std::string& reason) override;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobMasterService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> session_ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::TaskManagerSession, v1::TaskManagerSession>> session_;
  std::thread session_reader_;
};

}  // namespace sluice::taskmanager
