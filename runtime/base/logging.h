#pragma once
// Process-wide logging set-up (spdlog). Daemons call InitLogging once in main(); everything
// else logs through spdlog's default logger. Thread-safe after InitLogging.
//
// Where logs go (Flink's log4j set-up for its daemons, without a log4j file): the console
// (stderr), and when a directory is configured also a size-rotated file there, `<name>.log`,
// rolled to `<name>.1.log` ... `<name>.<max_files>.log` (the oldest is deleted). Lines are
// text ("2026-12-03 22:20:09.049 info  [jobmanager] message") or JSON, one object per line with
// Elastic Common Schema field names as Flink's JSON (EcsLayout) set-up writes them:
//   {"@timestamp":"2026-12-03T22:20:09.049Z","log.level":"INFO","log.logger":"jobmanager",
//    "process.thread.id":4242,"message":"..."}

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace sluice {

enum class LogFormat { kText, kJson };

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, off (env.log.level)
  LogFormat format = LogFormat::kText;  // env.log.format: text | json
  // Log file: `file` when set (Flink's log.file), else `<dir>/<file name of the process>.log`
  // when `dir` is set (env.log.dir); neither = console only.
  std::filesystem::path dir;
  std::filesystem::path file;
  int64_t max_file_bytes = 100ll << 20;  // env.log.max-file-size: a file rolls over past this
  int max_files = 10;                    // env.log.max: rolled files kept besides the current one
  bool console = true;                   // env.log.console: also log to stderr
};

// OK for trace, debug, info, warn, error and off; InvalidArgument naming the level otherwise.
absl::Status CheckLogLevel(std::string_view level);

// "text" / "json" (case-insensitive); InvalidArgument naming the value otherwise.
absl::Status ParseLogFormat(std::string_view text, LogFormat* out);

// `process` names the daemon in every line ("jobmanager", "taskmanager-1"); `level` is one of
// trace, debug, info, warn, error (unknown → info). Console only, text.
void InitLogging(std::string_view process, std::string_view level = "info");

// As above with files and a format. `file_stem` names the file in `options.dir`
// ("jobmanager" → jobmanager.log). Unavailable when the directory cannot be created or the file
// cannot be opened (naming the path); InvalidArgument for a bad level. On error the console
// logger is installed, so the caller can still log why it exits.
absl::Status InitLogging(std::string_view process, std::string_view file_stem,
                         const LogOptions& options);

// The current log file (empty when logging to the console only). Set by InitLogging.
const std::filesystem::path& CurrentLogFile();
// The absolute directory of CurrentLogFile(), whose files the REST API lists; empty likewise.
std::string CurrentLogDirectory();

}  // namespace sluice
