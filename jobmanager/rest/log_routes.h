#pragma once
// The log-file endpoints of the REST API (Flink's JobManagerLogListHandler,
// JobManagerCustomLogHandler, TaskManagerLogListHandler, TaskManagerCustomLogHandler):
//   GET /jobmanager/logs                          {"logs": [{"name", "size", "mtime"}]}
//   GET /jobmanager/log                           the current log file (CurrentLogFileOf)
//   GET /jobmanager/logs/:filename                one file of the log directory
//   GET /taskmanagers/:taskmanagerid/logs         as /jobmanager/logs, fetched from the TaskManager
//   GET /taskmanagers/:taskmanagerid/log          its current log file
//   GET /taskmanagers/:taskmanagerid/logs/:filename
// "size" is bytes, "mtime" ms since the epoch. Files are sent from a descriptor, never held in
// memory; a TaskManager's file is first streamed over gRPC into an unlinked temporary file.
// 404 for an unknown TaskManager or file (or a daemon that logs to the console only), 400 for a
// name that is not a plain file name, 503 when the TaskManager does not answer.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/base/log_files.h"
#include "runtime/http/router.h"

namespace sluice::jobmanager::rest {

// Reaches the TaskManagers' log files (implemented over gRPC by GrpcTaskManagerLogs).
// Thread-safe: called from the REST server's event loops.
class TaskManagerLogs {
 public:
  virtual ~TaskManagerLogs() = default;
  // NotFound for an unknown TaskManager; Unavailable when it does not answer.
  virtual absl::StatusOr<std::vector<LogFileInfo>> List(const std::string& resource_id) = 0;
  // A readable descriptor positioned at the start of a copy of the file (the caller owns it).
  // Errors as List, plus NotFound/InvalidArgument for the file name.
  virtual absl::StatusOr<int> Fetch(const std::string& resource_id, const std::string& name) = 0;
};

// `jobmanager_log_dir` (read at each request; empty = console only) and `taskmanagers` (may be
// null: TaskManager logs answer 404) must outlive the router.
void AddLogRoutes(http::Router& router, const std::string* jobmanager_log_dir,
                  TaskManagerLogs* taskmanagers);

// The current log file of a daemon among the files of its log directory: the most recently
// modified one whose name starts with `stem` ("jobmanager", "taskmanager": a JobManager and a
// TaskManager on one host may share the directory), else the most recently modified of all
// (a log.file with another name); nullptr when there are none.
const LogFileInfo* CurrentLogFileOf(const std::vector<LogFileInfo>& files, std::string_view stem);

}  // namespace sluice::jobmanager::rest
