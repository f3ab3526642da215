#pragma once
// The JobManager's client-facing edge: the gRPC DispatcherService (the `sluice` CLI) and the
// RestBackend of the REST API, both over the Dispatcher and the ResourceManager, converting the
// core's views to protobuf (view_convert.h) so the CLI and REST always agree.
//
// Threading: called concurrently from gRPC and HTTP threads; Dispatcher and ResourceManager are
// thread-safe.

#include "grpcpp/grpcpp.h"
#include "jobmanager/dispatcher.h"
#include "jobmanager/resource_manager.h"
#include "jobmanager/rest/rest_server.h"
#include "jobmanager/savepoint_disposal.h"
#include "runtime/plugin/blob_store.h"
#include "sluice/v1/jobmanager.grpc.pb.h"

namespace sluice::jobmanager {

class DispatcherServiceImpl final : public v1::DispatcherService::Service, public RestBackend {
 public:
  DispatcherServiceImpl(Dispatcher* dispatcher, ResourceManager* rm, plugin::BlobStore* blobs)
      : dispatcher_(dispatcher), rm_(rm), blobs_(blobs) {}

  // --- DispatcherService ---
  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* req,
                         v1::SubmitJobResponse* resp) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse* resp) override;
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest* req,
                      v1::GetJobResponse* resp) override;
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest* req,
                         v1::CancelJobResponse*) override;
  grpc::Status ListTaskManagers(grpc::ServerContext*, const v1::ListTaskManagersRequest*,
                                v1::ListTaskManagersResponse* resp) override;
  grpc::Status GetJobCheckpoints(grpc::ServerContext*, const v1::GetJobRequest* req,
                                 v1::JsonResponse* resp) override;
  grpc::Status TriggerSavepoint(grpc::ServerContext*, const v1::TriggerSavepointRequest* req,
                                v1::TriggerSavepointResponse* resp) override;
  grpc::Status GetSavepoint(grpc::ServerContext*, const v1::GetSavepointRequest* req,
                            v1::SavepointStatus* resp) override;
  grpc::Status TriggerCheckpoint(grpc::ServerContext*, const v1::GetJobRequest* req,
                                 v1::TriggerSavepointResponse* resp) override;
  grpc::Status DisposeSavepoint(grpc::ServerContext*, const v1::DisposeSavepointRequest* req,
                                v1::DisposeSavepointResponse* resp) override;
  grpc::Status UploadBlob(grpc::ServerContext*, grpc::ServerReader<v1::BlobChunk>* reader,
                          v1::UploadBlobResponse* resp) override;

  // --- RestBackend ---
  v1::ListJobsResponse ListJobs() override;
  absl::StatusOr<v1::GetJobResponse> GetJob(const std::string& job_id) override;
  v1::ListTaskManagersResponse ListTaskManagers() override;
  absl::StatusOr<std::string> GetJobCheckpointsJson(const std::string& job_id) override;
  absl::StatusOr<std::string> GetJobExceptionsJson(const std::string& job_id) override;
  absl::StatusOr<std::string> GetJobMetricsJson(const std::string& job_id) override;
  absl::StatusOr<std::string> GetJobConfigJson(const std::string& job_id) override;
  absl::StatusOr<std::string> GetCheckpointConfigJson(const std::string& job_id) override;
  absl::StatusOr<std::string> GetCheckpointDetailsJson(const std::string& job_id,
                                                       int64_t checkpoint_id) override;
  absl::Status CancelJob(const std::string& job_id) override;
  absl::Status RescaleJob(const std::string& job_id,
                          const std::map<std::string, int>& parallelism) override;
  absl::StatusOr<std::string> TriggerSavepoint(const v1::TriggerSavepointRequest& request) override;
  absl::StatusOr<std::string> TriggerCheckpoint(const std::string& job_id) override;
  absl::StatusOr<v1::DisposeSavepointResponse> DisposeSavepoint(const std::string& path) override;
  absl::StatusOr<v1::DisposeSavepointResponse> GetSavepointDisposal(
      const std::string& trigger_id) override;
  absl::StatusOr<v1::SavepointStatus> GetSavepoint(const std::string& job_id,
                                                   const std::string& trigger_id) override;

 private:
  Dispatcher* dispatcher_;
  ResourceManager* rm_;
  plugin::BlobStore* blobs_;
  SavepointDisposer disposer_;
};

}  // namespace sluice::jobmanager
