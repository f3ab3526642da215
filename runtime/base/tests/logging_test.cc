// Logging set-up (logging.h): the JSON layout is one valid, escaped object per line; files
// roll over at the size limit keeping env.log.max old files; log_files.h lists and opens only
// plain files of the directory.
#include "runtime/base/logging.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/base/log_files.h"
#include "spdlog/spdlog.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("logging_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override {
    InitLogging("test", "info");  // closes the file sinks
    fs::remove_all(dir_);
  }
  static std::vector<std::string> Lines(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  fs::path dir_;
};

TEST_F(LoggingTest, JsonLayoutWritesOneEscapedObjectPerLine) {
  LogOptions options;
  options.dir = dir_;
  options.format = LogFormat::kJson;
  options.console = false;
  ASSERT_TRUE(InitLogging("jobmanager", "jobmanager", options).ok());
  spdlog::info("quote \" backslash \\ newline \n tab \t bell \x07 end");
  spdlog::warn("second");
  spdlog::default_logger()->flush();

  EXPECT_EQ(CurrentLogFile(), dir_ / "jobmanager.log");
  EXPECT_EQ(CurrentLogDirectory(), fs::absolute(dir_).string());
  std::vector<std::string> lines = Lines(dir_ / "jobmanager.log");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(R"("log.level":"INFO","log.logger":"jobmanager","process.thread.id":)"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[0].find(
                R"("message":"quote \" backslash \\ newline \n tab \t bell \u0007 end"})"),
            std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[0].rfind(R"({"@timestamp":")", 0), 0u) << lines[0];
  EXPECT_EQ(lines[0][lines[0].find('Z') - 4], '.') << "millisecond UTC timestamp: " << lines[0];
  EXPECT_NE(lines[1].find(R"("log.level":"WARN")"), std::string::npos) << lines[1];
}

TEST_F(LoggingTest, FileRollsOverAtTheSizeLimitKeepingMaxFiles) {
  LogOptions options;
  options.dir = dir_;
  options.console = false;
  options.max_file_bytes = 4096;
  options.max_files = 2;
  ASSERT_TRUE(InitLogging("taskmanager", "taskmanager", options).ok());
  for (int i = 0; i < 500; ++i) spdlog::info("line {} {}", i, std::string(40, 'x'));
  spdlog::default_logger()->flush();

  std::vector<std::string> names;
  for (const LogFileInfo& f : ListLogFiles(dir_)) {
    names.push_back(f.name);
    EXPECT_LE(f.size_bytes, 4096) << f.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"taskmanager.1.log", "taskmanager.2.log",
                                             "taskmanager.log"}));
  std::vector<std::string> current = Lines(dir_ / "taskmanager.log");
  ASSERT_FALSE(current.empty());
  EXPECT_NE(current.back().find("line 499 "), std::string::npos) << current.back();
}

TEST_F(LoggingTest, UnknownLevelIsRefused) {
  LogOptions options;
  options.level = "verbose";
  absl::Status s = InitLogging("jobmanager", "jobmanager", options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("verbose"), std::string::npos) << s;
}

TEST_F(LoggingTest, UnwritableLogDirectoryIsUnavailableNamingThePath) {
  LogOptions options;
  options.file = "/proc/no-such-dir/jobmanager.log";
  absl::Status s = InitLogging("jobmanager", "jobmanager", options);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("/proc/no-such-dir/jobmanager.log"), std::string::npos) << s;
}

TEST(LogFormat, ParsesTextAndJson) {
  LogFormat f = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("JSON", &f).ok());
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &f).ok());
  EXPECT_EQ(f, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml", &f).ok());
}

TEST(LogFiles, OpenRefusesPathsAndConsoleOnlyDaemons) {
  EXPECT_EQ(OpenLogFile("/tmp", "../etc/passwd").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenLogFile("/tmp", "a/b").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenLogFile("/tmp", "..").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenLogFile("", "jobmanager.log").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ListLogFiles("").empty());
  EXPECT_TRUE(ListLogFiles("/nonexistent-sluice-dir").empty());
}

}  // namespace
}  // namespace sluice
