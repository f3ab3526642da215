#pragma once
// The JobManager's TaskManager-facing edge: the gRPC JobMasterService. Registration, heartbeats
// and session streams go to the ResourceManager; blobs (job plugins) come from the blob store; task reports (state updates, checkpoint
// acknowledgements and declines, heartbeat metrics) to the JobMaster of the job they name, which
// fences them by execution attempt.
//
// Threading: gRPC server threads; the ResourceManager, Dispatcher and JobMasters are
// thread-safe. A session stream occupies a server thread for the TaskManager's life.

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include "grpcpp/grpcpp.h"
#include "jobmanager/dispatcher.h"
#include "jobmanager/resource_manager.h"
#include "runtime/plugin/blob_store.h"
#include "sluice/v1/jobmanager.grpc.pb.h"

namespace sluice::jobmanager {

class JobMasterServiceImpl final : public v1::JobMasterService::Service {
 public:
  JobMasterServiceImpl(Dispatcher* dispatcher, ResourceManager* rm, std::string jobmanager_id,
                       int64_t heartbeat_interval_ms, int64_t heartbeat_timeout_ms,
                       plugin::BlobStore* blobs)
      : dispatcher_(dispatcher),
        rm_(rm),
        blobs_(blobs),
        jobmanager_id_(std::move(jobmanager_id)),
        heartbeat_interval_ms_(heartbeat_interval_ms),
        heartbeat_timeout_ms_(heartbeat_timeout_ms) {}

  // Shutting down: closing session streams no longer means lost TaskManagers, and the open ones
  // are cancelled so that the RPC server's shutdown does not wait for its deadline.
  void Stop();

  grpc::Status RegisterTaskManager(grpc::ServerContext*, const v1::RegisterTaskManagerRequest* req,
                                   v1::RegisterTaskManagerResponse* resp) override;
  grpc::Status ConnectTaskManager(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::TaskManagerSession, v1::TaskManagerSession>* stream) override;
  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req,
                         v1::HeartbeatResponse* resp) override;
  grpc::Status UpdateTaskExecutionState(grpc::ServerContext*,
                                        const v1::UpdateTaskExecutionStateRequest* req,
                                        v1::UpdateTaskExecutionStateResponse* resp) override;
  grpc::Status AcknowledgeCheckpoint(grpc::ServerContext*, const v1::AcknowledgeCheckpointRequest* req,
                                     v1::AcknowledgeCheckpointResponse*) override;
  grpc::Status DeclineCheckpoint(grpc::ServerContext*, const v1::DeclineCheckpointRequest* req,
                                 v1::DeclineCheckpointResponse*) override;
  // Streams a blob (a job plugin) in 1 MiB chunks; NotFound for an unknown key.
  grpc::Status FetchBlob(grpc::ServerContext*, const v1::FetchBlobRequest* req,
                         grpc::ServerWriter<v1::BlobChunk>* writer) override;

 private:
  Dispatcher* dispatcher_;
  ResourceManager* rm_;
  plugin::BlobStore* blobs_;
  const std::string jobmanager_id_;
  const int64_t heartbeat_interval_ms_;
  const int64_t heartbeat_timeout_ms_;
  std::atomic<bool> stopping_{false};
  std::mutex sessions_mu_;
  std::set<grpc::ServerContext*> sessions_;  // open ConnectTaskManager streams
};

}  // namespace sluice::jobmanager
