#pragma once
// Shared start-up and shutdown plumbing of the two daemons (sluice-jobmanager,
// sluice-taskmanager): loading the configuration file and taking SIGINT/SIGTERM.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "runtime/config/config_file.h"

namespace sluice::config {

// Loads `path` (no file when empty), sets the `-D key=value` definitions over it, warns on stderr
// about keys no daemon knows ("<program>: warning: ..."), and passes it to `apply`. On an error
// prints "<program>: <message>" to stderr and returns false (the daemon exits 2).
bool LoadConfigFile(const std::string& path, const std::vector<std::string>& definitions,
                    std::string_view program,
                    const std::function<absl::Status(const ConfigFile&)>& apply);

// io.tmp.dirs (Flink's key; of a list separated by ',' or ':' the first is taken): creates the
// directory and makes it the process's temporary directory ($TMPDIR), where RocksDB working
// directories of jobs without state.local-dir and other scratch files go. Called by
// LoadConfigFile before `apply`, on the main thread before any other starts. InvalidArgument
// naming the key when the directory cannot be created.
absl::Status ApplyTmpDirs(const ConfigFile& file);

// Adds the daemons' --config FILE and -D key=value (repeatable) options to `app`.
void AddConfigOptions(CLI::App& app, std::string* config_path, std::vector<std::string>* definitions);

// Blocks SIGINT and SIGTERM in this and every later thread (server threads inherit the mask)
// and ignores SIGPIPE. Call before starting any thread.
void BlockTerminationSignals();

// Waits for SIGINT or SIGTERM (blocked by BlockTerminationSignals), logs it and returns, so that
// shutdown runs on the main thread rather than in a signal handler.
void WaitForTerminationSignal();

}  // namespace sluice::config
