#include "jobmanager/service/taskmanager_logs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "sluice/grpc_defaults.h"
#include "sluice/v1/taskmanager.grpc.pb.h"

namespace sluice::jobmanager {
namespace {

std::unique_ptr<v1::TaskExecutorService::Stub> StubFor(const std::string& address) {
  return v1::TaskExecutorService::NewStub(grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), rpc::ChannelArguments()));
}

// gRPC errors of a TaskManager call as absl, naming the TaskManager; transport failures are
// Unavailable.
absl::Status FromTaskManager(const grpc::Status& st, const std::string& resource_id) {
  absl::Status s = rpc::FromGrpcStatus(st);
  if (s.ok()) return s;
  if (s.code() == absl::StatusCode::kNotFound || s.code() == absl::StatusCode::kInvalidArgument) {
    return absl::Status(s.code(), fmt::format("TaskManager {}: {}", resource_id, std::string(s.message())));
  }
  return absl::UnavailableError(
      fmt::format("TaskManager {} did not answer: {}", resource_id, std::string(s.message())));
}

}  // namespace

absl::StatusOr<std::string> GrpcTaskManagerLogs::AddressOf(const std::string& resource_id) {
  for (const TaskManagerInfo& tm : rm_->TaskManagers()) {
    if (tm.resource_id == resource_id) return tm.address;
  }
  return absl::NotFoundError(fmt::format("TaskManager {} is not registered", resource_id));
}

absl::StatusOr<std::vector<LogFileInfo>> GrpcTaskManagerLogs::List(const std::string& resource_id) {
  auto address = AddressOf(resource_id);
  if (!address.ok()) return address.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListLogFilesResponse resp;
  grpc::Status st = StubFor(*address)->ListLogFiles(&ctx, v1::ListLogFilesRequest(), &resp);
  if (absl::Status s = FromTaskManager(st, resource_id); !s.ok()) return s;
  std::vector<LogFileInfo> files;
  for (const v1::LogFile& f : resp.files()) {
    files.push_back(LogFileInfo{f.name(), f.size_bytes(), f.mtime_ms()});
  }
  return files;
}

absl::StatusOr<int> GrpcTaskManagerLogs::Fetch(const std::string& resource_id,
                                               const std::string& name) {
  auto address = AddressOf(resource_id);
  if (!address.ok()) return address.status();
  const std::string tmp = std::filesystem::temp_directory_path().string();
  const int fd = ::open(tmp.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(
        fmt::format("cannot create a temporary file in {}: {}", tmp, strerror(errno)));
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::ReadLogFileRequest req;
  req.set_name(name);
  auto stub = StubFor(*address);
  auto reader = stub->ReadLogFile(&ctx, req);
  v1::LogFileChunk chunk;
  absl::Status written = absl::OkStatus();
  while (reader->Read(&chunk)) {
    const std::string& data = chunk.data();
    size_t done = 0;
    while (written.ok() && done < data.size()) {
      const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        written = absl::InternalError(
            fmt::format("cannot write the copy of {}'s log file: {}", resource_id, strerror(errno)));
        ctx.TryCancel();
      } else {
        done += static_cast<size_t>(n);
      }
    }
  }
  absl::Status read = FromTaskManager(reader->Finish(), resource_id);
  if (!written.ok() || !read.ok() || ::lseek(fd, 0, SEEK_SET) != 0) {
    ::close(fd);
    return !written.ok() ? written : !read.ok() ? read : absl::InternalError("lseek failed");
  }
  return fd;
}

}  // namespace sluice::jobmanager
