// A plugin whose entry point claims another API version (SLUICE_TEST_WRONG_API) or another C++
// ABI (SLUICE_TEST_WRONG_ABI) than the engine's: both must be refused before anything runs.

#include "sluice/plugin.h"

namespace {
bool Build(const std::vector<std::string>&, sluice::JobDefinition*, std::string* error) {
  *error = "must never run";
  return false;
}
}  // namespace

extern "C" __attribute__((visibility("default"))) const sluice::PluginInfo* sluice_plugin_info() {
#ifdef SLUICE_TEST_WRONG_API
  static const sluice::PluginInfo info{sluice::kApiVersion + 1, sluice::kCppAbi, &Build};
#else
  static const sluice::PluginInfo info{sluice::kApiVersion, "gxx-abi-0;cxx11-abi-0", &Build};
#endif
  return &info;
}
