#pragma once
// Process-wide logging set-up (spdlog). Daemons call InitLogging once in main(); everything
// else logs through spdlog's default logger. Thread-safe after InitLogging.

#include <string_view>

namespace sluice {

// `process` names the daemon in every line ("jobmanager", "taskmanager-1"); `level` is one of
// trace, debug, info, warn, error (unknown → info).
void InitLogging(std::string_view process, std::string_view level = "info");

}  // namespace sluice
