// A plugin whose entry point claims another API version (SLUICE_TEST_WRONG_API) or another C++
// ABI (SLUICE_TEST_WRONG_ABI) than the engine's, or that references a symbol nothing defines
// (SLUICE_TEST_WRONG_MISSING_SYMBOL): all must be refused before anything runs.

#include "sluice/plugin.h"

#ifdef SLUICE_TEST_WRONG_MISSING_SYMBOL
// Defined nowhere: the library links (shared libraries may have undefined symbols) but cannot
// be loaded with RTLD_NOW.
extern "C" int sluice_test_symbol_defined_nowhere();
int force_reference = sluice_test_symbol_defined_nowhere();
#endif

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
