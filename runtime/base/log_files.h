#pragma once
// The log files of a daemon's log directory, as Flink's REST API serves them
// (GET /jobmanager/logs, /jobmanager/logs/:filename; TaskExecutorGateway#requestLogList):
// the regular files directly in the directory, by name. Names are file names, never paths:
// "../x" or "a/b" are refused, so a request cannot read outside the directory.
//
// Thread safety: stateless functions, safe from any thread.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice {

struct LogFileInfo {
  std::string name;      // file name in the log directory
  int64_t size_bytes = 0;
  int64_t mtime_ms = 0;  // last modification, ms since the epoch
};

// The regular files of `dir`, sorted by name; empty when `dir` is empty or missing.
std::vector<LogFileInfo> ListLogFiles(const std::filesystem::path& dir);

// Opens `name` in `dir` for reading; the caller owns the descriptor. InvalidArgument for a name
// that is not a plain file name; NotFound when no such regular file exists (or `dir` is empty:
// the daemon logs to the console only).
absl::StatusOr<int> OpenLogFile(const std::filesystem::path& dir, std::string_view name);

}  // namespace sluice
