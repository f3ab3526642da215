#include "jobmanager/service/grpc_task_executor_gateway.h"

#include "proto/convert/deployment_convert.h"
#include "sluice/grpc_defaults.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

namespace {
std::unique_ptr<grpc::ClientContext> Deadline(int seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}
}  // namespace

GrpcTaskExecutorGateway::GrpcTaskExecutorGateway(const std::string& address)
    : address_(address),
      stub_(v1::TaskExecutorService::NewStub(grpc::CreateCustomChannel(
          address, grpc::InsecureChannelCredentials(), rpc::ChannelArguments()))) {}

GrpcTaskExecutorGateway::~GrpcTaskExecutorGateway() { calls_.Shutdown(); }

void GrpcTaskExecutorGateway::SubmitTask(deployment::TaskDeploymentDescriptor tdd, Callback done) {
  auto req = std::make_shared<v1::SubmitTaskRequest>();
  rpc::ToProto(tdd, req.get());
  calls_.Post([this, req, done = std::move(done)] {
    auto ctx = Deadline(10);
    v1::SubmitTaskResponse resp;
    done(rpc::FromGrpcStatus(stub_->SubmitTask(ctx.get(), *req, &resp)));
  });
}

void GrpcTaskExecutorGateway::CancelTask(const JobId& job, const ExecutionAttemptId& attempt,
                                         Callback done) {
  v1::CancelTaskRequest req;
  req.set_job_id(job.ToString());
  req.set_attempt_id(attempt.ToString());
  calls_.Post([this, req, done = std::move(done)] {
    auto ctx = Deadline(5);
    v1::CancelTaskResponse resp;
    done(rpc::FromGrpcStatus(stub_->CancelTask(ctx.get(), req, &resp)));
  });
}

void GrpcTaskExecutorGateway::TriggerCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                                                const CheckpointTrigger& t) {
  v1::TriggerCheckpointRequest req;
  req.set_job_id(job.ToString());
  req.set_attempt_id(attempt.ToString());
  req.set_checkpoint_id(t.checkpoint_id);
  req.set_timestamp_ms(t.timestamp_ms);
  req.set_final(t.kind == TriggerKind::kFinal);
  req.set_stop(t.kind == TriggerKind::kStopWithSavepoint);
  req.set_drain(t.kind == TriggerKind::kDrain);
  req.set_savepoint(t.savepoint || t.kind == TriggerKind::kStopWithSavepoint);
  req.set_native(t.native);
  calls_.Post([this, req] {
    auto ctx = Deadline(5);
    v1::TriggerCheckpointResponse resp;
    grpc::Status st = stub_->TriggerCheckpoint(ctx.get(), req, &resp);
    if (!st.ok()) spdlog::debug("trigger {} to {}: {}", req.checkpoint_id(), req.attempt_id(), st.error_message());
  });
}

void GrpcTaskExecutorGateway::NotifyCheckpointComplete(const JobId& job,
                                                       const ExecutionAttemptId& attempt,
                                                       int64_t checkpoint_id) {
  Notify(job, attempt, checkpoint_id, /*complete=*/true);
}

void GrpcTaskExecutorGateway::NotifyCheckpointAborted(const JobId& job,
                                                      const ExecutionAttemptId& attempt,
                                                      int64_t checkpoint_id) {
  Notify(job, attempt, checkpoint_id, /*complete=*/false);
}

void GrpcTaskExecutorGateway::Notify(const JobId& job, const ExecutionAttemptId& attempt,
                                     int64_t checkpoint_id, bool complete) {
  v1::NotifyCheckpointRequest req;
  req.set_job_id(job.ToString());
  req.set_attempt_id(attempt.ToString());
  req.set_checkpoint_id(checkpoint_id);
  calls_.Post([this, req, complete] {
    auto ctx = Deadline(5);
    v1::NotifyCheckpointResponse resp;
    grpc::Status st = complete ? stub_->NotifyCheckpointComplete(ctx.get(), req, &resp)
                               : stub_->NotifyCheckpointAborted(ctx.get(), req, &resp);
    if (!st.ok()) {
      spdlog::debug("checkpoint {} {} to {}: {}", req.checkpoint_id(),
                    complete ? "complete" : "aborted", req.attempt_id(), st.error_message());
    }
  });
}

void GrpcTaskExecutorGateway::SendOperatorEvent(const JobId& job, const ExecutionAttemptId& attempt,
                                                int vertex, int subtask, std::string event,
                                                Callback done) {
  v1::SendOperatorEventRequest req;
  req.set_job_id(job.ToString());
  req.set_attempt_id(attempt.ToString());
  req.set_vertex_index(vertex);
  req.set_subtask_index(subtask);
  req.set_event(std::move(event));
  calls_.Post([this, req = std::move(req), done = std::move(done)] {
    auto ctx = Deadline(5);
    v1::SendOperatorEventResponse resp;
    done(rpc::FromGrpcStatus(stub_->SendOperatorEvent(ctx.get(), req, &resp)));
  });
}

}  // namespace sluice::jobmanager
