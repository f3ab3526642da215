#include <filesystem>
#include <string>

#include "client/cli_options.h"
#include "fmt/format.h"
#include "runtime/base/host_port.h"
#include "runtime/base/status.h"
#include "runtime/config/config_file.h"

namespace sluice::client {

absl::StatusOr<std::string> JobManagerFromConfig(const std::string& path) {
  std::string file = path;
  if (file.empty()) {
    const char* dir = std::getenv("SLUICE_CONF_DIR");
    if (dir == nullptr || dir[0] == '\0') return std::string();
    file = std::string(dir) + "/config.yaml";
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return std::string();
  }
  ASSIGN_OR_RETURN(config::ConfigFile config, config::ConfigFile::Load(file));
  if (!config.Has("jobmanager.rpc.address") && !config.Has("jobmanager.rpc.port")) {
    return std::string();
  }
  std::string host = "127.0.0.1";
  int port = 6123;
  RETURN_IF_ERROR(config.GetString("jobmanager.rpc.address", &host));
  RETURN_IF_ERROR(config.GetInt("jobmanager.rpc.port", 1, 65535, &port));
  return JoinHostPort(host, port);
}

}  // namespace sluice::client
