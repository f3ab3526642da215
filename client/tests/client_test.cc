#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "client/commands.h"
#include "client/dispatcher_client.h"
#include "client/job_runner.h"
#include "sluice/v1/jobmanager.grpc.pb.h"

namespace sluice::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kJobId[] = "0123456789abcdef0123456789abcdef";

v1::GetJobResponse MakeJob(const std::string& state) {
  v1::GetJobResponse r;
  r.mutable_job()->set_job_id(kJobId);
  r.mutable_job()->set_name("flight-delays");
  r.mutable_job()->set_state(state);
  r.mutable_job()->set_start_time_ms(1'000'000);
  r.mutable_job()->set_end_time_ms(-1);
  auto* src = r.add_vertices();
  src->set_name("Source: flights -> Filter");
  src->set_parallelism(2);
  src->set_state(state);
  for (int i = 0; i < 2; ++i) {
    auto* s = src->add_subtasks();
    s->set_subtask(i);
    s->set_state(state);
    s->set_location("127.0.0.1:4000");
    s->mutable_metrics()->set_records_in(500);
    s->mutable_metrics()->set_records_out(100);
  }
  auto* sink = r.add_vertices();
  sink->set_name("Sink: delays");
  sink->set_parallelism(2);
  sink->set_state(state);
  for (int i = 0; i < 2; ++i) {
    auto* s = sink->add_subtasks();
    s->set_subtask(i);
    s->set_state(state);
    s->mutable_metrics()->set_records_in(20'000 + i * 117);
    (*s->mutable_metrics()->mutable_sink_records())["Sink: delays"] = 20'000 + i * 117;
  }
  return r;
}

TEST(FormatTest, DurationUnits) {
  EXPECT_EQ(FormatDuration(3410), "3.41 s");
  EXPECT_EQ(FormatDuration(0), "0.00 s");
  EXPECT_EQ(FormatDuration(125'000), "2 min 05 s");
  EXPECT_EQ(FormatDuration(3'720'000), "1 h 02 min");
  EXPECT_EQ(FormatDuration(-1), "-");
}

TEST(FormatTest, TimestampIsUtc) {
  EXPECT_EQ(FormatTimestamp(978'307'260'000), "2001-01-01 00:01:00");
  EXPECT_EQ(FormatTimestamp(-1), "-");
}

TEST(FormatTest, SummaryCountsRecordsIntoSinks) {
  v1::GetJobResponse job = MakeJob("FINISHED");
  EXPECT_EQ(FormatJobSummary(job, 3410),
            std::string("Job flight-delays (") + kJobId +
                ") FINISHED in 3.41 s; Sink: delays wrote 40117 records\n");
}

// A vertex may chain several sinks (a chain is a tree): each is counted on its own.
TEST(FormatTest, SummaryCountsEverySinkOfAChainAndPrintsFailureCause) {
  v1::GetJobResponse job = MakeJob("FAILED");
  job.mutable_vertices(0)->set_name("Source: a -> (Sink: x, Sink: y)");
  for (auto& s : *job.mutable_vertices(0)->mutable_subtasks()) {
    (*s.mutable_metrics()->mutable_sink_records())["Sink: x"] = 7;
    (*s.mutable_metrics()->mutable_sink_records())["Sink: y"] = 90;
  }
  job.mutable_job()->set_failure_cause("filter: division by zero");
  std::string summary = FormatJobSummary(job, 1000);
  EXPECT_THAT(summary, HasSubstr("FAILED in 1.00 s; Sink: x wrote 14 records; Sink: y wrote 180 "
                                 "records; Sink: delays wrote 40117 records\n"));
  EXPECT_THAT(summary, HasSubstr("Failure cause: filter: division by zero\n"));
}

TEST(FormatTest, JobsTableHasOneRowPerJob) {
  v1::ListJobsResponse jobs;
  *jobs.add_jobs() = MakeJob("RUNNING").job();
  std::string table = FormatJobsTable(jobs, 1'003'410);
  EXPECT_THAT(table, HasSubstr("JOB ID"));
  EXPECT_THAT(table, HasSubstr(kJobId));
  EXPECT_THAT(table, HasSubstr("flight-delays"));
  EXPECT_THAT(table, HasSubstr("3.41 s"));
  EXPECT_EQ(FormatJobsTable(v1::ListJobsResponse(), 0), "No jobs.\n");
}

TEST(FormatTest, StatusShowsSubtasksAndFailure) {
  v1::GetJobResponse job = MakeJob("RUNNING");
  job.mutable_job()->set_status_message("waiting for 4 slots");
  job.mutable_vertices(1)->mutable_subtasks(1)->set_failure("disk full");
  std::string status = FormatJobStatus(job, 1'001'000);
  EXPECT_THAT(status, HasSubstr("Job flight-delays (" + std::string(kJobId) + "): RUNNING"));
  EXPECT_THAT(status, HasSubstr("Status:   waiting for 4 slots"));
  EXPECT_THAT(status, HasSubstr("Sink: delays (parallelism 2): RUNNING"));
  EXPECT_THAT(status, HasSubstr("20117"));
  EXPECT_THAT(status, HasSubstr("subtask 2/2 failed: disk full"));
}

TEST(FormatTest, StatusShowsLateRecordsDroppedOnlyWhereThereAreSome) {
  v1::GetJobResponse job = MakeJob("RUNNING");
  EXPECT_THAT(FormatJobStatus(job, 1'001'000), Not(HasSubstr("late records dropped")));
  job.mutable_vertices(1)->mutable_subtasks(0)->mutable_metrics()->set_late_records_dropped(3);
  job.mutable_vertices(1)->mutable_subtasks(1)->mutable_metrics()->set_late_records_dropped(4);
  EXPECT_THAT(FormatJobStatus(job, 1'001'000),
              HasSubstr("late records dropped: 7 (numLateRecordsDropped)"));
}

TEST(FormatTest, StatusShowsEachVertexsChainAndInputs) {
  v1::GetJobResponse job = MakeJob("RUNNING");
  auto* src = job.mutable_vertices(0);
  src->set_id("v-source");
  src->add_operators("Source: flights");
  src->add_uids("source");
  src->add_operators("Filter");
  src->add_uids("filter-1");
  auto* sink = job.mutable_vertices(1);
  sink->set_id("v-sink");
  sink->add_operators("Sink: delays");
  sink->add_uids("sink");
  auto* in = sink->add_inputs();
  in->set_source_vertex_id("v-source");
  in->set_ship_strategy("HASH");
  std::string status = FormatJobStatus(job, 1'001'000);
  EXPECT_THAT(status, HasSubstr("[1] Source: flights -> Filter (parallelism 2): RUNNING"));
  EXPECT_THAT(status, HasSubstr("operators: Source: flights [uid source], Filter [uid filter-1]"));
  EXPECT_THAT(status, HasSubstr("[2] Sink: delays (parallelism 2)"));
  EXPECT_THAT(status, HasSubstr("input 1: from [1] via HASH"));
}

TEST(FormatTest, TaskManagersShowSlotsAndHeartbeatAge) {
  v1::ListTaskManagersResponse tms;
  auto* tm = tms.add_taskmanagers();
  tm->set_resource_id("tm-1");
  tm->set_address("127.0.0.1:4000");
  tm->set_slots_total(4);
  tm->set_slots_free(3);
  tm->set_last_heartbeat_ms(10'000);
  std::string text = FormatTaskManagers(tms, 10'500);
  EXPECT_THAT(text, HasSubstr("tm-1"));
  EXPECT_THAT(text, HasSubstr("3/4"));
  EXPECT_THAT(text, HasSubstr("0.50 s ago"));
}

TEST(ReadJobSubmissionTest, SetsPathBaseDirAndParallelism) {
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "client_test_spec";
  std::filesystem::create_directories(dir);
  std::string path = (dir / "job.yaml").string();
  std::ofstream(path) << "name: x\n";
  auto job = ReadJobSubmission(path, 3);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec_yaml(), "name: x\n");
  EXPECT_EQ(job->spec_path(), path);
  EXPECT_EQ(job->base_dir(), std::filesystem::absolute(dir).lexically_normal().string());
  EXPECT_EQ(job->parallelism(), 3);
}

TEST(ReadJobSubmissionTest, MissingFileNamesPathAndReason) {
  auto job = ReadJobSubmission("does/not/exist.yaml", 0);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(),
            "cannot read job spec 'does/not/exist.yaml': No such file or directory");
}

TEST(NormalizeAddressTest, AddsDefaultPort) {
  EXPECT_EQ(NormalizeJobManagerAddress("jm"), "jm:6123");
  EXPECT_EQ(NormalizeJobManagerAddress("jm:7000"), "jm:7000");
  EXPECT_EQ(NormalizeJobManagerAddress("[::1]"), "[::1]:6123");
  EXPECT_EQ(NormalizeJobManagerAddress("[::1]:7000"), "[::1]:7000");
}

// A DispatcherService that plays a scripted sequence of job states, one per GetJob call.
class ScriptedDispatcher final : public v1::DispatcherService::Service {
 public:
  explicit ScriptedDispatcher(std::vector<v1::GetJobResponse> script)
      : script_(std::move(script)) {}

  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* request,
                         v1::SubmitJobResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    submitted_ = request->job();
    if (request->job().spec_yaml() == "bad") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "x.yaml:1:1: filter: unknown field 'delays'");
    }
    response->set_job_id(kJobId);
    return grpc::Status::OK;
  }
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest* request,
                      v1::GetJobResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (request->job_id() != kJobId) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "Job " + request->job_id() + " not found");
    }
    *response = script_[std::min(next_, script_.size() - 1)];
    ++next_;
    return grpc::Status::OK;
  }
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest*,
                         v1::CancelJobResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    return grpc::Status::OK;
  }

  v1::JobSubmission submitted() {
    std::lock_guard<std::mutex> lock(mu_);
    return submitted_;
  }
  bool cancelled() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

 private:
  std::mutex mu_;
  std::vector<v1::GetJobResponse> script_;
  size_t next_ = 0;
  v1::JobSubmission submitted_;
  bool cancelled_ = false;
};

class SubmitAndWaitTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<v1::GetJobResponse> script) {
    service_ = std::make_unique<ScriptedDispatcher>(std::move(script));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_GT(port, 0);
    client_ = DispatcherClient::Create("127.0.0.1:" + std::to_string(port));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  RunOptions FastOptions() {
    RunOptions options;
    options.poll_interval = std::chrono::milliseconds(1);
    return options;
  }

  std::unique_ptr<ScriptedDispatcher> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<DispatcherClient> client_;
  std::ostringstream out_, err_;
};

TEST_F(SubmitAndWaitTest, FollowsStatesAndPrintsSummary) {
  v1::GetJobResponse created = MakeJob("CREATED");
  created.mutable_job()->set_status_message("waiting for 4 slots, 2 available");
  v1::GetJobResponse finished = MakeJob("FINISHED");
  finished.mutable_job()->set_end_time_ms(1'003'410);
  StartServer({created, created, MakeJob("RUNNING"), MakeJob("RUNNING"), finished});

  v1::JobSubmission job;
  job.set_spec_yaml("name: flight-delays\n");
  int code = SubmitAndWait(*client_, job, FastOptions(), out_, err_);
  EXPECT_EQ(code, 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string("Job has been submitted with JobID ") + kJobId + "\n" + "Job " +
                            kJobId + " switched to CREATED\n" +
                            "waiting for 4 slots, 2 available\n" + "Job " + kJobId +
                            " switched to RUNNING\n" + "Job " + kJobId + " switched to FINISHED\n" +
                            "Job flight-delays (" + kJobId +
                            ") FINISHED in 3.41 s; Sink: delays wrote 40117 records\n");
  EXPECT_EQ(service_->submitted().spec_yaml(), "name: flight-delays\n");
}

TEST_F(SubmitAndWaitTest, FailedJobExitsOne) {
  v1::GetJobResponse failed = MakeJob("FAILED");
  failed.mutable_job()->set_failure_cause("boom");
  StartServer({failed});
  EXPECT_EQ(SubmitAndWait(*client_, v1::JobSubmission(), FastOptions(), out_, err_), 1);
  EXPECT_THAT(out_.str(), HasSubstr("Failure cause: boom"));
}

TEST_F(SubmitAndWaitTest, SpecErrorIsPrintedAsIs) {
  StartServer({MakeJob("RUNNING")});
  v1::JobSubmission job;
  job.set_spec_yaml("bad");
  EXPECT_EQ(SubmitAndWait(*client_, job, FastOptions(), out_, err_), 1);
  EXPECT_EQ(err_.str(), "x.yaml:1:1: filter: unknown field 'delays'\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(SubmitAndWaitTest, DetachedReturnsAfterSubmission) {
  StartServer({MakeJob("RUNNING")});
  RunOptions options = FastOptions();
  options.detached = true;
  EXPECT_EQ(SubmitAndWait(*client_, v1::JobSubmission(), options, out_, err_), 0);
  EXPECT_EQ(out_.str(), std::string("Job has been submitted with JobID ") + kJobId + "\n");
}

TEST_F(SubmitAndWaitTest, InterruptCancelsWhenAsked) {
  StartServer({MakeJob("RUNNING"), MakeJob("CANCELED")});
  std::atomic<bool> interrupted{true};
  RunOptions options = FastOptions();
  options.interrupted = &interrupted;
  options.cancel_on_interrupt = true;
  EXPECT_EQ(SubmitAndWait(*client_, v1::JobSubmission(), options, out_, err_), 1);
  EXPECT_TRUE(service_->cancelled());
  EXPECT_THAT(out_.str(), HasSubstr("CANCELED"));
}

TEST_F(SubmitAndWaitTest, InterruptLeavesJobRunningByDefault) {
  StartServer({MakeJob("RUNNING")});
  std::atomic<bool> interrupted{true};
  RunOptions options = FastOptions();
  options.interrupted = &interrupted;
  EXPECT_EQ(SubmitAndWait(*client_, v1::JobSubmission(), options, out_, err_), 130);
  EXPECT_FALSE(service_->cancelled());
}

TEST_F(SubmitAndWaitTest, NotFoundCarriesTheJobManagersMessage) {
  StartServer({MakeJob("RUNNING")});
  auto job = client_->GetJob("ffffffffffffffffffffffffffffffff");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(job.status().message(), "Job ffffffffffffffffffffffffffffffff not found");
}

TEST(DispatcherClientTest, UnreachableJobManagerNamesTheAddress) {
  // Bind and release a port so that nothing listens on it.
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  v1::DispatcherService::Service service;
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  server->Shutdown();
  server.reset();

  auto client = DispatcherClient::Create("127.0.0.1:" + std::to_string(port));
  auto jobs = client->ListJobs();
  ASSERT_FALSE(jobs.ok());
  EXPECT_EQ(jobs.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(jobs.status().message(),
              HasSubstr("cannot reach the JobManager at 127.0.0.1:" + std::to_string(port) + ": "));
}

}  // namespace
}  // namespace sluice::client
