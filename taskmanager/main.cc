// sluice-taskmanager: the TaskManager daemon (Flink's TaskManagerRunner).
//
// Configuration: defaults < the YAML file given with --config (Flink-style keys, see
// runtime/config/config_file.h) < command-line flags. Runs in the foreground, logs to stderr, registers
// with the JobManager (retrying while it is unreachable), and on SIGINT/SIGTERM cancels its tasks,
// shuts down and exits 0. Exit 2 on usage or configuration errors, 1 when it cannot start.

#include <signal.h>

#include <charconv>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "runtime/base/host_port.h"
#include "runtime/base/version.h"
#include "runtime/config/config_file.h"
#include "runtime/config/daemon_main.h"
#include "fmt/format.h"
#include "runtime/base/logging.h"
#include "runtime/config/log_config.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"
#include "taskmanager/taskmanager.h"

namespace sluice::taskmanager {
namespace {

// "host:port" with a port in 1..65535.
bool IsHostPort(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int port = 0;
  const char* begin = address.data() + colon + 1;
  const char* end = address.data() + address.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  return ec == std::errc() && ptr == end && port > 0 && port <= 65535;
}

absl::Status ApplyConfigFile(const config::ConfigFile& file, TaskManagerConfig* config) {
  // The JobManager's address comes from two keys, as in Flink.
  std::string jm_host = "127.0.0.1";
  int jm_port = 6123;
  RETURN_IF_ERROR(file.GetString("jobmanager.rpc.address", &jm_host));
  RETURN_IF_ERROR(file.GetInt("jobmanager.rpc.port", 1, 65535, &jm_port));
  if (file.Has("jobmanager.rpc.address") || file.Has("jobmanager.rpc.port")) {
    config->jobmanager_address = JoinHostPort(jm_host, jm_port);
  }
  RETURN_IF_ERROR(file.GetInt("taskmanager.numberOfTaskSlots", 1, 1024, &config->slots));
  RETURN_IF_ERROR(file.GetString("taskmanager.host", &config->host));
  RETURN_IF_ERROR(file.GetString("taskmanager.bind-host", &config->bind_host));
  RETURN_IF_ERROR(file.GetInt("taskmanager.rpc.port", 0, 65535, &config->rpc_port));
  RETURN_IF_ERROR(file.GetString("taskmanager.resource-id", &config->resource_id));
  RETURN_IF_ERROR(file.GetInt("taskmanager.network.buffers-per-channel", 1, 1 << 16,
                              &config->buffers_per_channel));
  RETURN_IF_ERROR(file.GetString("blob.storage.directory", &config->blob_dir));
  RETURN_IF_ERROR(file.GetPortRange("metrics.reporter.prom.port", &config->metrics_port_first,
                                    &config->metrics_port_last));
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  CLI::App app{"Sluice TaskManager: offers slots to a JobManager and runs the subtasks of jobs.",
               "sluice-taskmanager"};
  app.set_version_flag("--version", std::string("sluice-taskmanager ") + std::string(kSluiceVersion));
  std::string jobmanager, host, bind_host, resource_id, config_path, log_level = "info";
  std::string metrics_port;
  int slots = 0, rpc_port = 0, buffers = 0;
  auto* jm_opt = app.add_option("--jobmanager", jobmanager,
                                "the JobManager's gRPC address HOST:PORT "
                                "[jobmanager.rpc.address + jobmanager.rpc.port, default "
                                "127.0.0.1:6123]");
  auto* slots_opt =
      app.add_option("--slots", slots, "slots offered [taskmanager.numberOfTaskSlots, default 1]")
          ->check(CLI::Range(1, 1024));
  auto* host_opt = app.add_option("--host", host,
                                  "address other TaskManagers and the JobManager reach this one "
                                  "on [taskmanager.host, default 127.0.0.1]");
  auto* rpc_opt = app.add_option("--rpc-port", rpc_port,
                                 "gRPC/data exchange port; 0 = any free port "
                                 "[taskmanager.rpc.port, default 0]")
                      ->check(CLI::Range(0, 65535));
  auto* bind_opt = app.add_option("--bind-host", bind_host,
                                  "address the gRPC server binds to "
                                  "[taskmanager.bind-host, default 0.0.0.0]");
  auto* id_opt = app.add_option("--resource-id", resource_id,
                                "this TaskManager's id [taskmanager.resource-id, default random]");
  std::vector<std::string> definitions;
  config::AddConfigOptions(app, &config_path, &definitions);
  auto* log_level_opt = app.add_option("--log-level", log_level,
                                       "trace, debug, info, warn or error [env.log.level]")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  auto* buffers_opt = app.add_option("--buffers-per-channel", buffers,
                                     "credits (buffers) per input channel "
                                     "[taskmanager.network.buffers-per-channel, default 4]")
                          ->check(CLI::Range(1, 1 << 16));
  auto* metrics_opt = app.add_option("--metrics-port", metrics_port,
                                     "port or range of the Prometheus endpoint GET /metrics; 0 = "
                                     "any free port, -1 = none "
                                     "[metrics.reporter.prom.port, default 9249-9259]");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  TaskManagerConfig config;
  LogOptions log_options;
  if (!config::LoadConfigFile(config_path, definitions, "sluice-taskmanager",
                              [&](const config::ConfigFile& f) {
                                RETURN_IF_ERROR(config::ApplyLogConfig(f, &log_options));
                                return ApplyConfigFile(f, &config);
                              })) {
    return 2;
  }
  if (log_level_opt->count() > 0) log_options.level = log_level;
  if (jm_opt->count() > 0) config.jobmanager_address = jobmanager;
  if (slots_opt->count() > 0) config.slots = slots;
  if (host_opt->count() > 0) config.host = host;
  if (rpc_opt->count() > 0) config.rpc_port = rpc_port;
  if (bind_opt->count() > 0) config.bind_host = bind_host;
  if (id_opt->count() > 0) config.resource_id = resource_id;
  if (buffers_opt->count() > 0) config.buffers_per_channel = buffers;
  if (metrics_opt->count() > 0) {
    auto range = config::ParsePortRange(metrics_port);
    if (!range.ok()) {
      std::cerr << "sluice-taskmanager: --metrics-port: " << range.status().message() << "\n";
      return 2;
    }
    config.metrics_port_first = range->first;
    config.metrics_port_last = range->second;
  }
  if (!IsHostPort(config.jobmanager_address)) {
    std::cerr << "sluice-taskmanager: --jobmanager: expected HOST:PORT, got '"
              << config.jobmanager_address << "'\n";
    return 2;
  }

  if (absl::Status logging = InitLogging(
          config.resource_id.empty() ? "taskmanager" : "taskmanager-" + config.resource_id,
          "taskmanager", log_options);
      !logging.ok()) {
    std::cerr << "sluice-taskmanager: " << logging.message() << "\n";
    return 2;
  }
  config.log_dir = CurrentLogDirectory();
  // Signals are taken synchronously in main (see sluice-jobmanager).
  config::BlockTerminationSignals();

  auto taskmanager = TaskManager::Start(config);
  if (!taskmanager.ok()) {
    spdlog::error("TaskManager failed to start: {}", taskmanager.status().message());
    return 1;
  }
  spdlog::info("TaskManager {} started: {} slot(s), gRPC on {}:{}, JobManager at {}",
               (*taskmanager)->resource_id(), config.slots, config.host, (*taskmanager)->rpc_port(),
               config.jobmanager_address);

  config::WaitForTerminationSignal();
  (*taskmanager)->Shutdown();
  spdlog::info("TaskManager stopped");
  return 0;
}

}  // namespace
}  // namespace sluice::taskmanager

int main(int argc, char** argv) { return sluice::taskmanager::Main(argc, argv); }
