#include "client/dispatcher_client.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <utility>

#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "runtime/base/status.h"

namespace sluice::client {

std::string NormalizeJobManagerAddress(const std::string& address) {
  std::string default_port = fmt::format(":{}", kDefaultJobManagerPort);
  if (address.empty()) return "localhost" + default_port;
  if (address.front() == '[') {  // "[::1]" or "[::1]:6123"
    return address.find("]:") != std::string::npos ? address : address + default_port;
  }
  // "host" gets the default port; "host:port" and bare IPv6 literals stay as they are.
  return address.find(':') == std::string::npos ? address + default_port : address;
}

DispatcherClient::DispatcherClient(std::string address, std::chrono::milliseconds rpc_timeout)
    : address_(std::move(address)), rpc_timeout_(rpc_timeout) {
  stub_ = v1::DispatcherService::NewStub(
      grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

std::unique_ptr<DispatcherClient> DispatcherClient::Create(const std::string& address,
                                                           std::chrono::milliseconds rpc_timeout) {
  return std::unique_ptr<DispatcherClient>(
      new DispatcherClient(NormalizeJobManagerAddress(address), rpc_timeout));
}

void DispatcherClient::PrepareContext(grpc::ClientContext* context) const {
  context->set_deadline(std::chrono::system_clock::now() + rpc_timeout_);
}

absl::Status DispatcherClient::ToStatus(const grpc::Status& status, const char* rpc) const {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  // gRPC's message when an HTTP/1.1 server answers: the user gave the REST port.
  if (status.error_message().find("http1.x") != std::string::npos ||
      status.error_message().find("HTTP/1") != std::string::npos) {
    return absl::Status(
        absl::StatusCode::kUnavailable,
        fmt::format("{} answers HTTP/1.1, not gRPC: this is the REST port; the CLI talks to the "
                    "JobManager's RPC port (jobmanager.rpc.port, default 6123)",
                    address_));
  }
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::Status(code, fmt::format("cannot reach the JobManager at {}: {}", address_,
                                            status.error_message()));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(
          code, fmt::format("the JobManager at {} did not answer {} within {:.3g} s", address_, rpc,
                            rpc_timeout_.count() / 1000.0));
    default:
      return absl::Status(code, status.error_message());
  }
}

absl::StatusOr<std::string> DispatcherClient::UploadBlob(const std::string& path,
                                                         const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundF("cannot read job plugin '{}': {}", path, std::strerror(errno));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
  v1::UploadBlobResponse response;
  auto writer = stub_->UploadBlob(&context, &response);
  v1::BlobChunk chunk;
  chunk.set_key(key);
  std::string buf(size_t{1} << 20, '\0');
  bool first = true;
  while (in || first) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    chunk.set_data(buf.data(), static_cast<size_t>(in.gcount()));
    if (!writer->Write(chunk)) break;  // the server ended the call; Finish says why
    chunk.clear_key();
    first = false;
  }
  writer->WritesDone();
  absl::Status status = ToStatus(writer->Finish(), "UploadBlob");
  if (!status.ok()) return status;
  return response.key();
}

absl::StatusOr<std::string> DispatcherClient::SubmitJob(const v1::JobSubmission& job) {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::SubmitJobRequest request;
  *request.mutable_job() = job;
  v1::SubmitJobResponse response;
  absl::Status status = ToStatus(stub_->SubmitJob(&context, request, &response), "SubmitJob");
  if (!status.ok()) return status;
  return response.job_id();
}

absl::StatusOr<v1::ListJobsResponse> DispatcherClient::ListJobs() {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::ListJobsResponse response;
  absl::Status status =
      ToStatus(stub_->ListJobs(&context, v1::ListJobsRequest(), &response), "ListJobs");
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::GetJobResponse> DispatcherClient::GetJob(const std::string& job_id) {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  v1::GetJobResponse response;
  absl::Status status = ToStatus(stub_->GetJob(&context, request, &response), "GetJob");
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::string> DispatcherClient::GetJobCheckpoints(const std::string& job_id) {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::GetJobRequest request;
  request.set_job_id(job_id);
  v1::JsonResponse response;
  absl::Status status =
      ToStatus(stub_->GetJobCheckpoints(&context, request, &response), "GetJobCheckpoints");
  if (!status.ok()) return status;
  return response.json();
}

absl::StatusOr<std::string> DispatcherClient::TriggerSavepoint(
    const v1::TriggerSavepointRequest& request) {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::TriggerSavepointResponse response;
  absl::Status status =
      ToStatus(stub_->TriggerSavepoint(&context, request, &response), "TriggerSavepoint");
  if (!status.ok()) return status;
  return response.trigger_id();
}

absl::StatusOr<v1::DisposeSavepointResponse> DispatcherClient::DisposeSavepoint(
    const std::string& path) {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::DisposeSavepointRequest request;
  request.set_savepoint_path(path);
  v1::DisposeSavepointResponse response;
  absl::Status status =
      ToStatus(stub_->DisposeSavepoint(&context, request, &response), "DisposeSavepoint");
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<v1::SavepointStatus> DispatcherClient::GetSavepoint(const std::string& job_id,
                                                                   const std::string& trigger) {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::GetSavepointRequest request;
  request.set_job_id(job_id);
  request.set_trigger_id(trigger);
  v1::SavepointStatus response;
  absl::Status status = ToStatus(stub_->GetSavepoint(&context, request, &response), "GetSavepoint");
  if (!status.ok()) return status;
  return response;
}

absl::Status DispatcherClient::CancelJob(const std::string& job_id) {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::CancelJobRequest request;
  request.set_job_id(job_id);
  v1::CancelJobResponse response;
  return ToStatus(stub_->CancelJob(&context, request, &response), "CancelJob");
}

absl::StatusOr<v1::ListTaskManagersResponse> DispatcherClient::ListTaskManagers() {
  grpc::ClientContext context;
  PrepareContext(&context);
  v1::ListTaskManagersResponse response;
  absl::Status status =
      ToStatus(stub_->ListTaskManagers(&context, v1::ListTaskManagersRequest(), &response),
               "ListTaskManagers");
  if (!status.ok()) return status;
  return response;
}

}  // namespace sluice::client
