#include "jobmanager/rest/rest_server.h"
#include "jobmanager/rest/sql_routes.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace sluice::jobmanager {
namespace {

using nlohmann::json;

constexpr char kJobA[] = "0123456789abcdef0123456789abcdef";
constexpr char kJobB[] = "fedcba9876543210fedcba9876543210";
constexpr char kUnknownJob[] = "00000000000000000000000000000000";

// Serves two jobs (one running, one failed) and two TaskManagers from fixed protos.
class FakeBackend : public RestBackend {
 public:
  FakeBackend() {
    auto* a = jobs_.add_jobs();
    a->set_job_id(kJobA);
    a->set_name("flight-delays");
    a->set_state("RUNNING");
    a->set_start_time_ms(1000);
    a->set_end_time_ms(-1);
    a->set_status_message("all subtasks running");
    (*a->mutable_task_counts())["RUNNING"] = 3;
    (*a->mutable_task_counts())["FINISHED"] = 1;

    auto* b = jobs_.add_jobs();
    b->set_job_id(kJobB);
    b->set_name("broken");
    b->set_state("FAILED");
    b->set_start_time_ms(2000);
    b->set_end_time_ms(5000);
    b->set_failure_cause("filter: division by zero");

    *job_a_.mutable_job() = *a;
    auto* src = job_a_.add_vertices();
    src->set_id("v0");
    src->set_name("Source: flights -> Filter");
    src->set_parallelism(2);
    src->set_max_parallelism(128);
    src->set_state("RUNNING");
    for (int i = 0; i < 2; ++i) {
      auto* s = src->add_subtasks();
      s->set_subtask(i);
      s->set_state(i == 0 ? "RUNNING" : "FINISHED");
      s->set_attempt(0);
      s->set_taskmanager_id("tm-1");
      s->set_location("10.0.0.7:4123");
      s->set_start_time_ms(1100);
      s->set_end_time_ms(i == 0 ? -1 : 1900);
      s->mutable_metrics()->set_records_in(100 + i);
      s->mutable_metrics()->set_records_out(10 + i);
      s->mutable_metrics()->set_bytes_in(1000);
      s->mutable_metrics()->set_bytes_out(200);
    }
    auto* sink = job_a_.add_vertices();
    sink->set_id("v1");
    sink->set_name("Sink: delays");
    sink->set_parallelism(2);
    sink->set_max_parallelism(128);
    sink->set_state("RUNNING");
    for (int i = 0; i < 2; ++i) {
      auto* s = sink->add_subtasks();
      s->set_subtask(i);
      s->set_state("RUNNING");
      s->set_location("10.0.0.8:4124");
      s->mutable_metrics()->set_records_in(7);
    }

    auto* tm1 = tms_.add_taskmanagers();
    tm1->set_resource_id("tm-1");
    tm1->set_address("10.0.0.7:4123");
    tm1->set_slots_total(4);
    tm1->set_slots_free(1);
    tm1->set_last_heartbeat_ms(123456);
    tm1->set_cpu_cores(8);
    tm1->set_physical_memory_bytes(1 << 30);
    auto* tm2 = tms_.add_taskmanagers();
    tm2->set_resource_id("tm-2");
    tm2->set_address("10.0.0.8:4124");
    tm2->set_slots_total(2);
    tm2->set_slots_free(2);
  }

  v1::ListJobsResponse ListJobs() override { return jobs_; }
  absl::StatusOr<v1::GetJobResponse> GetJob(const std::string& job_id) override {
    if (job_id == kJobA) return job_a_;
    if (job_id == kJobB) {
      v1::GetJobResponse r;
      *r.mutable_job() = jobs_.jobs(1);
      return r;
    }
    if (job_id.size() != 32) return absl::InvalidArgumentError("malformed job id 'bad'");
    return absl::NotFoundError("no such job");
  }
  v1::ListTaskManagersResponse ListTaskManagers() override { return tms_; }
  absl::StatusOr<std::string> GetJobCheckpointsJson(const std::string& job_id) override {
    if (job_id != kJobA) return absl::NotFoundError("no such job");
    return std::string(R"({"counts":{"completed":3},"history":[]})");
  }
  absl::StatusOr<std::string> GetJobExceptionsJson(const std::string& job_id) override {
    if (job_id != kJobA) return absl::NotFoundError("no such job");
    return std::string(R"({"root-exception":"boom","timestamp":7})");
  }
  absl::StatusOr<std::string> TriggerSavepoint(const std::string& job_id, const std::string& dir,
                                               bool stop, bool native) override {
    if (job_id != kJobA) return absl::NotFoundError("no such job");
    last_target_ = dir;
    last_stop_ = stop;
    last_native_ = native;
    return std::string("trigger-1");
  }
  absl::StatusOr<v1::SavepointStatus> GetSavepoint(const std::string& job_id,
                                                   const std::string& trigger_id) override {
    if (job_id != kJobA || trigger_id != "trigger-1") return absl::NotFoundError("no such trigger");
    v1::SavepointStatus st;
    st.set_status("COMPLETED");
    st.set_location("/sp/savepoint-012345-abc");
    return st;
  }
  std::string last_target_;
  bool last_stop_ = false;
  bool last_native_ = false;
  absl::StatusOr<std::string> GetJobMetricsJson(const std::string& job_id) override {
    if (job_id != kJobA) return absl::NotFoundError("no such job");
    return std::string(R"([{"id":"numRestarts","value":"3"},{"id":"uptime","value":"10"}])");
  }

 private:
  v1::ListJobsResponse jobs_;
  v1::GetJobResponse job_a_;
  v1::ListTaskManagersResponse tms_;
};

class RestServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start("127.0.0.1", 0).ok());
    ASSERT_GT(server_.port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
  }

  // GETs `path`, checks the status code and the JSON content type, returns the parsed body.
  json Get(const std::string& path, int expected_status) {
    auto res = client_->Get(path.c_str());
    EXPECT_TRUE(res) << path << ": " << httplib::to_string(res.error());
    if (!res) return json();
    EXPECT_EQ(res->status, expected_status) << path << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
    return json::parse(res->body);
  }

  FakeBackend backend_;
  RestServer server_{&backend_};
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(RestServerTest, OverviewCountsSlotsAndJobsByState) {
  json j = Get("/overview", 200);
  EXPECT_EQ(j["taskmanagers"], 2);
  EXPECT_EQ(j["slots-total"], 6);
  EXPECT_EQ(j["slots-available"], 3);
  EXPECT_EQ(j["jobs-running"], 1);
  EXPECT_EQ(j["jobs-finished"], 0);
  EXPECT_EQ(j["jobs-cancelled"], 0);
  EXPECT_EQ(j["jobs-failed"], 1);
  EXPECT_EQ(j["flink-version"], "sluice-0.1.0");
  EXPECT_EQ(j["flink-commit"], "");
}

TEST_F(RestServerTest, JobsListsIdAndStatus) {
  json j = Get("/jobs", 200);
  ASSERT_EQ(j["jobs"].size(), 2u);
  EXPECT_EQ(j["jobs"][0], (json{{"id", kJobA}, {"status", "RUNNING"}}));
  EXPECT_EQ(j["jobs"][1], (json{{"id", kJobB}, {"status", "FAILED"}}));
}

TEST_F(RestServerTest, JobsOverviewHasFlinkJobDetailsShape) {
  json j = Get("/jobs/overview", 200);
  ASSERT_EQ(j["jobs"].size(), 2u);
  const json& a = j["jobs"][0];
  EXPECT_EQ(a["jid"], kJobA);
  EXPECT_EQ(a["name"], "flight-delays");
  EXPECT_EQ(a["state"], "RUNNING");
  EXPECT_EQ(a["start-time"], 1000);
  EXPECT_EQ(a["end-time"], -1);
  EXPECT_GT(a["duration"].get<int64_t>(), 0);
  EXPECT_EQ(a["tasks"]["running"], 3);
  EXPECT_EQ(a["tasks"]["finished"], 1);
  EXPECT_EQ(a["tasks"]["total"], 4);
  for (const char* state : {"created", "scheduled", "deploying", "initializing", "running",
                            "finished", "canceling", "canceled", "failed"}) {
    EXPECT_TRUE(a["tasks"].contains(state)) << state;
  }
  const json& b = j["jobs"][1];
  EXPECT_EQ(b["duration"], 3000);
  EXPECT_EQ(b["last-modification"], 5000);
}

TEST_F(RestServerTest, JobDetailsMapsVerticesSubtasksAndMetrics) {
  json j = Get(std::string("/jobs/") + kJobA, 200);
  EXPECT_EQ(j["jid"], kJobA);
  EXPECT_EQ(j["name"], "flight-delays");
  EXPECT_EQ(j["isStoppable"], false);
  EXPECT_EQ(j["state"], "RUNNING");
  EXPECT_EQ(j["start-time"], 1000);
  EXPECT_EQ(j["end-time"], -1);
  EXPECT_TRUE(j["now"].is_number());
  EXPECT_EQ(j["timestamps"]["CREATED"], 1000);
  EXPECT_EQ(j["status-message"], "all subtasks running");
  EXPECT_FALSE(j.contains("failure-cause"));
  EXPECT_EQ(j["status-counts"]["RUNNING"], 2);
  EXPECT_EQ(j["status-counts"]["FAILED"], 0);

  ASSERT_EQ(j["vertices"].size(), 2u);
  const json& v = j["vertices"][0];
  EXPECT_EQ(v["id"], "v0");
  EXPECT_EQ(v["name"], "Source: flights -> Filter");
  EXPECT_EQ(v["parallelism"], 2);
  EXPECT_EQ(v["maxParallelism"], 128);
  EXPECT_EQ(v["status"], "RUNNING");
  EXPECT_EQ(v["start-time"], 1100);
  EXPECT_EQ(v["end-time"], -1);  // subtask 0 has not ended
  EXPECT_EQ(v["tasks"]["RUNNING"], 1);
  EXPECT_EQ(v["tasks"]["FINISHED"], 1);
  EXPECT_EQ(v["metrics"]["read-records"], 201);
  EXPECT_EQ(v["metrics"]["write-records"], 21);
  EXPECT_EQ(v["metrics"]["read-bytes"], 2000);
  EXPECT_EQ(v["metrics"]["write-bytes"], 400);

  ASSERT_EQ(v["subtasks"].size(), 2u);
  const json& s = v["subtasks"][1];
  EXPECT_EQ(s["subtask"], 1);
  EXPECT_EQ(s["status"], "FINISHED");
  EXPECT_EQ(s["attempt"], 0);
  EXPECT_EQ(s["host"], "10.0.0.7");
  EXPECT_EQ(s["taskmanager-id"], "tm-1");
  EXPECT_EQ(s["duration"], 800);
  EXPECT_EQ(s["metrics"]["read-records"], 101);
  EXPECT_EQ(s["failure"], "");
}

TEST_F(RestServerTest, FailedJobCarriesFailureCause) {
  json j = Get(std::string("/jobs/") + kJobB, 200);
  EXPECT_EQ(j["state"], "FAILED");
  EXPECT_EQ(j["failure-cause"], "filter: division by zero");
  EXPECT_EQ(j["duration"], 3000);
  EXPECT_EQ(j["timestamps"]["FAILED"], 5000);
  EXPECT_FALSE(j.contains("status-message"));
}

TEST_F(RestServerTest, VertexDetailsHasJobVertexDetailsInfoShape) {
  json j = Get(std::string("/jobs/") + kJobA + "/vertices/v1", 200);
  EXPECT_EQ(j["id"], "v1");
  EXPECT_EQ(j["name"], "Sink: delays");
  EXPECT_EQ(j["parallelism"], 2);
  EXPECT_EQ(j["maxParallelism"], 128);
  EXPECT_TRUE(j["now"].is_number());
  ASSERT_EQ(j["subtasks"].size(), 2u);
  EXPECT_EQ(j["subtasks"][0]["metrics"]["read-records"], 7);
  EXPECT_EQ(j["subtasks"][0]["host"], "10.0.0.8");
}

TEST_F(RestServerTest, UnknownVertexIs404) {
  json j = Get(std::string("/jobs/") + kJobA + "/vertices/nope", 404);
  EXPECT_EQ(j["errors"][0], std::string("Vertex nope not found in job ") + kJobA);
}

TEST_F(RestServerTest, UnknownJobIs404WithFlinkErrorShape) {
  json j = Get(std::string("/jobs/") + kUnknownJob, 404);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0], std::string("Job ") + kUnknownJob + " not found");
}

TEST_F(RestServerTest, CheckpointsExceptionsAndMetricsComeFromTheBackend) {
  EXPECT_EQ(Get(std::string("/jobs/") + kJobA + "/checkpoints", 200)["counts"]["completed"], 3);
  EXPECT_EQ(Get(std::string("/jobs/") + kJobA + "/exceptions", 200)["root-exception"], "boom");
  json ids = Get(std::string("/jobs/") + kJobA + "/metrics", 200);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], json({{"id", "numRestarts"}}));
  json one = Get(std::string("/jobs/") + kJobA + "/metrics?get=numRestarts", 200);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["value"], "3");
  Get(std::string("/jobs/") + kUnknownJob + "/checkpoints", 404);
}

TEST_F(RestServerTest, SavepointTriggerPollAndStop) {
  httplib::Client client("127.0.0.1", server_.port());
  auto r = client.Post((std::string("/jobs/") + kJobA + "/savepoints").c_str(),
                       R"({"target-directory": "/sp", "cancel-job": false})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(json::parse(r->body)["request-id"], "trigger-1");
  EXPECT_EQ(backend_.last_target_, "/sp");
  EXPECT_FALSE(backend_.last_stop_);
  EXPECT_FALSE(backend_.last_native_) << "CANONICAL is the default formatType";
  json st = Get(std::string("/jobs/") + kJobA + "/savepoints/trigger-1", 200);
  EXPECT_EQ(st["status"]["id"], "COMPLETED");
  EXPECT_EQ(st["operation"]["location"], "/sp/savepoint-012345-abc");
  r = client.Post((std::string("/jobs/") + kJobA + "/stop").c_str(),
                  R"({"targetDirectory": "/sp2", "drain": false})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(backend_.last_stop_);
  EXPECT_EQ(backend_.last_target_, "/sp2");
  r = client.Post((std::string("/jobs/") + kJobA + "/savepoints").c_str(),
                  R"({"target-directory": "/sp", "formatType": "NATIVE"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(backend_.last_native_);
  r = client.Post((std::string("/jobs/") + kJobA + "/savepoints").c_str(),
                  R"({"formatType": "BINARY"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("formatType must be CANONICAL or NATIVE, found 'BINARY'"), std::string::npos);
  r = client.Post((std::string("/jobs/") + kJobA + "/savepoints").c_str(), "not json",
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

// POST /sql/validate: `sluice sql validate` over REST: errors with line and column, the plan of
// a valid script, 400 for a malformed JSON request, 413 above the size limit.
TEST_F(RestServerTest, SqlValidateChecksAScriptWithoutRunningIt) {
  const std::string ddl =
      "CREATE TABLE src (a BIGINT, s STRING) WITH ('connector' = 'datagen');\n"
      "CREATE TABLE out1 (a BIGINT) WITH ('connector' = 'print');\n";
  auto res = client_->Post("/sql/validate", ddl + "INSERT INTO out1 SELECT b FROM src;",
                           "text/plain");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json bad = json::parse(res->body);
  EXPECT_FALSE(bad["valid"]);
  ASSERT_EQ(bad["errors"].size(), 1u);
  EXPECT_EQ(bad["errors"][0]["line"], 3);
  EXPECT_EQ(bad["errors"][0]["column"], 25);
  EXPECT_EQ(bad["errors"][0]["message"], "unknown column 'b' (columns: src.a, src.s)");

  json request{{"script", ddl + "INSERT INTO out1 SELECT a FROM src WHERE s <> 'x';"},
               {"name", "job.sql"}};
  res = client_->Post("/sql/validate", request.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json good = json::parse(res->body);
  EXPECT_TRUE(good["valid"]) << res->body;
  EXPECT_EQ(good["inserts"], 1);
  EXPECT_NE(good["job-plan"].get<std::string>().find("Source: src"), std::string::npos);
  EXPECT_NE(good["spec"].get<std::string>().find("filter:"), std::string::npos);

  res = client_->Post("/sql/validate", R"({"script": 42})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("string field 'script'"), std::string::npos);
  res = client_->Post("/sql/validate", std::string(kMaxSqlScriptBytes + 1, ' '), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

TEST_F(RestServerTest, MalformedJobIdIs400) {
  json j = Get("/jobs/bad", 400);
  EXPECT_EQ(j["errors"][0], "malformed job id 'bad'");
}

TEST_F(RestServerTest, TaskManagersMapsSlotsAndHardware) {
  json j = Get("/taskmanagers", 200);
  ASSERT_EQ(j["taskmanagers"].size(), 2u);
  const json& tm = j["taskmanagers"][0];
  EXPECT_EQ(tm["id"], "tm-1");
  EXPECT_EQ(tm["path"], "10.0.0.7:4123");
  EXPECT_EQ(tm["dataPort"], 4123);
  EXPECT_EQ(tm["timeSinceLastHeartbeat"], 123456);
  EXPECT_EQ(tm["slotsNumber"], 4);
  EXPECT_EQ(tm["freeSlots"], 1);
  EXPECT_EQ(tm["hardware"]["cpuCores"], 8);
  EXPECT_EQ(tm["hardware"]["physicalMemory"], 1 << 30);
}

TEST_F(RestServerTest, ConfigHasDashboardFields) {
  json j = Get("/config", 200);
  EXPECT_EQ(j["refresh-interval"], 3000);
  EXPECT_EQ(j["timezone-name"], "UTC");
  EXPECT_EQ(j["flink-version"], "sluice-0.1.0");
}

TEST_F(RestServerTest, UnknownPathIs404Json) {
  json j = Get("/nope/deeper", 404);
  EXPECT_EQ(j["errors"][0], "Not found: /nope/deeper");
}

TEST(RestServerLifecycleTest, StartFailsWhenPortTaken) {
  FakeBackend backend;
  RestServer first(&backend);
  ASSERT_TRUE(first.Start("127.0.0.1", 0).ok());
  RestServer second(&backend);
  absl::Status status = second.Start("127.0.0.1", first.port());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(status.message()).find(std::to_string(first.port())), std::string::npos);
}

TEST(RestServerLifecycleTest, StopIsIdempotentAndClosesThePort) {
  FakeBackend backend;
  RestServer server(&backend);
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  int port = server.port();
  server.Stop();
  server.Stop();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1);
  EXPECT_FALSE(client.Get("/overview"));
}

}  // namespace
}  // namespace sluice::jobmanager
