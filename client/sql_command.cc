#include "client/sql_command.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "runtime/base/status.h"
#include "runtime/plugin/blob_store.h"
#include "runtime/plugin/plugin_loader.h"

namespace sluice::client {
namespace {

absl::StatusOr<std::string> ReadScript(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgumentF("cannot read SQL script '{}': is a directory", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundF("cannot read SQL script '{}': {}", path, std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string BaseDir(const std::string& path) {
  std::error_code ec;
  return std::filesystem::absolute(path, ec).lexically_normal().parent_path().string();
}

// The options of a script's compilation: with `plugin_path`, the plugin's functions.
absl::StatusOr<sql::SqlOptions> OptionsFor(const std::string& plugin_path) {
  sql::SqlOptions opts;
  if (!plugin_path.empty()) {
    ASSIGN_OR_RETURN(opts.plugin, plugin::LoadPlugin(plugin_path, {}));
  }
  return opts;
}

}  // namespace

absl::StatusOr<v1::JobSubmission> ReadSqlSubmission(const std::string& path, int parallelism,
                                                    sql::CompiledSql* compiled,
                                                    const std::string& plugin_path) {
  ASSIGN_OR_RETURN(std::string text, ReadScript(path));
  ASSIGN_OR_RETURN(sql::SqlOptions opts, OptionsFor(plugin_path));
  sql::SourceText source(path, std::move(text));
  sql::CompiledSql c = sql::CompileSql(source, BaseDir(path), opts);
  if (!c.ok()) return absl::InvalidArgumentError(absl::StrJoin(c.errors, "\n"));
  if (c.spec_yaml.empty()) {
    return InvalidArgumentF("{}: nothing to run: the script has no INSERT INTO or SELECT", path);
  }
  v1::JobSubmission job;
  job.set_spec_yaml(c.spec_yaml);
  job.set_spec_path(path + " (generated job spec)");
  job.set_base_dir(BaseDir(path));
  job.set_parallelism(parallelism > 0 ? parallelism : 0);
  if (!plugin_path.empty()) {
    ASSIGN_OR_RETURN(std::string key, plugin::Sha256OfFile(plugin_path));
    v1::PluginRef* ref = job.mutable_plugin();
    ref->set_blob_key(key);
    ref->set_file_name(std::filesystem::path(plugin_path).filename().string());
    ref->set_functions_only(true);
  }
  if (compiled != nullptr) *compiled = std::move(c);
  return job;
}

void PrintSqlPlan(const sql::CompiledSql& c, std::ostream& out) {
  out << "== Logical plan ==\n";
  for (const std::string& line : c.logical_plan) out << line << "\n";
  out << "== Job graph ==\n" << c.job_plan;
}

int SqlValidate(const std::string& path, bool plan, std::ostream& out, std::ostream& err,
                const std::string& plugin_path) {
  auto text = ReadScript(path);
  auto opts = OptionsFor(plugin_path);
  if (!text.ok() || !opts.ok()) {
    err << (text.ok() ? opts.status() : text.status()).message() << "\n";
    return 1;
  }
  sql::SourceText source(path, std::move(*text));
  sql::CompiledSql c = sql::CompileSql(source, BaseDir(path), *opts);
  for (const std::string& e : c.errors) err << e << "\n";
  if (!c.ok()) {
    err << c.errors.size() << (c.errors.size() == 1 ? " error" : " errors") << " in " << path << "\n";
    return 1;
  }
  for (const std::string& e : c.explains) out << e;
  out << path << ": OK (" << c.statements << " statements, " << c.inserts << " INSERT"
      << (c.inserts == 1 ? "" : "s") << (c.spec_yaml.empty() ? ")" : " planned into one job)") << "\n";
  if (plan && !c.spec_yaml.empty()) {
    PrintSqlPlan(c, out);
    out << "== Generated job spec ==\n" << c.spec_yaml;
  }
  return 0;
}

}  // namespace sluice::client
