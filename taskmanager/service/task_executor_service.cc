#include "taskmanager/service/task_executor_service.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "fmt/format.h"
#include "proto/convert/deployment_convert.h"
#include "runtime/base/log_files.h"
#include "sluice/grpc_defaults.h"
#include "taskmanager/service/exchange_server.h"

namespace sluice::taskmanager {

using rpc::ToGrpcStatus;

grpc::Status TaskExecutorServiceImpl::SubmitTask(grpc::ServerContext*,
                                                 const v1::SubmitTaskRequest* req,
                                                 v1::SubmitTaskResponse*) {
  auto tdd = rpc::FromProto(*req);
  if (!tdd.ok()) return ToGrpcStatus(tdd.status());
  return ToGrpcStatus(executor_->SubmitTask(std::move(*tdd)));
}

grpc::Status TaskExecutorServiceImpl::CancelTask(grpc::ServerContext*,
                                                 const v1::CancelTaskRequest* req,
                                                 v1::CancelTaskResponse*) {
  auto attempt = ExecutionAttemptId::Parse(req->attempt_id());
  if (!attempt.ok()) return ToGrpcStatus(attempt.status());
  return ToGrpcStatus(executor_->CancelTask(*attempt));
}

grpc::Status TaskExecutorServiceImpl::Post(const std::string& attempt_id, Mail mail) {
  auto attempt = ExecutionAttemptId::Parse(attempt_id);
  if (!attempt.ok()) return ToGrpcStatus(attempt.status());
  return ToGrpcStatus(executor_->PostMail(*attempt, std::move(mail)));
}

grpc::Status TaskExecutorServiceImpl::TriggerCheckpoint(grpc::ServerContext*,
                                                        const v1::TriggerCheckpointRequest* req,
                                                        v1::TriggerCheckpointResponse*) {
  TriggerCheckpointMail mail;
  mail.checkpoint_id = req->checkpoint_id();
  mail.timestamp_ms = req->timestamp_ms();
  mail.options = CheckpointOptions{req->savepoint(), req->native()};
  mail.reason = req->drain()   ? TriggerReason::kDrain
                : req->final() ? TriggerReason::kFinal
                : req->stop()  ? TriggerReason::kStopWithSavepoint
                               : TriggerReason::kCheckpoint;
  return Post(req->attempt_id(), mail);
}

grpc::Status TaskExecutorServiceImpl::NotifyCheckpointComplete(grpc::ServerContext*,
                                                               const v1::NotifyCheckpointRequest* req,
                                                               v1::NotifyCheckpointResponse*) {
  return Post(req->attempt_id(), CheckpointCompleteMail{req->checkpoint_id()});
}

grpc::Status TaskExecutorServiceImpl::NotifyCheckpointAborted(grpc::ServerContext*,
                                                              const v1::NotifyCheckpointRequest* req,
                                                              v1::NotifyCheckpointResponse*) {
  return Post(req->attempt_id(), CheckpointAbortedMail{req->checkpoint_id()});
}

grpc::Status TaskExecutorServiceImpl::SendOperatorEvent(grpc::ServerContext*,
                                                        const v1::SendOperatorEventRequest* req,
                                                        v1::SendOperatorEventResponse*) {
  auto job = JobId::Parse(req->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  auto attempt = ExecutionAttemptId::Parse(req->attempt_id());
  if (!attempt.ok()) return ToGrpcStatus(attempt.status());
  return ToGrpcStatus(executor_->SendOperatorEvent(*job, *attempt, req->vertex_index(),
                                             req->subtask_index(), req->event()));
}

grpc::Status TaskExecutorServiceImpl::ListLogFiles(grpc::ServerContext*,
                                                   const v1::ListLogFilesRequest*,
                                                   v1::ListLogFilesResponse* resp) {
  for (const LogFileInfo& f : sluice::ListLogFiles(log_dir_)) {
    v1::LogFile* file = resp->add_files();
    file->set_name(f.name);
    file->set_size_bytes(f.size_bytes);
    file->set_mtime_ms(f.mtime_ms);
  }
  return grpc::Status::OK;
}

grpc::Status TaskExecutorServiceImpl::ReadLogFile(grpc::ServerContext* ctx,
                                                  const v1::ReadLogFileRequest* req,
                                                  grpc::ServerWriter<v1::LogFileChunk>* writer) {
  auto fd = OpenLogFile(log_dir_, req->name());
  if (!fd.ok()) return ToGrpcStatus(fd.status());
  std::string buffer(1 << 20, '\0');
  v1::LogFileChunk chunk;
  grpc::Status status = grpc::Status::OK;
  while (!ctx->IsCancelled()) {
    const ssize_t n = ::read(*fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = grpc::Status(grpc::StatusCode::INTERNAL,
                            fmt::format("cannot read log file '{}': {}", req->name(), strerror(errno)));
      break;
    }
    if (n == 0) break;
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    if (!writer->Write(chunk)) break;
  }
  ::close(*fd);
  return status;
}

grpc::Status TaskExecutorServiceImpl::Exchange(
    grpc::ServerContext* ctx, grpc::ServerReaderWriter<v1::CreditFrame, v1::DataFrame>* stream) {
  // The consumer may be deployed after its producer connects: ServeExchange retries the lookup.
  GateLookup lookup = [this](const std::string& id) -> std::shared_ptr<network::InputGate> {
    auto attempt = ExecutionAttemptId::Parse(id);
    if (!attempt.ok()) return nullptr;
    return executor_->AwaitInputGate(*attempt, 0);
  };
  ExchangeServerOptions options;
  options.initial_credits = buffers_per_channel_;
  return ServeExchange(ctx, stream, lookup, options);
}

}  // namespace sluice::taskmanager
