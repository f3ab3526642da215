#pragma once
// Loading job plugins: shared libraries built against the C++ DataStream API (include/sluice,
// plugin.h), Flink's job JARs.
//
// LoadPlugin dlopen()s the library (RTLD_NOW | RTLD_LOCAL), looks up its entry point
// `sluice_plugin_info`, checks the API version and C++ ABI it was built with against the
// engine's, and runs its build function with `args`. AttachPlugin does that for a submission:
// the job's spec becomes the plugin's generated spec, its functions the plugin's.
//
// Errors (InvalidArgument, naming the library): the file cannot be loaded (dlerror's text: not
// found, not a shared library, an undefined symbol), no entry point, another API version or ABI,
// the build function threw (its message). Nothing a plugin does at build time crashes the
// caller, except what no process survives (a segfault in its code).
//
// Libraries are never unloaded: their functions' code must stay mapped as long as any job
// built from them may run; the same path loads once (dlopen reference counting).
// Thread-safe (dlopen is); build functions of different plugins may run concurrently.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/job/job_compiler.h"
#include "sluice/environment.h"

namespace sluice::plugin {

absl::StatusOr<std::shared_ptr<const sluice::JobDefinition>> LoadPlugin(
    const std::string& library_path, const std::vector<std::string>& args);

// Loads `library_path` with submission->plugin_ref.args and fills submission->spec_yaml,
// ->plugin and (when unset) ->spec_path ("<plugin file name>") from it.
absl::Status AttachPlugin(const std::string& library_path, job::JobSubmission* submission);

}  // namespace sluice::plugin
