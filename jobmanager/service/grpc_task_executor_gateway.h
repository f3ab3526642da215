#pragma once
// TaskExecutorGateway over gRPC (TaskExecutorService of one TaskManager). Calls are queued on
// one thread per TaskManager and sent in order with a deadline, so a slow or dead TaskManager
// delays only its own calls, and the JobMaster's executor never blocks on a socket.
//
// Threading: thread-safe. Lifecycle: destruction sends what is queued (bounded by the
// deadlines) and joins.

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "jobmanager/task_executor_gateway.h"
#include "runtime/base/serial_executor.h"
#include "sluice/v1/taskmanager.grpc.pb.h"

namespace sluice::jobmanager {

class GrpcTaskExecutorGateway final : public TaskExecutorGateway {
 public:
  explicit GrpcTaskExecutorGateway(const std::string& address);
  ~GrpcTaskExecutorGateway() override;

  void SubmitTask(deployment::TaskDeploymentDescriptor tdd, Callback done) override;
  void CancelTask(const JobId& job, const ExecutionAttemptId& attempt, Callback done) override;
  void TriggerCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                         const CheckpointTrigger& trigger) override;
  void NotifyCheckpointComplete(const JobId& job, const ExecutionAttemptId& attempt,
                                int64_t checkpoint_id) override;
  void NotifyCheckpointAborted(const JobId& job, const ExecutionAttemptId& attempt,
                               int64_t checkpoint_id) override;
  void SendOperatorEvent(const JobId& job, const ExecutionAttemptId& attempt, int vertex,
                         int subtask, std::string event, Callback done) override;

 private:
  void Notify(const JobId& job, const ExecutionAttemptId& attempt, int64_t checkpoint_id,
              bool complete);

  std::string address_;
  std::unique_ptr<v1::TaskExecutorService::Stub> stub_;
  SerialExecutor calls_;
};

}  // namespace sluice::jobmanager
