#include "runtime/plugin/plugin_loader.h"

#include <dlfcn.h>

#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "runtime/base/status.h"
#include "runtime/expr/expression.h"
#include "sluice/plugin.h"

namespace sluice::plugin {

absl::StatusOr<std::shared_ptr<const sluice::JobDefinition>> LoadPlugin(
    const std::string& library_path, const std::vector<std::string>& args) {
  const std::string name = std::filesystem::path(library_path).filename().string();
  // Never dlclose'd: see the header.
  void* handle = dlopen(library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return InvalidArgumentF("cannot load job plugin '{}': {}", library_path,
                            why != nullptr ? why : "unknown dlopen error");
  }
  using InfoFn = const sluice::PluginInfo* (*)();
  auto info_fn = reinterpret_cast<InfoFn>(dlsym(handle, SLUICE_PLUGIN_ENTRY_POINT));
  if (info_fn == nullptr) {
    return InvalidArgumentF("'{}' is not a Sluice job plugin: it has no entry point '{}' "
                            "(define one with SLUICE_JOB(<build function>), include/sluice/plugin.h)",
                            name, SLUICE_PLUGIN_ENTRY_POINT);
  }
  const sluice::PluginInfo* info = info_fn();
  if (info == nullptr || info->build == nullptr) {
    return InvalidArgumentF("job plugin '{}': its entry point returned no build function", name);
  }
  if (info->api_version != sluice::kApiVersion) {
    return InvalidArgumentF("job plugin '{}' was built against Sluice API version {}, this engine "
                            "has version {}: rebuild it against this installation's headers",
                            name, info->api_version, sluice::kApiVersion);
  }
  if (info->cpp_abi == nullptr || std::string_view(info->cpp_abi) != sluice::kCppAbi) {
    return InvalidArgumentF("job plugin '{}' was built for the C++ ABI '{}', this engine uses "
                            "'{}': build it with the same compiler and standard library",
                            name, info->cpp_abi != nullptr ? info->cpp_abi : "", sluice::kCppAbi);
  }
  auto job = std::make_shared<sluice::JobDefinition>();
  std::string error;
  bool built = false;
  try {
    built = info->build(args, job.get(), &error);
  } catch (const std::exception& e) {  // a plugin that bypassed SLUICE_JOB's wrapper
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  if (!built) return InvalidArgumentF("job plugin '{}': building the job threw: {}", name, error);
  std::set<std::string> lower;
  for (const auto& [fn, factory] : job->scalar_functions) {
    if (expr::IsBuiltinFunction(fn)) {
      return InvalidArgumentF("job plugin '{}': scalar function '{}' has the name of a built-in "
                              "function", name, fn);
    }
    if (!lower.insert(absl::AsciiStrToLower(fn)).second) {
      return InvalidArgumentF("job plugin '{}': two scalar functions are named '{}' up to case "
                              "(calls match names case-insensitively)", name, fn);
    }
  }
  return std::shared_ptr<const sluice::JobDefinition>(std::move(job));
}

absl::Status AttachPlugin(const std::string& library_path, job::JobSubmission* submission) {
  ASSIGN_OR_RETURN(auto job, LoadPlugin(library_path, submission->plugin_ref.args));
  if (!submission->plugin_ref.functions_only) {
    if (job->spec_yaml.empty()) {
      return InvalidArgumentF("job plugin '{}' defines no job (no source): a function library "
                              "is given with a SQL script or job spec (sluice sql run --plugin)",
                              std::filesystem::path(library_path).filename().string());
    }
    submission->spec_yaml = job->spec_yaml;
  }
  submission->plugin = std::move(job);
  if (submission->spec_path.empty() || submission->spec_path == "<job spec>") {
    const std::string name = submission->plugin_ref.file_name.empty()
                                 ? std::filesystem::path(library_path).filename().string()
                                 : submission->plugin_ref.file_name;
    submission->spec_path = "<plugin " + name + ">";
  }
  return absl::OkStatus();
}

}  // namespace sluice::plugin
