#include "jobmanager/service/dispatcher_service.h"

#include "jobmanager/service/view_convert.h"
#include "proto/convert/deployment_convert.h"
#include "sluice/grpc_defaults.h"
#include "runtime/base/status.h"

namespace sluice::jobmanager {

using rpc::ToGrpcStatus;

grpc::Status DispatcherServiceImpl::SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* req,
                                              v1::SubmitJobResponse* resp) {
  SubmitOptions options{req->job().restore_path(), req->job().allow_non_restored_state()};
  auto id = dispatcher_->SubmitJob(rpc::FromProto(req->job()), options);
  if (!id.ok()) return ToGrpcStatus(id.status());
  resp->set_job_id(id->ToString());
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::UploadBlob(grpc::ServerContext*,
                                               grpc::ServerReader<v1::BlobChunk>* reader,
                                               v1::UploadBlobResponse* resp) {
  v1::BlobChunk chunk;
  if (!reader->Read(&chunk)) {
    return ToGrpcStatus(absl::InvalidArgumentError("UploadBlob: the upload has no chunks"));
  }
  const std::string key = chunk.key();
  auto writer = blobs_->Write(key);
  if (!writer.ok()) return ToGrpcStatus(writer.status());
  do {
    if (absl::Status s = (*writer)->Append(chunk.data()); !s.ok()) return ToGrpcStatus(s);
  } while (reader->Read(&chunk));
  auto path = (*writer)->Commit();
  if (!path.ok()) return ToGrpcStatus(path.status());
  resp->set_key(key);
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                                             v1::ListJobsResponse* resp) {
  *resp = ListJobs();
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::GetJob(grpc::ServerContext*, const v1::GetJobRequest* req,
                                           v1::GetJobResponse* resp) {
  auto r = GetJob(req->job_id());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::CancelJob(grpc::ServerContext*, const v1::CancelJobRequest* req,
                                              v1::CancelJobResponse*) {
  return ToGrpcStatus(CancelJob(req->job_id()));
}

absl::StatusOr<std::string> DispatcherServiceImpl::GetJobConfigJson(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->ConfigJson();
}

absl::StatusOr<std::string> DispatcherServiceImpl::GetCheckpointConfigJson(
    const std::string& job_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->CheckpointConfigJson();
}

absl::StatusOr<std::string> DispatcherServiceImpl::GetCheckpointDetailsJson(
    const std::string& job_id, int64_t checkpoint_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->CheckpointDetailsJson(checkpoint_id);
}

absl::Status DispatcherServiceImpl::RescaleJob(const std::string& job_id,
                                              const std::map<std::string, int>& parallelism) {
  return dispatcher_->Rescale(job_id, parallelism);
}

absl::Status DispatcherServiceImpl::CancelJob(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->Cancel();
}

grpc::Status DispatcherServiceImpl::ListTaskManagers(grpc::ServerContext*,
                                                     const v1::ListTaskManagersRequest*,
                                                     v1::ListTaskManagersResponse* resp) {
  *resp = ListTaskManagers();
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::GetJobCheckpoints(grpc::ServerContext*,
                                                      const v1::GetJobRequest* req,
                                                      v1::JsonResponse* resp) {
  auto r = GetJobCheckpointsJson(req->job_id());
  if (!r.ok()) return ToGrpcStatus(r.status());
  resp->set_json(*r);
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::TriggerSavepoint(grpc::ServerContext*,
                                                     const v1::TriggerSavepointRequest* req,
                                                     v1::TriggerSavepointResponse* resp) {
  auto id = TriggerSavepoint(*req);
  if (!id.ok()) return ToGrpcStatus(id.status());
  resp->set_trigger_id(*id);
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::TriggerCheckpoint(grpc::ServerContext*,
                                                      const v1::GetJobRequest* req,
                                                      v1::TriggerSavepointResponse* resp) {
  auto id = TriggerCheckpoint(req->job_id());
  if (!id.ok()) return ToGrpcStatus(id.status());
  resp->set_trigger_id(*id);
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::DisposeSavepoint(grpc::ServerContext*,
                                                     const v1::DisposeSavepointRequest* req,
                                                     v1::DisposeSavepointResponse* resp) {
  auto r = DisposeSavepoint(req->savepoint_path());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status DispatcherServiceImpl::GetSavepoint(grpc::ServerContext*,
                                                 const v1::GetSavepointRequest* req,
                                                 v1::SavepointStatus* resp) {
  auto st = GetSavepoint(req->job_id(), req->trigger_id());
  if (!st.ok()) return ToGrpcStatus(st.status());
  *resp = std::move(*st);
  return grpc::Status::OK;
}

v1::ListJobsResponse DispatcherServiceImpl::ListJobs() {
  v1::ListJobsResponse r;
  for (const auto& s : dispatcher_->ListJobs()) ToProto(s, r.add_jobs());
  return r;
}

absl::StatusOr<v1::GetJobResponse> DispatcherServiceImpl::GetJob(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  v1::GetJobResponse r;
  ToProto(jm->Details(), &r);
  // Between the two attempts of an in-place rescale the job is restarting, not finished.
  if (r.job().state() == "FINISHED" && dispatcher_->IsRescaling(jm->id())) {
    r.mutable_job()->set_state("RESTARTING");
  }
  return r;
}

v1::ListTaskManagersResponse DispatcherServiceImpl::ListTaskManagers() {
  return ToProto(rm_->TaskManagers());
}

absl::StatusOr<std::string> DispatcherServiceImpl::GetJobCheckpointsJson(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->CheckpointsJson();
}

absl::StatusOr<std::string> DispatcherServiceImpl::GetJobExceptionsJson(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->ExceptionsJson();
}

absl::StatusOr<std::string> DispatcherServiceImpl::GetJobMetricsJson(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->MetricsJson();
}

absl::StatusOr<std::string> DispatcherServiceImpl::TriggerSavepoint(
    const v1::TriggerSavepointRequest& r) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(r.job_id()));
  if (r.drain() && !r.stop()) {
    return InvalidArgumentF("drain needs stop: only a stop with savepoint can drain the job");
  }
  if (r.cancel_job() && r.stop()) {
    return InvalidArgumentF("cancel-job and stop exclude each other: a stop ends the job itself");
  }
  const SavepointMode mode = r.stop() ? (r.drain() ? SavepointMode::kStopAndDrain
                                                   : SavepointMode::kStop)
                             : r.cancel_job() ? SavepointMode::kCancel
                                              : SavepointMode::kKeepRunning;
  return jm->TriggerSavepoint(r.target_directory(), mode, r.native(),
                              dispatcher_->default_savepoint_dir());
}

absl::StatusOr<std::string> DispatcherServiceImpl::TriggerCheckpoint(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->TriggerCheckpoint();
}

namespace {
v1::DisposeSavepointResponse ToProto(const std::string& trigger_id, const DisposalResult& r) {
  v1::DisposeSavepointResponse p;
  p.set_trigger_id(trigger_id);
  p.set_path(r.path);
  p.set_failure(r.failure);
  return p;
}
}  // namespace

absl::StatusOr<v1::DisposeSavepointResponse> DispatcherServiceImpl::DisposeSavepoint(
    const std::string& path) {
  ASSIGN_OR_RETURN(std::string id, disposer_.Trigger(path));
  ASSIGN_OR_RETURN(DisposalResult r, disposer_.Get(id));
  return ToProto(id, r);
}

absl::StatusOr<v1::DisposeSavepointResponse> DispatcherServiceImpl::GetSavepointDisposal(
    const std::string& trigger_id) {
  ASSIGN_OR_RETURN(DisposalResult r, disposer_.Get(trigger_id));
  return ToProto(trigger_id, r);
}

absl::StatusOr<v1::SavepointStatus> DispatcherServiceImpl::GetSavepoint(const std::string& job_id,
                                                                        const std::string& trigger_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  ASSIGN_OR_RETURN(SavepointProgress p, jm->GetSavepoint(trigger_id));
  return ToProto(p);
}

}  // namespace sluice::jobmanager
