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
  auto jm = dispatcher_->Lookup(req->job_id());
  if (!jm.ok()) return ToGrpcStatus(jm.status());
  return ToGrpcStatus((*jm)->Cancel());
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
  auto id = TriggerSavepoint(req->job_id(), req->target_directory(), req->stop(), req->native());
  if (!id.ok()) return ToGrpcStatus(id.status());
  resp->set_trigger_id(*id);
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

absl::StatusOr<std::string> DispatcherServiceImpl::TriggerSavepoint(const std::string& job_id,
                                                                    const std::string& target,
                                                                    bool stop, bool native) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  return jm->TriggerSavepoint(target, stop, native, dispatcher_->default_savepoint_dir());
}

absl::StatusOr<v1::SavepointStatus> DispatcherServiceImpl::GetSavepoint(const std::string& job_id,
                                                                        const std::string& trigger_id) {
  ASSIGN_OR_RETURN(auto jm, dispatcher_->Lookup(job_id));
  ASSIGN_OR_RETURN(SavepointProgress p, jm->GetSavepoint(trigger_id));
  return ToProto(p);
}

}  // namespace sluice::jobmanager
