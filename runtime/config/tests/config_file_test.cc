#include "runtime/config/config_file.h"
#include "runtime/config/daemon_main.h"
#include "runtime/config/log_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

ConfigFile MustParse(std::string_view yaml) {
  auto file = ConfigFile::Parse(yaml, "sluice.yaml");
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *std::move(file) : ConfigFile();
}

TEST(ConfigFileTest, FlatAndNestedKeysAreEquivalent) {
  ConfigFile file = MustParse(
      "jobmanager.rpc.port: 7000\n"
      "rest:\n"
      "  port: 9000\n"
      "taskmanager:\n"
      "  network.buffers-per-channel: 8\n");
  int rpc = 0, rest = 0, buffers = 0;
  ASSERT_TRUE(file.GetInt("jobmanager.rpc.port", 0, 65535, &rpc).ok());
  ASSERT_TRUE(file.GetInt("rest.port", -1, 65535, &rest).ok());
  ASSERT_TRUE(file.GetInt("taskmanager.network.buffers-per-channel", 1, 1 << 20, &buffers).ok());
  EXPECT_EQ(rpc, 7000);
  EXPECT_EQ(rest, 9000);
  EXPECT_EQ(buffers, 8);
  EXPECT_TRUE(file.UnknownKeyWarnings(KnownConfigKeys()).empty());
}

TEST(ConfigFileTest, AbsentKeyLeavesDefault) {
  ConfigFile file = MustParse("rest.port: 1\n");
  int port = 6123;
  std::string host = "0.0.0.0";
  ASSERT_TRUE(file.GetInt("jobmanager.rpc.port", 0, 65535, &port).ok());
  ASSERT_TRUE(file.GetString("jobmanager.bind-host", &host).ok());
  EXPECT_EQ(port, 6123);
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_FALSE(file.Has("jobmanager.rpc.port"));
  EXPECT_TRUE(file.Has("rest.port"));
}

TEST(ConfigFileTest, EmptyFileHasNoKeys) {
  EXPECT_TRUE(MustParse("").empty());
  EXPECT_TRUE(MustParse("# only a comment\n").empty());
}

TEST(ConfigFileTest, DurationsAcceptMillisecondsAndUnits) {
  ConfigFile file = MustParse(
      "heartbeat.interval: 250\n"
      "heartbeat.timeout: 5 s\n"
      "execution.buffer-timeout: 0\n");
  int64_t interval = -1, timeout = -1, buffer = -1;
  ASSERT_TRUE(file.GetDurationMs("heartbeat.interval", &interval).ok());
  ASSERT_TRUE(file.GetDurationMs("heartbeat.timeout", &timeout).ok());
  ASSERT_TRUE(file.GetDurationMs("execution.buffer-timeout", &buffer).ok());
  EXPECT_EQ(interval, 250);
  EXPECT_EQ(timeout, 5000);
  EXPECT_EQ(buffer, 0);
}

TEST(ConfigFileTest, UnknownKeysWarnNamingKeyFileAndLine) {
  ConfigFile file = MustParse(
      "rest.port: 1\n"
      "jobmanager:\n"
      "  rpc:\n"
      "    prot: 6123\n"
      "taskmanager.memory.process.size: 1728m\n");  // a Flink key Sluice does not use
  file.Set("pipeline.object-reuse", "true");
  std::vector<std::string> warnings = file.UnknownKeyWarnings(KnownConfigKeys());
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], "sluice.yaml:4:5: unknown configuration key 'jobmanager.rpc.prot' (ignored)");
  EXPECT_EQ(warnings[1], "-D pipeline.object-reuse=true: unknown configuration key "
                         "'pipeline.object-reuse' (ignored)");
  EXPECT_THAT(warnings[2], HasSubstr("'taskmanager.memory.process.size'"));
}

TEST(ConfigFileTest, DefinitionsOverrideTheFileAndBadValuesNameThem) {
  ConfigFile file = MustParse("rest.port: 1\n");
  ASSERT_TRUE(file.SetFromFlag("rest.port=8089").ok());
  ASSERT_TRUE(file.SetFromFlag("heartbeat.timeout=ten").ok());
  int port = 0;
  ASSERT_TRUE(file.GetInt("rest.port", -1, 65535, &port).ok());
  EXPECT_EQ(port, 8089);
  int64_t timeout = 0;
  absl::Status bad = file.GetDurationMs("heartbeat.timeout", &timeout);
  EXPECT_THAT(bad.message(), HasSubstr("-D heartbeat.timeout=ten: bad value"));
  EXPECT_FALSE(file.SetFromFlag("no-equals-sign").ok());
  EXPECT_FALSE(file.SetFromFlag("=value").ok());
}

TEST(ConfigFileTest, BadIntegerNamesKeyValueAndFile) {
  ConfigFile file = MustParse("jobmanager.rpc.port: sixty\n");
  int port = 6123;
  absl::Status status = file.GetInt("jobmanager.rpc.port", 0, 65535, &port);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("sluice.yaml:1:1: bad value 'sixty' for configuration key "
                        "'jobmanager.rpc.port': expected an integer from 0 to 65535"));
  EXPECT_EQ(port, 6123);
}

TEST(ConfigFileTest, OutOfRangeIntegerIsRejected) {
  ConfigFile file = MustParse("taskmanager.numberOfTaskSlots: 0\n");
  int slots = 1;
  absl::Status status = file.GetInt("taskmanager.numberOfTaskSlots", 1, 1024, &slots);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad value '0'"));
}

TEST(ConfigFileTest, BadDurationNamesKeyAndValue) {
  ConfigFile file = MustParse("heartbeat.timeout: soon\n");
  int64_t ms = 5000;
  absl::Status status = file.GetDurationMs("heartbeat.timeout", &ms);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad value 'soon' for configuration key "
                                          "'heartbeat.timeout'"));
  EXPECT_EQ(ms, 5000);
}

TEST(ConfigFileTest, BoolAcceptsTrueAndFalseOnly) {
  ConfigFile file = MustParse("a: true\nb: nope\n");
  bool a = false, b = false;
  EXPECT_TRUE(file.GetBool("a", &a).ok());
  EXPECT_TRUE(a);
  EXPECT_FALSE(file.GetBool("b", &b).ok());
}

TEST(ConfigFileTest, KeySetTwiceIsAnError) {
  auto file = ConfigFile::Parse("rest.port: 1\nrest:\n  port: 2\n", "sluice.yaml");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("'rest.port' is set twice"));
}

TEST(ConfigFileTest, ListValueIsAnError) {
  auto file = ConfigFile::Parse("rest.port: [1, 2]\n", "sluice.yaml");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("sluice.yaml:1:1: key 'rest.port'"));
}

TEST(ConfigFileTest, SyntaxErrorCarriesPosition) {
  auto file = ConfigFile::Parse("rest.port: 1\n  bad: [\n", "conf/sluice.yaml");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("conf/sluice.yaml:"));
  EXPECT_THAT(file.status().message(), HasSubstr("invalid YAML"));
}

TEST(ConfigFileTest, TopLevelMustBeAMap) {
  auto file = ConfigFile::Parse("- a\n- b\n", "sluice.yaml");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("expected a map"));
}

TEST(ConfigFileTest, LoadReadsFileAndReportsMissingOnes) {
  std::string path = ::testing::TempDir() + "/config_file_test.yaml";
  {
    std::ofstream out(path);
    out << "taskmanager.host: 10.1.2.3\n";
  }
  auto file = ConfigFile::Load(path);
  ASSERT_TRUE(file.ok()) << file.status();
  std::string host;
  ASSERT_TRUE(file->GetString("taskmanager.host", &host).ok());
  EXPECT_EQ(host, "10.1.2.3");
  EXPECT_EQ(file->source(), path);
  std::remove(path.c_str());

  auto missing = ConfigFile::Load(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(path));
  EXPECT_THAT(missing.status().message(), HasSubstr("No such file"));
}


TEST(LogConfigTest, ReadsTheLogKeys) {
  auto file = ConfigFile::Parse(
      "env.log.dir: /var/log/sluice\nenv.log.max: 3\nenv.log.max-file-size: 10 mb\n"
      "env.log.level: debug\nenv.log.format: json\nenv.log.console: false\n",
      "c.yaml");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->UnknownKeyWarnings(KnownConfigKeys()).empty());
  LogOptions options;
  ASSERT_TRUE(ApplyLogConfig(*file, &options).ok());
  EXPECT_EQ(options.dir, "/var/log/sluice");
  EXPECT_EQ(options.max_files, 3);
  EXPECT_EQ(options.max_file_bytes, 10 << 20);
  EXPECT_EQ(options.level, "debug");
  EXPECT_EQ(options.format, LogFormat::kJson);
  EXPECT_FALSE(options.console);
}

TEST(LogConfigTest, BadValuesNameTheKey) {
  for (const char* yaml : {"env.log.level: loud\n", "env.log.format: xml\n",
                           "env.log.max-file-size: 1 kb\n", "env.log.max: 0\n",
                           "env.log.console: maybe\n"}) {
    auto file = ConfigFile::Parse(yaml, "c.yaml");
    ASSERT_TRUE(file.ok()) << file.status();
    LogOptions options;
    absl::Status s = ApplyLogConfig(*file, &options);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << yaml;
    const std::string key(yaml, std::string_view(yaml).find(':'));
    EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr(key)) << s;
  }
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

TEST(TmpDirsTest, CreatesTheFirstDirectoryAndMakesItTheTemporaryDirectory) {
  const std::string base = ::testing::TempDir() + "/tmp_dirs_test";
  auto file = ConfigFile::Parse("io.tmp.dirs: " + base + "/a," + base + "/b\n", "c.yaml");
  ASSERT_TRUE(file.ok()) << file.status();
  const char* before = std::getenv("TMPDIR");
  const std::string saved = before == nullptr ? "" : before;
  ASSERT_TRUE(ApplyTmpDirs(*file).ok());
  EXPECT_EQ(std::string(std::getenv("TMPDIR")), base + "/a");
  EXPECT_TRUE(std::filesystem::is_directory(base + "/a"));
  EXPECT_EQ(std::filesystem::temp_directory_path(), std::filesystem::path(base + "/a"));
  if (saved.empty()) {
    ::unsetenv("TMPDIR");
  } else {
    ::setenv("TMPDIR", saved.c_str(), 1);
  }
  std::filesystem::remove_all(base);

  auto bad = ConfigFile::Parse("io.tmp.dirs: /proc/sluice-cannot\n", "c.yaml");
  ASSERT_TRUE(bad.ok());
  absl::Status s = ApplyTmpDirs(*bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("io.tmp.dirs"));
}

}  // namespace
}  // namespace sluice::config
