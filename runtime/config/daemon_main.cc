#include "runtime/config/daemon_main.h"

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::config {
namespace {
sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}
}  // namespace

bool LoadConfigFile(const std::string& path, const std::vector<std::string>& definitions,
                    std::string_view program,
                    const std::function<absl::Status(const ConfigFile&)>& apply) {
  absl::StatusOr<ConfigFile> file = path.empty() ? ConfigFile() : ConfigFile::Load(path);
  absl::Status status = file.status();
  for (size_t i = 0; status.ok() && i < definitions.size(); ++i) {
    status = file->SetFromFlag(definitions[i]);
  }
  if (status.ok()) {
    for (const std::string& w : file->UnknownKeyWarnings(KnownConfigKeys())) {
      std::cerr << program << ": warning: " << w << "\n";
    }
    status = ApplyTmpDirs(*file);
  }
  if (status.ok()) status = apply(*file);
  if (status.ok()) return true;
  std::cerr << program << ": " << status.message() << "\n";
  return false;
}

absl::Status ApplyTmpDirs(const ConfigFile& file) {
  std::string dirs;
  RETURN_IF_ERROR(file.GetString("io.tmp.dirs", &dirs));
  if (dirs.empty()) return absl::OkStatus();
  const std::string dir = dirs.substr(0, dirs.find_first_of(",:"));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    return InvalidArgumentF("{}: io.tmp.dirs: cannot create the directory '{}': {}", file.source(),
                            dir, ec ? ec.message() : "not a directory");
  }
  ::setenv("TMPDIR", dir.c_str(), 1);
  return absl::OkStatus();
}

void AddConfigOptions(CLI::App& app, std::string* config_path,
                      std::vector<std::string>* definitions) {
  app.add_option("--config", *config_path,
                 "YAML configuration file (Flink's config.yaml keys; unknown keys warn)");
  app.add_option("-D", *definitions,
                 "key=value: sets a configuration key over the file (repeatable; flags win)")
      ->allow_extra_args(false);
}

void BlockTerminationSignals() {
  sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void WaitForTerminationSignal() {
  sigset_t signals = TerminationSignals();
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
}

}  // namespace sluice::config
