#pragma once
// The TaskManager's gRPC services, thin adapters over TaskExecutor: TaskExecutorService (from
// the JobManager: SubmitTask, CancelTask, checkpoint triggers and notifications as typed mail,
// operator events, log files) and DataExchangeService (from other TaskManagers: one stream per producer
// TaskManager, see exchange_server.h). Protobuf stops here.
//
// Threading: gRPC server threads; TaskExecutor is thread-safe.

#include <filesystem>

#include "grpcpp/grpcpp.h"
#include "sluice/v1/taskmanager.grpc.pb.h"
#include "taskmanager/task_executor.h"

namespace sluice::taskmanager {

class TaskExecutorServiceImpl final : public v1::TaskExecutorService::Service,
                                      public v1::DataExchangeService::Service {
 public:
  // `log_dir`: the directory whose files ListLogFiles/ReadLogFile serve (empty: none).
  TaskExecutorServiceImpl(TaskExecutor* executor, int buffers_per_channel,
                          std::filesystem::path log_dir = {})
      : executor_(executor), buffers_per_channel_(buffers_per_channel), log_dir_(std::move(log_dir)) {}

  grpc::Status SubmitTask(grpc::ServerContext*, const v1::SubmitTaskRequest* req,
                          v1::SubmitTaskResponse*) override;
  grpc::Status CancelTask(grpc::ServerContext*, const v1::CancelTaskRequest* req,
                          v1::CancelTaskResponse*) override;
  grpc::Status TriggerCheckpoint(grpc::ServerContext*, const v1::TriggerCheckpointRequest* req,
                                 v1::TriggerCheckpointResponse*) override;
  grpc::Status NotifyCheckpointComplete(grpc::ServerContext*, const v1::NotifyCheckpointRequest* req,
                                        v1::NotifyCheckpointResponse*) override;
  grpc::Status NotifyCheckpointAborted(grpc::ServerContext*, const v1::NotifyCheckpointRequest* req,
                                       v1::NotifyCheckpointResponse*) override;
  grpc::Status SendOperatorEvent(grpc::ServerContext*, const v1::SendOperatorEventRequest* req,
                                 v1::SendOperatorEventResponse*) override;
  grpc::Status ListLogFiles(grpc::ServerContext*, const v1::ListLogFilesRequest*,
                            v1::ListLogFilesResponse* resp) override;
  grpc::Status ReadLogFile(grpc::ServerContext*, const v1::ReadLogFileRequest* req,
                           grpc::ServerWriter<v1::LogFileChunk>* writer) override;
  grpc::Status Exchange(grpc::ServerContext* ctx,
                        grpc::ServerReaderWriter<v1::CreditFrame, v1::DataFrame>* stream) override;

 private:
  grpc::Status Post(const std::string& attempt_id, Mail mail);

  TaskExecutor* executor_;
  int buffers_per_channel_;
  std::filesystem::path log_dir_;
};

}  // namespace sluice::taskmanager
