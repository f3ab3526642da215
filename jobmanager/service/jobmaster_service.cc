#include "jobmanager/service/jobmaster_service.h"

#include <fstream>

#include "fmt/format.h"
#include "jobmanager/service/view_convert.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "sluice/grpc_defaults.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

namespace {
grpc::Status InvalidArgument(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}
}  // namespace

void JobMasterServiceImpl::Stop() {
  std::lock_guard lock(sessions_mu_);
  stopping_ = true;
  for (grpc::ServerContext* ctx : sessions_) ctx->TryCancel();
}

grpc::Status JobMasterServiceImpl::RegisterTaskManager(grpc::ServerContext*,
                                                       const v1::RegisterTaskManagerRequest* req,
                                                       v1::RegisterTaskManagerResponse* resp) {
  if (req->resource_id().empty() || req->address().empty()) {
    return InvalidArgument("RegisterTaskManager needs a resource id and an address");
  }
  if (req->slots() < 1) return InvalidArgument("a TaskManager needs at least 1 slot");
  TaskManagerInfo info;
  info.resource_id = req->resource_id();
  info.address = req->address();
  info.slots = req->slots();
  info.cpu_cores = req->cpu_cores();
  info.memory_bytes = req->physical_memory_bytes();
  info.metrics_port = req->metrics_port();
  info.registered_ms = NowMillis();
  rm_->Register(std::move(info));
  resp->set_jobmanager_id(jobmanager_id_);
  resp->set_heartbeat_interval_ms(heartbeat_interval_ms_);
  resp->set_heartbeat_timeout_ms(heartbeat_timeout_ms_);
  return grpc::Status::OK;
}

grpc::Status JobMasterServiceImpl::ConnectTaskManager(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::TaskManagerSession, v1::TaskManagerSession>* stream) {
  v1::TaskManagerSession hello;
  if (!stream->Read(&hello)) return grpc::Status::OK;
  const std::string id = hello.resource_id();
  // The session belongs to the TaskManager's current registration only.
  const int64_t registration = rm_->CurrentRegistration(id);
  if (registration == 0) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        fmt::format("TaskManager {} is not registered", id));
  }
  {
    std::lock_guard lock(sessions_mu_);
    if (stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "JobManager is shutting down");
    sessions_.insert(ctx);
  }
  v1::TaskManagerSession msg;
  while (stream->Read(&msg)) {
  }
  {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(ctx);
  }
  // A TaskManager shutting down half-closes the stream (WritesDone); a dead one's is cancelled.
  if (!stopping_) {
    if (ctx->IsCancelled()) {
      rm_->SessionClosed(id, registration,
                         fmt::format("its connection to the JobManager closed ({})", ctx->peer()));
    } else {
      rm_->SessionClosed(id, registration, "it is shutting down",
                         ResourceManager::SessionEnd::kClosedByTaskManager);
    }
  }
  return grpc::Status::OK;
}

grpc::Status JobMasterServiceImpl::Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req,
                                             v1::HeartbeatResponse* resp) {
  const v1::ProcessMetrics& p = req->process();
  const bool known = rm_->Heartbeat(
      req->resource_id(),
      metrics::ProcessMetrics{p.cpu_time_ms(), p.rss_bytes(), p.threads(), p.start_time_ms()});
  if (known) {
    for (const auto& t : req->tasks()) {
      auto jm = dispatcher_->Lookup(t.job_id());
      auto attempt = ExecutionAttemptId::Parse(t.attempt_id());
      if (jm.ok() && attempt.ok()) (*jm)->ReportMetrics(*attempt, FromProto(t.metrics()));
    }
  }
  resp->set_registered(known);
  resp->set_jobmanager_id(jobmanager_id_);
  return grpc::Status::OK;
}

grpc::Status JobMasterServiceImpl::UpdateTaskExecutionState(
    grpc::ServerContext*, const v1::UpdateTaskExecutionStateRequest* req,
    v1::UpdateTaskExecutionStateResponse* resp) {
  auto state = graph::ParseExecutionState(req->state());
  if (!state) return InvalidArgument(fmt::format("unknown execution state '{}'", req->state()));
  auto attempt = ExecutionAttemptId::Parse(req->attempt_id());
  if (!attempt.ok()) return InvalidArgument(fmt::format("malformed attempt id '{}'", req->attempt_id()));
  auto jm = dispatcher_->Lookup(req->job_id());
  if (!jm.ok()) {
    // Fencing: a report for a job this JobManager does not know (e.g. after its restart).
    spdlog::warn("Ignoring {} of attempt {} of unknown job {}", req->state(), req->attempt_id(),
                 req->job_id());
    resp->set_accepted(false);
    return grpc::Status::OK;
  }
  TaskStateUpdate u;
  u.attempt = *attempt;
  u.state = *state;
  u.failure = req->has_failure() ? req->failure().message() : "";
  u.retryable = !req->has_failure() || req->failure().retryable();
  u.metrics = FromProto(req->metrics());
  u.end_of_input = req->end_of_input();
  resp->set_accepted((*jm)->UpdateTaskExecutionState(std::move(u)));
  return grpc::Status::OK;
}

grpc::Status JobMasterServiceImpl::AcknowledgeCheckpoint(grpc::ServerContext*,
                                                         const v1::AcknowledgeCheckpointRequest* req,
                                                         v1::AcknowledgeCheckpointResponse*) {
  auto jm = dispatcher_->Lookup(req->job_id());
  auto attempt = ExecutionAttemptId::Parse(req->attempt_id());
  if (!jm.ok() || !attempt.ok()) return grpc::Status::OK;  // stale: dropped
  checkpoint::Ack ack;
  ack.state_size_bytes = req->state_size_bytes();
  ack.checkpointed_size_bytes = req->checkpointed_size_bytes();
  ack.alignment_ms = req->alignment_ms();
  ack.sync_ms = req->sync_ms();
  ack.async_ms = req->async_ms();
  ack.handle = req->state_handle();
  (*jm)->AcknowledgeCheckpoint(*attempt, req->checkpoint_id(), std::move(ack));
  return grpc::Status::OK;
}

grpc::Status JobMasterServiceImpl::DeclineCheckpoint(grpc::ServerContext*,
                                                     const v1::DeclineCheckpointRequest* req,
                                                     v1::DeclineCheckpointResponse*) {
  auto jm = dispatcher_->Lookup(req->job_id());
  auto attempt = ExecutionAttemptId::Parse(req->attempt_id());
  if (!jm.ok() || !attempt.ok()) return grpc::Status::OK;
  (*jm)->DeclineCheckpoint(*attempt, req->checkpoint_id(), req->reason());
  return grpc::Status::OK;
}

}  // namespace sluice::jobmanager

namespace sluice::jobmanager {

grpc::Status JobMasterServiceImpl::FetchBlob(grpc::ServerContext*, const v1::FetchBlobRequest* req,
                                             grpc::ServerWriter<v1::BlobChunk>* writer) {
  auto path = blobs_->PathOf(req->key());
  if (!path.ok()) return rpc::ToGrpcStatus(path.status());
  std::ifstream in(*path, std::ios::binary);
  if (!in) return rpc::ToGrpcStatus(InternalF("cannot read blob '{}'", *path));
  v1::BlobChunk chunk;
  chunk.set_key(req->key());
  std::string buf(size_t{1} << 20, '\0');
  bool first = true;
  while (in || first) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    chunk.set_data(buf.data(), static_cast<size_t>(in.gcount()));
    if (!writer->Write(chunk)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
    chunk.clear_key();
    first = false;
  }
  return grpc::Status::OK;
}

}  // namespace sluice::jobmanager
