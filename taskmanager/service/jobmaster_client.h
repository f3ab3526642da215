#pragma once
// The TaskManager's client of the JobManager's JobMasterService (gRPC): registration,
// heartbeats with task metrics, the session stream whose break reveals a dead JobManager at
// once, and the task reports of JobMasterGateway (state updates, checkpoint acknowledgements and
// declines). Every report carries job id and attempt id (fencing happens at the JobManager).
//
// Threading: thread-safe (gRPC stubs are); the session is opened and closed by the
// TaskManager's control thread only.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
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
  // `on_broken` does not run for an EndSession.
  void OpenSession(const std::string& resource_id, std::function<void()> on_broken);
  // Cuts the session off (cancels it): the JobManager sees a broken stream, as for a crash.
  void CloseSession();
  // Ends the session in order (the TaskManager shuts down): half-closes the stream, so the
  // JobManager logs a disconnect instead of a loss, and waits up to `timeout` for it to answer
  // before cutting it off.
  void EndSession(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

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
  // Joins the session's reader (its stream has ended or been cancelled) and drops the stream.
  void JoinSession();

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobMasterService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> session_ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::TaskManagerSession, v1::TaskManagerSession>> session_;
  std::thread session_reader_;
  std::mutex session_mu_;
  std::condition_variable session_ended_cv_;
  bool session_ending_ = false;       // guarded by session_mu_
  bool session_reader_done_ = false;  // guarded by session_mu_
};

}  // namespace sluice::taskmanager
