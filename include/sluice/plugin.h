#pragma once
// Sluice C++ DataStream API: the entry point of a job plugin (Flink's job JAR and its main()).
//
// A job is a shared library that defines one build function and names it with SLUICE_JOB:
//
//   void BuildJob(sluice::StreamExecutionEnvironment& env, const std::vector<std::string>& args);
//   SLUICE_JOB(BuildJob)
//
// SLUICE_JOB exports the library's only entry point, `sluice_plugin_info` (extern "C"), which
// returns a PluginInfo: the API version and C++ ABI the library was built with, and a function
// that runs the build function. `sluice run --plugin libjob.so -- args...` uploads the library
// to the JobManager's blob store; the JobManager and every TaskManager load it and run the
// build function with the same args, so it must build the same job every time (no randomness,
// no reading of local files that differ between hosts: pass such things as args).
//
// Errors the engine reports as a refused submission (never a crashed daemon): no
// `sluice_plugin_info` symbol, another kApiVersion or C++ ABI than the engine's, an exception
// thrown by the build function (its message), an invalid job (the job spec compiler's message).
// The library stays loaded until the process exits (user functions' code must stay mapped while
// any of its operators may run).

#include <exception>
#include <string>
#include <vector>

#include "sluice/environment.h"
#include "sluice/types.h"

namespace sluice {

#define SLUICE_DETAIL_STR2(x) #x
#define SLUICE_DETAIL_STR(x) SLUICE_DETAIL_STR2(x)
// The C++ ABI a plugin and the engine must share: the Itanium ABI version and libstdc++'s
// std::string ABI and release (the API passes std::string, std::vector and std::function).
inline constexpr const char* kCppAbi =
    "gxx-abi-" SLUICE_DETAIL_STR(__GXX_ABI_VERSION) ";cxx11-abi-" SLUICE_DETAIL_STR(
        _GLIBCXX_USE_CXX11_ABI) ";libstdc++-" SLUICE_DETAIL_STR(_GLIBCXX_RELEASE);

struct PluginInfo {
  int api_version = 0;   // kApiVersion of the plugin's headers
  const char* cpp_abi = "";  // kCppAbi of the plugin's compiler
  // Runs the build function: fills *out and returns true, or sets *error (the exception's
  // message) and returns false.
  bool (*build)(const std::vector<std::string>& args, JobDefinition* out, std::string* error) =
      nullptr;
};

using BuildFunction = void (*)(StreamExecutionEnvironment&, const std::vector<std::string>&);

namespace detail {
template <BuildFunction F>
bool RunBuild(const std::vector<std::string>& args, JobDefinition* out, std::string* error) {
  try {
    StreamExecutionEnvironment env;
    F(env, args);
    *out = env.Build();
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
  } catch (...) {
    *error = "unknown exception (not derived from std::exception)";
  }
  return false;
}
}  // namespace detail

}  // namespace sluice

// The name of the entry point the engine looks up.
#define SLUICE_PLUGIN_ENTRY_POINT "sluice_plugin_info"

#define SLUICE_JOB(build_function)                                                   \
  extern "C" __attribute__((visibility("default"))) const ::sluice::PluginInfo*      \
  sluice_plugin_info() {                                                             \
    static const ::sluice::PluginInfo info{::sluice::kApiVersion, ::sluice::kCppAbi, \
                                           &::sluice::detail::RunBuild<build_function>}; \
    return &info;                                                                    \
  }
