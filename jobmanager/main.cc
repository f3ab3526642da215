// sluice-jobmanager: the JobManager daemon (Flink's StandaloneSessionClusterEntrypoint).
//
// Configuration: defaults < the YAML file given with --config (Flink-style keys, see
// runtime/config/config_file.h) < command-line flags. Runs in the foreground, logs to stderr, and on
// SIGINT/SIGTERM shuts down cleanly and exits 0. Exit 2 on usage or configuration errors, 1 when
// it cannot start (e.g. a port is taken).

#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "runtime/base/version.h"
#include "runtime/config/config_file.h"
#include "runtime/config/daemon_main.h"
#include "fmt/format.h"
#include "jobmanager/jobmanager.h"
#include "runtime/base/durations.h"
#include "runtime/base/logging.h"
#include "runtime/config/log_config.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {
namespace {

absl::Status ApplyConfigFile(const config::ConfigFile& file, JobManagerConfig* config) {
  RETURN_IF_ERROR(file.GetString("jobmanager.bind-host", &config->bind_host));
  RETURN_IF_ERROR(file.GetInt("jobmanager.rpc.port", 0, 65535, &config->rpc_port));
  RETURN_IF_ERROR(file.GetInt("rest.port", -1, 65535, &config->rest_port));
  RETURN_IF_ERROR(file.GetString("rest.bind-address", &config->rest_bind_host));
  RETURN_IF_ERROR(file.GetInt64("rest.server.max-content-length", 1024, int64_t{1} << 30,
                                &config->rest_max_content_length));
  RETURN_IF_ERROR(file.GetInt("rest.server.numThreads", 1, 64, &config->rest_threads));
  RETURN_IF_ERROR(file.GetInt("rest.server.connections-per-address", 0, 1 << 16,
                              &config->rest_connections_per_address));
  RETURN_IF_ERROR(file.GetDurationMs("heartbeat.interval", &config->heartbeat_interval_ms));
  RETURN_IF_ERROR(file.GetDurationMs("heartbeat.timeout", &config->heartbeat_timeout_ms));
  RETURN_IF_ERROR(file.GetDurationMs("execution.buffer-timeout", &config->buffer_timeout_ms));
  RETURN_IF_ERROR(file.GetString("state.checkpoints.dir", &config->checkpoint_dir));
  RETURN_IF_ERROR(file.GetString("state.savepoints.dir", &config->savepoint_dir));
  RETURN_IF_ERROR(file.GetString("blob.storage.directory", &config->blob_dir));
  return absl::OkStatus();
}

// A duration flag: milliseconds or Flink notation ("5 s").
absl::Status ParseDurationFlag(const std::string& flag, const std::string& text, int64_t* out) {
  auto ms = ParseDurationMs(text);
  if (!ms.ok()) return InvalidArgumentF("{}: {}", flag, ms.status().message());
  *out = *ms;
  return absl::OkStatus();
}

// Written to a temp file and renamed, so a reader never sees half of it.
absl::Status WritePortsFile(const std::string& path, int rpc_port, int rest_port) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "rpc=" << rpc_port << "\nrest=" << rest_port << "\n";
    out.flush();
    if (!out) return InternalF("cannot write ports file '{}'", tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return InternalF("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  CLI::App app{"Sluice JobManager: coordinates jobs and TaskManagers; serves gRPC and REST.",
               "sluice-jobmanager"};
  app.set_version_flag("--version", std::string("sluice-jobmanager ") + std::string(kSluiceVersion));
  int rpc_port = 0, rest_port = 0;
  std::string bind_host, config_path, heartbeat_interval, heartbeat_timeout, buffer_timeout;
  std::string log_level = "info", ports_file;
  auto* rpc_opt = app.add_option("--rpc-port", rpc_port,
                                 "gRPC port for the CLI and TaskManagers; 0 = any free port "
                                 "[jobmanager.rpc.port, default 6123]")
                      ->check(CLI::Range(0, 65535));
  auto* rest_opt = app.add_option("--rest-port", rest_port,
                                  "REST port; 0 = any free port, -1 = no REST API "
                                  "[rest.port, default 8081]")
                       ->check(CLI::Range(-1, 65535));
  auto* bind_opt = app.add_option("--bind-host", bind_host,
                                  "address the gRPC and REST servers bind to "
                                  "[jobmanager.bind-host, rest.bind-address, default 0.0.0.0]");
  std::vector<std::string> definitions;
  config::AddConfigOptions(app, &config_path, &definitions);
  auto* hbi_opt = app.add_option("--heartbeat-interval", heartbeat_interval,
                                 "TaskManager heartbeat period, ms or e.g. '1 s' "
                                 "[heartbeat.interval, default 500]");
  auto* hbt_opt = app.add_option("--heartbeat-timeout", heartbeat_timeout,
                                 "a TaskManager silent this long is lost, ms or e.g. '5 s' "
                                 "[heartbeat.timeout, default 3000]");
  auto* bt_opt = app.add_option("--buffer-timeout", buffer_timeout,
                                "longest a network buffer waits before it is flushed, ms; 0 = "
                                "every batch [execution.buffer-timeout, default 5]");
  auto* log_level_opt = app.add_option("--log-level", log_level,
                                       "trace, debug, info, warn or error [env.log.level]")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  std::string checkpoint_dir, savepoint_dir;
  auto* spdir_opt = app.add_option("--savepoint-dir", savepoint_dir,
                                   "default directory of savepoints [state.savepoints.dir, no "
                                   "default]");
  auto* cpdir_opt = app.add_option("--checkpoint-dir", checkpoint_dir,
                                   "default checkpoint directory of jobs that checkpoint "
                                   "[state.checkpoints.dir, no default]");
  app.add_option("--ports-file", ports_file,
                 "after binding, write 'rpc=<port>\\nrest=<port>\\n' to this file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  JobManagerConfig config;
  LogOptions log_options;
  if (!config::LoadConfigFile(config_path, definitions, "sluice-jobmanager",
                              [&](const config::ConfigFile& f) {
                                RETURN_IF_ERROR(config::ApplyLogConfig(f, &log_options));
                                return ApplyConfigFile(f, &config);
                              })) {
    return 2;
  }
  if (log_level_opt->count() > 0) log_options.level = log_level;
  if (rpc_opt->count() > 0) config.rpc_port = rpc_port;
  if (cpdir_opt->count() > 0) config.checkpoint_dir = checkpoint_dir;
  if (spdir_opt->count() > 0) config.savepoint_dir = savepoint_dir;
  if (rest_opt->count() > 0) config.rest_port = rest_port;
  if (bind_opt->count() > 0) {
    config.bind_host = bind_host;
    config.rest_bind_host = bind_host;
  }
  absl::Status flags = absl::OkStatus();
  if (flags.ok() && hbi_opt->count() > 0) {
    flags = ParseDurationFlag("--heartbeat-interval", heartbeat_interval,
                              &config.heartbeat_interval_ms);
  }
  if (flags.ok() && hbt_opt->count() > 0) {
    flags =
        ParseDurationFlag("--heartbeat-timeout", heartbeat_timeout, &config.heartbeat_timeout_ms);
  }
  if (flags.ok() && bt_opt->count() > 0) {
    flags = ParseDurationFlag("--buffer-timeout", buffer_timeout, &config.buffer_timeout_ms);
  }
  if (flags.ok() && config.heartbeat_interval_ms <= 0) {
    flags =
        InvalidArgumentF("heartbeat interval must be > 0 ms, got {}", config.heartbeat_interval_ms);
  }
  if (flags.ok() && config.heartbeat_timeout_ms <= config.heartbeat_interval_ms) {
    flags = InvalidArgumentF("heartbeat timeout ({} ms) must be longer than the interval ({} ms)",
                             config.heartbeat_timeout_ms, config.heartbeat_interval_ms);
  }
  if (!flags.ok()) {
    std::cerr << "sluice-jobmanager: " << flags.message() << "\n";
    return 2;
  }

  if (absl::Status logging = InitLogging("jobmanager", "jobmanager", log_options); !logging.ok()) {
    std::cerr << "sluice-jobmanager: " << logging.message() << "\n";
    return 2;
  }
  config.log_dir = CurrentLogDirectory();
  // Block the signals in every thread (the servers' threads inherit the mask) and take them
  // synchronously in main below, so shutdown runs on this thread, not in a signal handler.
  config::BlockTerminationSignals();
  // Request bodies (up to rest.server.max-content-length) and job views are the JobManager's
  // large allocations: a fixed mmap threshold returns them to the OS when freed, where glibc's
  // adaptive threshold would keep them in the heap after the first large free.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);

  auto jobmanager = JobManager::Start(config);
  if (!jobmanager.ok()) {
    spdlog::error("JobManager failed to start: {}", jobmanager.status().message());
    return 1;
  }
  spdlog::info("JobManager started: gRPC on {}:{}, REST on {}:{}", config.bind_host,
               (*jobmanager)->rpc_port(), config.rest_bind_host, (*jobmanager)->rest_port());
  if (!ports_file.empty()) {
    absl::Status written =
        WritePortsFile(ports_file, (*jobmanager)->rpc_port(), (*jobmanager)->rest_port());
    if (!written.ok()) {
      spdlog::error("{}", written.message());
      (*jobmanager)->Shutdown();
      return 1;
    }
  }

  config::WaitForTerminationSignal();
  (*jobmanager)->Shutdown();
  spdlog::info("JobManager stopped");
  return 0;
}

}  // namespace
}  // namespace sluice::jobmanager

int main(int argc, char** argv) { return sluice::jobmanager::Main(argc, argv); }
