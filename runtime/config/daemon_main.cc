#include "runtime/config/daemon_main.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>

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

bool LoadConfigFile(const std::string& path, std::string_view program,
                    const std::function<absl::Status(const ConfigFile&)>& apply) {
  if (path.empty()) return true;
  auto file = ConfigFile::Load(path);
  absl::Status status = file.ok() ? apply(*file) : file.status();
  if (status.ok()) return true;
  std::cerr << program << ": " << status.message() << "\n";
  return false;
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
