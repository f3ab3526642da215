#pragma once
// The parsed command line of the `sluice` CLI, shared by the files that implement its verbs.

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::client {

inline constexpr char kDefaultJobManager[] = "127.0.0.1:6123";

// $SLUICE_JOBMANAGER, else 127.0.0.1:6123.
inline std::string DefaultJobManager() {
  const char* env = std::getenv("SLUICE_JOBMANAGER");
  return env != nullptr && env[0] != '\0' ? env : kDefaultJobManager;
}

// Prints the error's message to stderr; returns exit code 1.
inline int PrintError(const absl::Status& status) {
  std::cerr << status.message() << "\n";
  return 1;
}

// The JobManager's RPC address from the daemons' configuration file (jobmanager.rpc.address and
// jobmanager.rpc.port, as Flink's CLI reads conf/config.yaml): `path`, or when empty
// $SLUICE_CONF_DIR/config.yaml if it exists; "" when there is no file. Errors name the file.
absl::StatusOr<std::string> JobManagerFromConfig(const std::string& path);

// How `list`, `status`, `taskmanagers` and `checkpoints` print: aligned text or JSON.
enum class OutputFormat { kTable, kJson };

struct Options {
  std::string jobmanager = DefaultJobManager();
  std::string plugin_path;               // --plugin: a job plugin (C++ DataStream API)
  std::vector<std::string> positionals;  // the job spec, or with --plugin the plugin's args
  std::string job_id;
  int parallelism = 0;
  bool detached = false;
  bool dry_run = false;
  std::string from_checkpoint;
  bool allow_non_restored_state = false;
  std::string savepoint_dir;
  std::string savepoint_type;  // "canonical" or "native" (Flink's --type)
  bool with_savepoint = false;
  bool drain = false;                          // `stop --drain`
  std::string dispose_path;                    // `savepoint --dispose <path>`
  bool list_running = false;                   // `list -r`: RUNNING jobs only
  bool list_all = false;                       // `list -a`: every job, ended ones too
  OutputFormat output = OutputFormat::kTable;  // --output table|json
  std::string config_path;                     // --config: the daemons' configuration file
  int taskmanagers = 2;
  int slots = 2;
  std::string log_level = "warn";
  bool sql = false;        // `sluice sql run`: the positional is a SQL script, whatever its name
  bool plan = false;       // `sluice sql validate --plan`
  bool sql_local = false;  // `sluice sql --local`: the interactive client on a mini-cluster
};

}  // namespace sluice::client
