#pragma once
// The REST API's way to a TaskManager's log files: asks the TaskManager over gRPC
// (TaskExecutorService.ListLogFiles / ReadLogFile, Flink's TaskExecutorGateway#requestLogList
// and requestFileUploadByName), looking its address up in the ResourceManager. A fetched file is
// streamed into an unlinked temporary file, so neither side holds it in memory.
//
// Threading: thread-safe (one channel per call; the ResourceManager is thread-safe). Calls
// block the caller for up to 10 s (list) or 60 s (a file).

#include <string>
#include <vector>

#include "jobmanager/resource_manager.h"
#include "jobmanager/rest/log_routes.h"

namespace sluice::jobmanager {

class GrpcTaskManagerLogs final : public rest::TaskManagerLogs {
 public:
  explicit GrpcTaskManagerLogs(ResourceManager* rm) : rm_(rm) {}

  absl::StatusOr<std::vector<LogFileInfo>> List(const std::string& resource_id) override;
  absl::StatusOr<int> Fetch(const std::string& resource_id, const std::string& name) override;

 private:
  // NotFound "TaskManager <id> is not registered".
  absl::StatusOr<std::string> AddressOf(const std::string& resource_id);

  ResourceManager* rm_;
};

}  // namespace sluice::jobmanager
