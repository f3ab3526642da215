// Loading the test plugin (a real shared library built against the public headers only) and
// compiling the job it builds; the errors of a bad library, a throwing build function and an
// invalid job.

#include "runtime/plugin/plugin_loader.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/graph/plan_text.h"

namespace sluice::plugin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPlugin = std::string(SLUICE_BINARY_DIR) + "/tests/libsluice_test_plugin.so";

job::JobSubmission Submission(std::vector<std::string> args) {
  job::JobSubmission sub;
  sub.plugin_ref.args = std::move(args);
  return sub;
}

TEST(PluginLoader, LoadsThePluginAndCompilesItsJob) {
  job::JobSubmission sub = Submission({"ok", "100"});
  ASSERT_TRUE(AttachPlugin(kPlugin, &sub).ok());
  EXPECT_EQ(sub.spec_path, "<plugin libsluice_test_plugin.so>");
  EXPECT_THAT(sub.spec_yaml, HasSubstr("process: {function: \"f2\""));
  EXPECT_EQ(sub.plugin->functions.size(), 3u);
  auto graph = job::CompileJob(sub);
  ASSERT_TRUE(graph.ok()) << graph.status() << "\n" << sub.spec_yaml;
  const std::string plan = graph::FormatPlan(*graph);
  EXPECT_THAT(plan, HasSubstr("keyed-process-2"));
  EXPECT_THAT(plan, HasSubstr("uid map-1"));
  EXPECT_THAT(plan, HasSubstr("uid sums"));
  EXPECT_THAT(plan, HasSubstr("HASH [bucket]"));
  ASSERT_EQ(graph->vertices.size(), 2u);
}

TEST(PluginLoader, AThrowingBuildFunctionIsASubmissionError) {
  job::JobSubmission sub = Submission({"throw"});
  absl::Status s = AttachPlugin(kPlugin, &sub);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("building the job threw: the test plugin was asked to throw"));
}

TEST(PluginLoader, AnInvalidJobFailsToCompileNamingThePlugin) {
  job::JobSubmission sub = Submission({"bad-spec"});
  ASSERT_TRUE(AttachPlugin(kPlugin, &sub).ok());
  auto graph = job::CompileJob(sub);
  ASSERT_FALSE(graph.ok());
  EXPECT_THAT(graph.status().message(), HasSubstr("<plugin libsluice_test_plugin.so>:"));
  EXPECT_THAT(graph.status().message(), HasSubstr("nosuchconnector"));
}

TEST(PluginLoader, RefusesFilesThatAreNotPlugins) {
  const std::string dir = ::testing::TempDir();
  const std::string text = dir + "/not-a-library.so";
  std::ofstream(text) << "hello";
  EXPECT_THAT(LoadPlugin(text, {}).status().message(), HasSubstr("cannot load job plugin"));
  EXPECT_THAT(LoadPlugin(dir + "/missing.so", {}).status().message(), HasSubstr("cannot load job plugin"));
  // A real shared library without the entry point.
  auto no_entry = LoadPlugin("libz.so.1", {});
  EXPECT_THAT(no_entry.status().message(), HasSubstr("has no entry point 'sluice_plugin_info'"));
}

TEST(PluginLoader, RefusesAnotherApiVersionOrAbiBeforeRunningAnything) {
  const std::string dir = std::string(SLUICE_BINARY_DIR) + "/tests/";
  auto api = LoadPlugin(dir + "libsluice_test_plugin_wrong_api.so", {});
  EXPECT_THAT(api.status().message(), HasSubstr("built against Sluice API version 3"));
  EXPECT_THAT(api.status().message(), HasSubstr("rebuild it"));
  auto abi = LoadPlugin(dir + "libsluice_test_plugin_wrong_abi.so", {});
  EXPECT_THAT(abi.status().message(), HasSubstr("C++ ABI 'gxx-abi-0;cxx11-abi-0'"));
  EXPECT_THAT(abi.status().message(), Not(HasSubstr("must never run")));
  auto missing = LoadPlugin(dir + "libsluice_test_plugin_wrong_missing_symbol.so", {});
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot load job plugin"));
  EXPECT_THAT(missing.status().message(), HasSubstr("undefined symbol: sluice_test_symbol_defined_nowhere"));
}

}  // namespace
}  // namespace sluice::plugin

namespace sluice::plugin {
namespace {

// A function library (no job): its functions load; as a job it is refused, as a
// functions-only plugin it keeps the submission's spec.
TEST(PluginLoader, FunctionLibraryOnlyAttachesAsFunctions) {
  const std::string lib = std::string(SLUICE_BINARY_DIR) + "/lib/libnexmark_udfs.so";
  auto loaded = LoadPlugin(lib, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE((*loaded)->spec_yaml.empty());
  EXPECT_EQ((*loaded)->scalar_functions.count("CountChar"), 1u);
  job::JobSubmission as_job;
  as_job.plugin_ref.blob_key = "k";
  EXPECT_THAT(AttachPlugin(lib, &as_job).message(),
              ::testing::HasSubstr("defines no job (no source): a function library"));
  job::JobSubmission sql;
  sql.spec_yaml = "name: from-sql\n";
  sql.plugin_ref.functions_only = true;
  ASSERT_TRUE(AttachPlugin(lib, &sql).ok());
  EXPECT_EQ(sql.spec_yaml, "name: from-sql\n");
  ASSERT_NE(sql.plugin, nullptr);
  EXPECT_EQ(sql.plugin->scalar_functions.size(), 1u);
}

}  // namespace
}  // namespace sluice::plugin
