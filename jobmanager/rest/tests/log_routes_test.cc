// The log-file endpoints (log_routes.h) over a real HTTP server: listing, serving a file from
// its descriptor, the current file, refusing names that are not plain file names, and the
// TaskManager endpoints through a TaskManagerLogs.
#include "jobmanager/rest/log_routes.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "httplib.h"
#include "jobmanager/rest/rest_json.h"
#include "nlohmann/json.hpp"
#include "runtime/http/http_server.h"

namespace sluice::jobmanager::rest {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// One TaskManager "tm-1" whose files live in a directory of the test.
class FakeTaskManagerLogs : public TaskManagerLogs {
 public:
  explicit FakeTaskManagerLogs(fs::path dir) : dir_(std::move(dir)) {}
  absl::StatusOr<std::vector<LogFileInfo>> List(const std::string& id) override {
    if (id != "tm-1") return absl::NotFoundError("TaskManager " + id + " is not registered");
    return ListLogFiles(dir_);
  }
  absl::StatusOr<int> Fetch(const std::string& id, const std::string& name) override {
    if (id != "tm-1") return absl::NotFoundError("TaskManager " + id + " is not registered");
    return OpenLogFile(dir_, name);
  }

 private:
  fs::path dir_;
};

class LogRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("log_routes_test_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "jm");
    fs::create_directories(root_ / "tm");
    jm_dir_ = (root_ / "jm").string();
    tm_logs_ = std::make_unique<FakeTaskManagerLogs>(root_ / "tm");
    router_.set_error_renderer(&RenderError);
    AddLogRoutes(router_, &jm_dir_, tm_logs_.get());
    ASSERT_TRUE(server_.Start("127.0.0.1", 0).ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
  }
  void TearDown() override {
    server_.Stop();
    fs::remove_all(root_);
  }

  fs::path root_;
  std::string jm_dir_;
  std::unique_ptr<FakeTaskManagerLogs> tm_logs_;
  http::Router router_;
  http::HttpServer server_{&router_, http::HttpServerOptions{}};
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(LogRoutesTest, ListsTheFilesOfTheLogDirectoryWithSizeAndMtime) {
  WriteFile(root_ / "jm" / "jobmanager.log", "hello\n");
  WriteFile(root_ / "jm" / "jobmanager.1.log", "older lines\n");
  fs::create_directories(root_ / "jm" / "subdir");  // not a file: not listed

  auto res = client_->Get("/jobmanager/logs");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json body = json::parse(res->body);
  ASSERT_EQ(body["logs"].size(), 2u) << res->body;
  std::map<std::string, int64_t> sizes;
  for (const json& f : body["logs"]) {
    sizes[f["name"]] = f["size"];
    EXPECT_GT(f["mtime"].get<int64_t>(), 1'600'000'000'000) << "mtime is ms since the epoch";
  }
  EXPECT_EQ(sizes["jobmanager.log"], 6);
  EXPECT_EQ(sizes["jobmanager.1.log"], 12);
}

TEST_F(LogRoutesTest, ServesAFileWhole) {
  std::string big;
  for (int i = 0; i < 200'000; ++i) big += "line " + std::to_string(i) + "\n";
  WriteFile(root_ / "jm" / "jobmanager.log", big);

  auto res = client_->Get("/jobmanager/logs/jobmanager.log");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(res->body, big);
}

TEST_F(LogRoutesTest, LogIsTheMostRecentlyModifiedFile) {
  WriteFile(root_ / "jm" / "jobmanager.1.log", "old\n");
  WriteFile(root_ / "jm" / "jobmanager.log", "current\n");
  fs::last_write_time(root_ / "jm" / "jobmanager.1.log",
                      fs::last_write_time(root_ / "jm" / "jobmanager.log") - std::chrono::hours(1));

  auto res = client_->Get("/jobmanager/log");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "current\n");
}

TEST_F(LogRoutesTest, LogIsTheJobManagersOwnFileInADirectoryShared) {
  WriteFile(root_ / "jm" / "jobmanager.log", "jobmanager line\n");
  WriteFile(root_ / "jm" / "taskmanager.log", "taskmanager line\n");
  fs::last_write_time(root_ / "jm" / "jobmanager.log",
                      fs::last_write_time(root_ / "jm" / "taskmanager.log") - std::chrono::hours(1));

  auto res = client_->Get("/jobmanager/log");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "jobmanager line\n") << "not the newer taskmanager.log of the same host";
}

TEST(CurrentLogFileOf, FallsBackToTheNewestFileForAnotherName) {
  const std::vector<LogFileInfo> files = {{"custom.log", 10, 2000}, {"other.log", 10, 1000}};
  ASSERT_NE(CurrentLogFileOf(files, "jobmanager"), nullptr);
  EXPECT_EQ(CurrentLogFileOf(files, "jobmanager")->name, "custom.log");
  EXPECT_EQ(CurrentLogFileOf({}, "jobmanager"), nullptr);
}

TEST_F(LogRoutesTest, RefusesNamesOutsideTheDirectoryAndUnknownFiles) {
  WriteFile(root_ / "secret.txt", "secret\n");
  auto traversal = client_->Get("/jobmanager/logs/..%2Fsecret.txt");
  ASSERT_TRUE(traversal);
  EXPECT_NE(traversal->status, 200);
  EXPECT_EQ(traversal->body.find("secret\n"), std::string::npos);

  fs::create_symlink(root_ / "secret.txt", root_ / "jm" / "link.log");
  auto link = client_->Get("/jobmanager/logs/link.log");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->status, 404) << "a symbolic link is not followed out of the directory";

  auto unknown = client_->Get("/jobmanager/logs/nope.log");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("nope.log"), std::string::npos) << unknown->body;
}

TEST_F(LogRoutesTest, ConsoleOnlyJobManagerHasNoLogFile) {
  jm_dir_.clear();
  auto list = client_->Get("/jobmanager/logs");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(json::parse(list->body)["logs"].size(), 0u);
  auto log = client_->Get("/jobmanager/log");
  ASSERT_TRUE(log);
  EXPECT_EQ(log->status, 404);
  EXPECT_NE(log->body.find("env.log.dir"), std::string::npos) << log->body;
}

TEST_F(LogRoutesTest, TaskManagerLogsComeThroughTaskManagerLogs) {
  WriteFile(root_ / "tm" / "taskmanager.log", "tm line\n");

  auto list = client_->Get("/taskmanagers/tm-1/logs");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200);
  EXPECT_EQ(json::parse(list->body)["logs"][0]["name"], "taskmanager.log");

  auto file = client_->Get("/taskmanagers/tm-1/logs/taskmanager.log");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->status, 200);
  EXPECT_EQ(file->body, "tm line\n");

  auto current = client_->Get("/taskmanagers/tm-1/log");
  ASSERT_TRUE(current);
  EXPECT_EQ(current->body, "tm line\n");

  auto unknown = client_->Get("/taskmanagers/tm-9/logs");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("tm-9"), std::string::npos) << unknown->body;
}

}  // namespace
}  // namespace sluice::jobmanager::rest
