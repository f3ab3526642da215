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
    (*a->mutable_metrics())["numRestarts"] = 3;

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
      s->mutable_metrics()->set_current_input_watermark(5000 + i);
      (*s->mutable_state_timestamps())["DEPLOYING"] = 1100;
      (*s->mutable_state_timestamps())["RUNNING"] = 1200;
      if (i == 1) (*s->mutable_state_timestamps())["FINISHED"] = 1900;
      s->mutable_metrics()->mutable_rates()->set_busy_ms(i == 0 ? 250 : 400);
      s->mutable_metrics()->mutable_rates()->set_backpressured_ms(i == 0 ? 50 : 600);
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
  absl::StatusOr<std::string> GetJobConfigJson(const std::string& job_id) override {
    if (job_id != kJobA) return absl::NotFoundError("no such job");
    return std::string(R"({"jid":"a","name":"flight-delays","execution-config":{}})");
  }
  absl::StatusOr<std::string> GetCheckpointConfigJson(const std::string& job_id) override {
    if (job_id != kJobA) return absl::NotFoundError("Checkpointing is not enabled");
    return std::string(R"({"mode":"exactly_once","interval":1000})");
  }
  absl::StatusOr<std::string> GetCheckpointDetailsJson(const std::string& job_id,
                                                       int64_t id) override {
    if (job_id != kJobA || id != 3) return absl::NotFoundError("no such checkpoint");
    return std::string(R"({"id":3,"status":"COMPLETED"})");
  }
  absl::Status RescaleJob(const std::string& job_id,
                          const std::map<std::string, int>& parallelism) override {
    if (job_id != kJobA) return absl::NotFoundError("no such job");
    if (parallelism.count("nope") > 0) return absl::InvalidArgumentError("job has no vertex nope");
    last_rescale_ = parallelism;
    return absl::OkStatus();
  }
  std::map<std::string, int> last_rescale_;
  absl::Status CancelJob(const std::string& job_id) override {
    if (job_id == kJobB) return absl::FailedPreconditionError("Job is already FAILED");
    if (job_id != kJobA) return absl::NotFoundError("no such job");
    ++cancels_;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> TriggerSavepoint(const v1::TriggerSavepointRequest& r) override {
    if (r.job_id() != kJobA) return absl::NotFoundError("no such job");
    last_request_ = r;
    return std::string("trigger-1");
  }
  absl::StatusOr<std::string> TriggerCheckpoint(const std::string& job_id) override {
    if (job_id != kJobA) return absl::NotFoundError("no such job");
    return std::string("trigger-1");
  }
  absl::StatusOr<v1::DisposeSavepointResponse> DisposeSavepoint(const std::string& path) override {
    if (path.empty()) return absl::InvalidArgumentError("field 'savepoint-path' is missing");
    v1::DisposeSavepointResponse r;
    r.set_trigger_id("dispose-1");
    r.set_path(path);
    if (path != "/sp/savepoint-1") r.set_failure("not a savepoint");
    last_disposal_ = r;
    return r;
  }
  absl::StatusOr<v1::DisposeSavepointResponse> GetSavepointDisposal(
      const std::string& trigger_id) override {
    if (trigger_id != "dispose-1") return absl::NotFoundError("no such disposal");
    return last_disposal_;
  }
  absl::StatusOr<v1::SavepointStatus> GetSavepoint(const std::string& job_id,
                                                   const std::string& trigger_id) override {
    if (job_id != kJobA || trigger_id != "trigger-1") return absl::NotFoundError("no such trigger");
    v1::SavepointStatus st;
    st.set_status("COMPLETED");
    st.set_location("/sp/savepoint-012345-abc");
    st.set_checkpoint_id(12);
    return st;
  }
  v1::TriggerSavepointRequest last_request_;
  v1::DisposeSavepointResponse last_disposal_;
  int cancels_ = 0;
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
  EXPECT_EQ(backend_.last_request_.target_directory(), "/sp");
  EXPECT_FALSE(backend_.last_request_.stop());
  EXPECT_FALSE(backend_.last_request_.cancel_job());
  EXPECT_FALSE(backend_.last_request_.native()) << "CANONICAL is the default formatType";
  json st = Get(std::string("/jobs/") + kJobA + "/savepoints/trigger-1", 200);
  EXPECT_EQ(st["status"]["id"], "COMPLETED");
  EXPECT_EQ(st["operation"]["location"], "/sp/savepoint-012345-abc");
  r = client.Post((std::string("/jobs/") + kJobA + "/stop").c_str(),
                  R"({"targetDirectory": "/sp2", "drain": false})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(backend_.last_request_.stop());
  EXPECT_FALSE(backend_.last_request_.drain());
  EXPECT_EQ(backend_.last_request_.target_directory(), "/sp2");
  r = client.Post((std::string("/jobs/") + kJobA + "/savepoints").c_str(),
                  R"({"target-directory": "/sp", "formatType": "NATIVE"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_TRUE(backend_.last_request_.native());
  r = client.Post((std::string("/jobs/") + kJobA + "/savepoints").c_str(),
                  R"({"formatType": "BINARY"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("field 'formatType' must be CANONICAL or NATIVE, found 'BINARY'"),
            std::string::npos);
  r = client.Post((std::string("/jobs/") + kJobA + "/savepoints").c_str(), "not json",
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(RestServerTest, SavepointWithCancelJobAndStopWithDrainReachTheBackend) {
  auto r = client_->Post((std::string("/jobs/") + kJobA + "/savepoints").c_str(),
                         R"({"cancel-job": true})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_TRUE(backend_.last_request_.cancel_job());
  EXPECT_FALSE(backend_.last_request_.stop());
  r = client_->Post((std::string("/jobs/") + kJobA + "/stop").c_str(), R"({"drain": true})",
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_TRUE(backend_.last_request_.stop());
  EXPECT_TRUE(backend_.last_request_.drain());
}

TEST_F(RestServerTest, WrongJsonTypesAre400NamingTheField) {
  struct Case {
    std::string path, body, field;
  };
  const std::string job = std::string("/jobs/") + kJobA;
  for (const Case& c : {Case{job + "/savepoints", R"({"cancel-job": "yes"})", "'cancel-job'"},
                        Case{job + "/savepoints", R"({"target-directory": 5})", "'target-directory'"},
                        Case{job + "/stop", R"({"drain": 1})", "'drain'"},
                        Case{job + "/checkpoints", R"({"checkpointType": true})", "'checkpointType'"},
                        Case{"/savepoint-disposal", R"({"savepoint-path": []})", "'savepoint-path'"},
                        Case{job + "/savepoints", R"([1, 2])", "JSON object"},
                        Case{job + "/savepoints", R"({"cancel-job": tru)", "not valid JSON"}}) {
    auto r = client_->Post(c.path.c_str(), c.body, "application/json");
    ASSERT_TRUE(r) << c.path;
    EXPECT_EQ(r->status, 400) << c.path << " " << c.body << ": " << r->body;
    EXPECT_NE(r->body.find(c.field), std::string::npos) << r->body;
    EXPECT_TRUE(json::parse(r->body)["errors"].is_array()) << r->body;
  }
}

TEST_F(RestServerTest, PatchCancelsTheJob) {
  auto r = client_->Patch((std::string("/jobs/") + kJobA + "?mode=cancel").c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(backend_.cancels_, 1);
  r = client_->Patch((std::string("/jobs/") + kJobA).c_str());  // mode defaults to cancel
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(backend_.cancels_, 2);
  r = client_->Patch((std::string("/jobs/") + kJobA + "?mode=stop").c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("'mode'"), std::string::npos);
  EXPECT_EQ(backend_.cancels_, 2);
  r = client_->Patch((std::string("/jobs/") + kJobB + "?mode=cancel").c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409) << "a job that already ended cannot be cancelled";
  r = client_->Patch((std::string("/jobs/") + kUnknownJob + "?mode=cancel").c_str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(RestServerTest, ResourceRequirementsReadAndRescale) {
  const std::string path = std::string("/jobs/") + kJobA + "/resource-requirements";
  json reqs = Get(path, 200);
  EXPECT_EQ(reqs["v0"]["parallelism"]["upperBound"], 2);
  EXPECT_EQ(reqs["v0"]["parallelism"]["lowerBound"], 1);
  auto r = client_->Put(path.c_str(),
                        R"({"v0": {"parallelism": {"lowerBound": 1, "upperBound": 3}}})",
                        "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(backend_.last_rescale_, (std::map<std::string, int>{{"v0", 3}}));
  for (const char* bad : {R"({"v0": {"parallelism": {"upperBound": "3"}}})",
                          R"({"v0": {"parallelism": 3}})",
                          R"({"v0": {"parallelism": {"lowerBound": 4, "upperBound": 3}}})",
                          R"({"nope": {"parallelism": {"upperBound": 3}}})"}) {
    r = client_->Put(path.c_str(), bad, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad << ": " << r->body;
  }
  r = client_->Put(path.c_str(), R"({"v0": {"parallelism": {"upperBound": "3"}}})",
                   "application/json");
  EXPECT_NE(r->body.find("'upperBound'"), std::string::npos) << r->body;
}

TEST_F(RestServerTest, ManualCheckpointTriggerAndPoll) {
  auto r = client_->Post((std::string("/jobs/") + kJobA + "/checkpoints").c_str(),
                         R"({"checkpointType": "FULL"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(json::parse(r->body)["request-id"], "trigger-1");
  json st = Get(std::string("/jobs/") + kJobA + "/checkpoints/trigger-1", 200);
  EXPECT_EQ(st["status"]["id"], "COMPLETED");
  EXPECT_EQ(st["operation"]["checkpointId"], 12);
  r = client_->Post((std::string("/jobs/") + kJobA + "/checkpoints").c_str(),
                    R"({"checkpointType": "SOMETIMES"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(RestServerTest, SavepointDisposalReportsItsOutcome) {
  auto r = client_->Post("/savepoint-disposal", R"({"savepoint-path": "/sp/savepoint-1"})",
                         "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["request-id"], "dispose-1");
  json ok = Get("/savepoint-disposal/dispose-1", 200);
  EXPECT_EQ(ok["status"]["id"], "COMPLETED");
  EXPECT_FALSE(ok["operation"].contains("failure-cause"));
  r = client_->Post("/savepoint-disposal", R"({"savepoint-path": "/etc"})", "application/json");
  ASSERT_TRUE(r);
  json failed = Get("/savepoint-disposal/dispose-1", 200);
  EXPECT_EQ(failed["operation"]["failure-cause"]["stack-trace"], "not a savepoint");
  r = client_->Post("/savepoint-disposal", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  Get("/savepoint-disposal/unknown", 404);
}

TEST_F(RestServerTest, WrongMethodIs405WithFlinkErrorShape) {
  auto r = client_->Delete("/jobs/overview");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET");
  EXPECT_TRUE(json::parse(r->body)["errors"].is_array());
  r = client_->Post("/overview", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
}

TEST_F(RestServerTest, JobStatusPlanConfigAndExecutionResult) {
  EXPECT_EQ(Get(std::string("/jobs/") + kJobA + "/status", 200)["status"], "RUNNING");
  json plan = Get(std::string("/jobs/") + kJobA + "/plan", 200);
  ASSERT_EQ(plan["plan"]["nodes"].size(), 2u);
  EXPECT_EQ(plan["plan"]["nodes"][1]["inputs"].size(), 0u) << "the fake has no edges";
  EXPECT_EQ(Get(std::string("/jobs/") + kJobA + "/config", 200)["name"], "flight-delays");
  EXPECT_EQ(Get(std::string("/jobs/") + kJobA + "/checkpoints/config", 200)["interval"], 1000);
  Get(std::string("/jobs/") + kJobB + "/checkpoints/config", 404);
  EXPECT_EQ(Get(std::string("/jobs/") + kJobA + "/checkpoints/details/3", 200)["id"], 3);
  Get(std::string("/jobs/") + kJobA + "/checkpoints/details/4", 404);
  Get(std::string("/jobs/") + kJobA + "/checkpoints/details/x", 400);
  // A running job has no result yet; a failed one has FAILED with its cause.
  json running = Get(std::string("/jobs/") + kJobA + "/execution-result", 200);
  EXPECT_EQ(running["status"]["id"], "IN_PROGRESS");
  EXPECT_FALSE(running.contains("job-execution-result"));
  json failed = Get(std::string("/jobs/") + kJobB + "/execution-result", 200);
  EXPECT_EQ(failed["status"]["id"], "COMPLETED");
  EXPECT_EQ(failed["job-execution-result"]["application-status"], "FAILED");
  EXPECT_EQ(failed["job-execution-result"]["net-runtime"], 3000);
  EXPECT_EQ(failed["job-execution-result"]["failure-cause"]["stack-trace"],
            "filter: division by zero");
}

TEST_F(RestServerTest, VertexSubtasksMetricsWatermarksAndBackPressure) {
  const std::string v0 = std::string("/jobs/") + kJobA + "/vertices/v0";
  json subtask = Get(v0 + "/subtasks/1", 200);
  EXPECT_EQ(subtask["subtask"], 1);
  EXPECT_EQ(subtask["status"], "FINISHED");
  Get(v0 + "/subtasks/2", 404);
  json times = Get(v0 + "/subtasktimes", 200);
  EXPECT_EQ(times["subtasks"].size(), 2u);
  EXPECT_EQ(times["subtasks"][0]["timestamps"]["DEPLOYING"], 1100);
  EXPECT_EQ(times["subtasks"][0]["timestamps"]["RUNNING"], 1200);
  EXPECT_EQ(times["subtasks"][0]["timestamps"]["FAILED"], 0) << "never entered";
  EXPECT_EQ(times["subtasks"][0]["host"], "10.0.0.7");
  EXPECT_EQ(times["subtasks"][0]["endpoint"], "10.0.0.7:4123");
  // Status durations: DEPLOYING until RUNNING began; the finished subtask ran 1200 -> 1900.
  EXPECT_EQ(subtask["status-duration"]["DEPLOYING"], 100);
  EXPECT_EQ(subtask["status-duration"]["RUNNING"], 700);
  json vertex = Get(v0, 200);
  EXPECT_EQ(vertex["aggregated"]["metrics"]["read-records"]["sum"], 201);
  EXPECT_EQ(vertex["aggregated"]["metrics"]["read-records"]["max"], 101);
  EXPECT_EQ(vertex["aggregated"]["status-duration"]["DEPLOYING"]["min"], 100);
  json ids = Get(v0 + "/metrics", 200);
  bool has_records_in = false;
  for (const auto& m : ids) has_records_in |= m["id"] == "1.numRecordsIn";
  EXPECT_TRUE(has_records_in) << ids.dump();
  json values = Get(v0 + "/metrics?get=1.numRecordsIn,0.busyTimeMsPerSecond", 200);
  ASSERT_EQ(values.size(), 2u) << values.dump();
  EXPECT_EQ(values[1]["id"], "1.numRecordsIn");
  EXPECT_EQ(values[1]["value"], "101");
  EXPECT_EQ(values[0]["value"], "250");
  json agg = Get(v0 + "/subtasks/metrics?get=numRecordsIn", 200);
  ASSERT_EQ(agg.size(), 1u);
  EXPECT_EQ(agg[0]["min"], 100.0);
  EXPECT_EQ(agg[0]["max"], 101.0);
  EXPECT_EQ(agg[0]["sum"], 201.0);
  json wm = Get(v0 + "/watermarks", 200);
  ASSERT_EQ(wm.size(), 2u);
  EXPECT_EQ(wm[0]["id"], "0.currentInputWatermark");
  EXPECT_EQ(wm[0]["value"], "5000");
  json bp = Get(v0 + "/backpressure", 200);
  EXPECT_EQ(bp["status"], "ok");
  EXPECT_EQ(bp["backpressure-level"], "high");  // subtask 1 is back pressured 600 ms/s
  EXPECT_EQ(bp["backpressureLevel"], "high");
  EXPECT_EQ(bp["subtasks"][0]["backpressure-level"], "ok");
  EXPECT_DOUBLE_EQ(bp["subtasks"][1]["ratio"].get<double>(), 0.6);
  Get(std::string("/jobs/") + kJobA + "/vertices/nope/backpressure", 404);
}

TEST_F(RestServerTest, JobManagerAndTaskManagerMetricsAndPrometheus) {
  json ids = Get("/jobmanager/metrics", 200);
  bool has = false;
  for (const auto& m : ids) has |= m["id"] == "numRegisteredTaskManagers";
  EXPECT_TRUE(has);
  json values = Get("/jobmanager/metrics?get=numRegisteredTaskManagers,taskSlotsTotal", 200);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0]["value"], "2");
  json tm = Get("/taskmanagers/tm-1", 200);
  EXPECT_EQ(tm["id"], "tm-1");
  EXPECT_TRUE(tm.contains("memoryConfiguration"));
  Get("/taskmanagers/tm-9", 404);
  Get("/taskmanagers/tm-1/metrics?get=Status.ProcessTree.Memory.RSS", 200);
  json jobs = Get("/jobs/metrics?get=numRestarts", 200);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["sum"], 3.0);
  auto prom = client_->Get("/metrics");
  ASSERT_TRUE(prom);
  EXPECT_EQ(prom->status, 200);
  EXPECT_NE(prom->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(prom->body.find("flink_jobmanager_numRegisteredTaskManagers 2\n"), std::string::npos)
      << prom->body;
  EXPECT_NE(prom->body.find("flink_jobmanager_job_numRestarts{job_id=\""), std::string::npos)
      << prom->body;
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
