// In-process tests of the JobMaster against fake TaskManagers (Flink's
// TestingTaskExecutorGateway) and a fake slot provider: deployment of a DAG, task failures and
// restarts from checkpoints, lost TaskManagers, declined checkpoints, fencing, cancellation. No
// sockets, no TaskManager processes.

#include "jobmanager/job_master.h"

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/testing/wait_until.h"
#include "runtime/checkpoint/checkpoint_storage.h"

namespace sluice::jobmanager {
namespace {

using graph::ExecutionState;
using graph::JobStatus;
using ::testing::HasSubstr;
using sluice::testing::WaitUntil;

// Records every call; answers SubmitTask and CancelTask with configurable outcomes.
class FakeGateway final : public TaskExecutorGateway {
 public:
  struct Trigger {
    ExecutionAttemptId attempt;
    CheckpointTrigger trigger;
  };
  void SubmitTask(deployment::TaskDeploymentDescriptor tdd, Callback done) override {
    {
      std::lock_guard lock(mu_);
      submitted_.push_back(std::move(tdd));
    }
    done(absl::OkStatus());
  }
  void CancelTask(const JobId&, const ExecutionAttemptId& attempt, Callback done) override {
    {
      std::lock_guard lock(mu_);
      cancelled_.push_back(attempt);
    }
    done(absl::OkStatus());  // the task confirms through its state report
  }
  void TriggerCheckpoint(const JobId&, const ExecutionAttemptId& attempt,
                         const CheckpointTrigger& trigger) override {
    std::lock_guard lock(mu_);
    triggers_.push_back({attempt, trigger});
  }
  void NotifyCheckpointComplete(const JobId&, const ExecutionAttemptId&, int64_t id) override {
    std::lock_guard lock(mu_);
    completed_.push_back(id);
  }
  void NotifyCheckpointAborted(const JobId&, const ExecutionAttemptId&, int64_t id) override {
    std::lock_guard lock(mu_);
    aborted_.push_back(id);
  }
  void SendOperatorEvent(const JobId&, const ExecutionAttemptId&, int, int, std::string,
                         Callback done) override {
    done(absl::OkStatus());
  }

  std::vector<deployment::TaskDeploymentDescriptor> submitted() {
    std::lock_guard lock(mu_);
    return submitted_;
  }
  std::vector<ExecutionAttemptId> cancelled() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  std::vector<Trigger> triggers() {
    std::lock_guard lock(mu_);
    return triggers_;
  }
  std::vector<int64_t> completed() {
    std::lock_guard lock(mu_);
    return completed_;
  }
  std::vector<int64_t> aborted() {
    std::lock_guard lock(mu_);
    return aborted_;
  }

 private:
  std::mutex mu_;
  std::vector<deployment::TaskDeploymentDescriptor> submitted_;
  std::vector<ExecutionAttemptId> cancelled_;
  std::vector<Trigger> triggers_;
  std::vector<int64_t> completed_, aborted_;
};

// Gives slots when it has enough, else tells the job to wait until Give().
class FakeSlots final : public SlotProvider {
 public:
  void RequestSlots(const JobId&, int n, std::function<void(std::vector<Slot>)> allocated,
                    std::function<void(std::string)> waiting) override {
    if (static_cast<int>(slots.size()) >= n) {
      allocated(std::vector<Slot>(slots.begin(), slots.begin() + n));
      return;
    }
    pending_ = std::move(allocated);
    pending_n_ = n;
    waiting("waiting for resources: the job needs " + std::to_string(n) + " slots");
  }
  void ReleaseSlots(const JobId&) override { ++released; }
  void Give(std::vector<Slot> more) {
    slots = std::move(more);
    if (pending_) std::exchange(pending_, nullptr)(std::vector<Slot>(slots.begin(), slots.begin() + pending_n_));
  }
  std::vector<Slot> slots;
  int released = 0;

 private:
  std::function<void(std::vector<Slot>)> pending_;
  int pending_n_ = 0;
};

// Two sources -> union -> keyed window -> two sinks (one at parallelism 1).
std::string DagSpec(const std::string& extra = "") {
  return R"(name: jm-test
parallelism: 2
sources:
  a: {type: file, path: a.csv, schema: {date: timestamp, origin: string}, event-time: {field: date}}
  b: {type: file, path: b.csv, schema: {date: timestamp, origin: string}, event-time: {field: date}}
pipeline:
  - union: [a, b]
  - key-by: origin
  - window: {size: 1 h, aggregates: {n: count()}}
    name: hourly
sinks:
  all: {type: print}
  big: {type: print, parallelism: 1}
)" + extra;
}

class JobMasterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-jm-test-" + std::to_string(::getpid()) + "-" + Id128::Random().ToString());
    slots_.slots = {Slot{"tm-1", "host1:1", gw1_}, Slot{"tm-2", "host2:2", gw2_}};
  }
  void TearDown() override {
    if (jm_) jm_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  void Start(const std::string& spec, SubmitOptions submit = {}) {
    auto graph = job::CompileJob(job::JobSubmission{spec, "jm-test.yaml", "/base", 0});
    ASSERT_TRUE(graph.ok()) << graph.status();
    JobMasterOptions options;
    options.jobmanager_id = "jm";
    options.default_checkpoint_dir = dir_.string();
    auto jm = JobMaster::Create(JobId::Random(), job::JobSubmission{spec, "jm-test.yaml", "/base", 0},
                                std::move(*graph), submit, options, &slots_);
    ASSERT_TRUE(jm.ok()) << jm.status();
    jm_ = std::move(*jm);
    jm_->Start();
    // Slots are granted and the job deployed on the JobMaster's executor, after Start returns.
    ASSERT_TRUE(WaitUntil([&] {
      JobSummaryView s = jm_->Summary();
      return s.state != JobStatus::kCreated || !s.status_message.empty();
    }));
  }
  std::string CheckpointedSpec(const std::string& interval = "10 ms") {
    return DagSpec("checkpointing: {interval: " + interval +
                   ", tolerable-failed-checkpoints: 5}\n"
                   "restart-strategy: {type: fixed-delay, attempts: 3, delay: 0}\n");
  }

  std::vector<deployment::TaskDeploymentDescriptor> Submitted() {
    auto a = gw1_->submitted(), b = gw2_->submitted();
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  // The current attempts, from the latest deployment of every subtask.
  std::vector<deployment::TaskDeploymentDescriptor> Current() {
    std::map<std::pair<int, int>, deployment::TaskDeploymentDescriptor> latest;
    for (auto& t : Submitted()) {
      auto key = std::make_pair(t.vertex, t.subtask);
      if (!latest.count(key) || latest[key].attempt_number < t.attempt_number) latest[key] = t;
    }
    std::vector<deployment::TaskDeploymentDescriptor> out;
    for (auto& [k, t] : latest) out.push_back(t);
    return out;
  }
  bool Report(const ExecutionAttemptId& attempt, ExecutionState state, std::string failure = "",
              bool retryable = true) {
    TaskStateUpdate u;
    u.attempt = attempt;
    u.state = state;
    u.failure = std::move(failure);
    u.retryable = retryable;
    return jm_->UpdateTaskExecutionState(std::move(u));
  }
  void ReportAll(ExecutionState state) {
    for (const auto& t : Current()) Report(t.attempt_id, state);
  }
  JobStatus Status() { return jm_->Summary().state; }
  int Count(ExecutionState s) { return jm_->Summary().task_counts[static_cast<size_t>(s)]; }
  // Ticks until every source subtask got a trigger for checkpoint `id`.
  // A running checkpointing job with no periodic checkpoint in the way of an operation.
  void StartCheckpointedRunning() {
    Start(CheckpointedSpec("1 h"));
    ReportAll(ExecutionState::kRunning);
  }
  bool AwaitTriggers(int64_t id, size_t sources) {
    return WaitUntil([&] {
      jm_->Tick();
      size_t n = 0;
      for (auto* gw : {gw1_.get(), gw2_.get()}) {
        for (const auto& t : gw->triggers()) n += t.trigger.checkpoint_id == id;
      }
      return n >= sources;
    });
  }
  void AckAll(int64_t id) {
    for (const auto& t : Current()) {
      checkpoint::SubtaskStateHandle h;
      h.vertex = t.vertex;
      h.subtask = t.subtask;
      graph::JobGraph g = *job::CompileJob(t.job);
      for (const auto& uid : g.vertex(t.vertex).uids()) {
        checkpoint::OperatorStateHandle op;
        op.operator_uid = uid;
        op.operator_state = "state-" + uid + "-" + std::to_string(t.subtask);
        h.operators.push_back(op);
      }
      checkpoint::Ack ack;
      ack.handle = checkpoint::EncodeSubtaskStateHandle(h);
      jm_->AcknowledgeCheckpoint(t.attempt_id, id, ack);
    }
  }

  std::filesystem::path dir_;
  std::shared_ptr<FakeGateway> gw1_ = std::make_shared<FakeGateway>();
  std::shared_ptr<FakeGateway> gw2_ = std::make_shared<FakeGateway>();
  FakeSlots slots_;
  std::unique_ptr<JobMaster> jm_;
};

TEST_F(JobMasterTest, DeploysTheWholeDagWithTheConsumersOfEveryEdgeAndFinishes) {
  Start(DagSpec());
  ASSERT_EQ(Status(), JobStatus::kRunning);
  auto tdds = Submitted();
  ASSERT_EQ(tdds.size(), 7u);  // a: 2, b: 2, hourly -> Sink: all: 2, Sink: big: 1
  EXPECT_EQ(Count(ExecutionState::kDeploying), 7);
  // Slot i hosts subtask i of every vertex.
  for (const auto& t : gw1_->submitted()) EXPECT_EQ(t.subtask, 0);
  for (const auto& t : gw2_->submitted()) EXPECT_EQ(t.subtask, 1);
  // Consumers are deployed before their producers.
  EXPECT_EQ(gw1_->submitted().front().vertex, 3);
  std::map<int, std::vector<deployment::TaskDeploymentDescriptor>> by_vertex;
  for (const auto& t : tdds) by_vertex[t.vertex].push_back(t);
  std::map<int, ExecutionAttemptId> window_attempts;
  for (const auto& t : by_vertex[2]) window_attempts[t.subtask] = t.attempt_id;
  for (int source : {0, 1}) {
    for (const auto& t : by_vertex[source]) {
      ASSERT_EQ(t.outputs.size(), 1u);
      ASSERT_EQ(t.outputs[0].size(), 2u);  // all-to-all into the window's two subtasks
      for (const auto& c : t.outputs[0]) {
        EXPECT_EQ(c.attempt_id, window_attempts.at(c.subtask));
        EXPECT_EQ(c.address, c.subtask == 0 ? "host1:1" : "host2:2");
      }
    }
  }
  for (const auto& t : by_vertex[2]) {
    ASSERT_EQ(t.outputs.size(), 1u);
    EXPECT_EQ(t.outputs[0].size(), 1u);  // the parallelism-1 sink
  }
  EXPECT_TRUE(by_vertex[3][0].outputs.empty());
  EXPECT_EQ(by_vertex[3][0].jobmanager_id, "jm");

  ReportAll(ExecutionState::kRunning);
  EXPECT_EQ(Count(ExecutionState::kRunning), 7);
  ReportAll(ExecutionState::kFinished);
  EXPECT_EQ(Status(), JobStatus::kFinished);
  EXPECT_GE(slots_.released, 1);
  JobDetailsView d = jm_->Details();
  ASSERT_EQ(d.vertices.size(), 4u);
  EXPECT_EQ(d.vertices[2].name, "hourly -> Sink: all");
  ASSERT_EQ(d.vertices[2].inputs.size(), 2u);
  EXPECT_EQ(d.vertices[2].inputs[0].ship_strategy, graph::PartitionerKind::kHash);
  EXPECT_EQ(d.vertices[2].inputs[0].source_vertex_id, d.vertices[0].id);
}

TEST_F(JobMasterTest, NumLateRecordsDroppedSumsTheSubtasksReports) {
  Start(DagSpec());
  EXPECT_EQ(jm_->Summary().metrics.at("numLateRecordsDropped"), 0);
  int64_t want = 0;
  for (const auto& t : Current()) {
    if (t.vertex != 2) continue;  // the window's subtasks
    TaskStateUpdate u;
    u.attempt = t.attempt_id;
    u.state = ExecutionState::kRunning;
    u.metrics.late_records_dropped = 5 + t.subtask;
    want += u.metrics.late_records_dropped;
    ASSERT_TRUE(jm_->UpdateTaskExecutionState(std::move(u)));
  }
  EXPECT_EQ(jm_->Summary().metrics.at("numLateRecordsDropped"), want);
  EXPECT_THAT(jm_->MetricsJson(),
              HasSubstr(R"({"id":"numLateRecordsDropped","value":")" + std::to_string(want)));
}

TEST_F(JobMasterTest, WaitsForSlotsAndSaysWhy) {
  slots_.slots.resize(1);
  Start(DagSpec());
  JobSummaryView s = jm_->Summary();
  EXPECT_EQ(s.state, JobStatus::kCreated);
  EXPECT_THAT(s.status_message, HasSubstr("waiting for resources: the job needs 2 slots"));
  EXPECT_TRUE(Submitted().empty());
  slots_.Give({Slot{"tm-1", "host1:1", gw1_}, Slot{"tm-2", "host2:2", gw2_}});
  ASSERT_TRUE(WaitUntil([&] { return Status() == JobStatus::kRunning; }));
  EXPECT_EQ(jm_->Summary().status_message, "");
  EXPECT_EQ(Submitted().size(), 7u);
}

TEST_F(JobMasterTest, TaskFailureRestartsEveryTaskFromTheLatestCompletedCheckpoint) {
  Start(CheckpointedSpec());
  ReportAll(ExecutionState::kRunning);
  ASSERT_TRUE(AwaitTriggers(1, 4)) << "sources were not triggered";
  for (const auto& t : gw1_->triggers()) EXPECT_EQ(t.trigger.kind, TriggerKind::kCheckpoint);
  AckAll(1);
  ASSERT_TRUE(WaitUntil([&] { return !gw1_->completed().empty() && !gw2_->completed().empty(); }));
  EXPECT_EQ(gw1_->completed().front(), 1);
  const JobId id = jm_->Summary().id;
  EXPECT_TRUE(std::filesystem::exists(dir_ / id.ToString() / "chk-1" / "_metadata"));

  const auto before = Current();
  const auto& failing = before[4];  // a subtask of the window vertex
  ASSERT_EQ(failing.vertex, 2);
  Report(failing.attempt_id, ExecutionState::kFailed, "boom: division by zero");
  EXPECT_EQ(Status(), JobStatus::kRestarting);
  // Every other task is cancelled; they confirm.
  EXPECT_EQ(gw1_->cancelled().size() + gw2_->cancelled().size(), 6u);
  for (const auto& t : before) {
    if (t.attempt_id != failing.attempt_id) Report(t.attempt_id, ExecutionState::kCanceled);
  }
  ASSERT_TRUE(WaitUntil([&] {
    jm_->Tick();
    return Submitted().size() == 14;
  })) << "no redeployment";
  EXPECT_EQ(Status(), JobStatus::kRunning);
  for (const auto& t : Current()) {
    EXPECT_EQ(t.attempt_number, 1);
    EXPECT_EQ(t.restored_checkpoint_id, 1);
    EXPECT_TRUE(t.restored_from_own_checkpoint);
    if (t.vertex == 2) {
      const auto* window = t.RestoredFor("window-3");
      ASSERT_NE(window, nullptr);
      EXPECT_EQ(window->operator_state, "state-window-3-" + std::to_string(t.subtask));
    }
  }
  JobSummaryView s = jm_->Summary();
  EXPECT_EQ(s.metrics.at("numRestarts"), 1);
  EXPECT_THAT(jm_->ExceptionsJson(), HasSubstr("boom: division by zero"));
  // A report of the replaced attempt changes nothing (fencing).
  Report(failing.attempt_id, ExecutionState::kRunning);
  Report(before[0].attempt_id, ExecutionState::kFailed, "late");
  EXPECT_EQ(Status(), JobStatus::kRunning);
}

TEST_F(JobMasterTest, ALostTaskManagerFailsItsTasksAndTheJobFailsOver) {
  Start(CheckpointedSpec());
  ReportAll(ExecutionState::kRunning);
  jm_->OnTaskManagerLost("tm-2", "TaskManager tm-2 lost: no heartbeat");
  JobDetailsView d = jm_->Details();
  EXPECT_EQ(d.summary.state, JobStatus::kRestarting);
  for (const auto& v : d.vertices) {
    for (const auto& s : v.subtasks) {
      if (s.taskmanager_id == "tm-2") {
        EXPECT_EQ(s.state, ExecutionState::kFailed);
        EXPECT_THAT(s.failure, HasSubstr("no heartbeat"));
      } else {
        EXPECT_EQ(s.state, ExecutionState::kCanceling);
      }
    }
  }
  EXPECT_EQ(gw2_->cancelled().size(), 0u);  // nothing is sent to the lost TaskManager
  EXPECT_EQ(gw1_->cancelled().size(), 4u);
  EXPECT_THAT(jm_->ExceptionsJson(), HasSubstr("no heartbeat"));
}

TEST_F(JobMasterTest, ADeclinedCheckpointIsAbortedAtEveryTask) {
  Start(CheckpointedSpec());
  ReportAll(ExecutionState::kRunning);
  ASSERT_TRUE(AwaitTriggers(1, 4));
  const auto tasks = Current();
  jm_->DeclineCheckpoint(tasks[2].attempt_id, 1, "disk full");
  ASSERT_TRUE(WaitUntil([&] { return gw1_->aborted().size() + gw2_->aborted().size() == 7; }));
  EXPECT_EQ(gw1_->aborted().front(), 1);
  const std::string stats = jm_->CheckpointsJson();
  EXPECT_THAT(stats, HasSubstr("\"failed\":1"));
  EXPECT_THAT(stats, HasSubstr("disk full"));
  EXPECT_EQ(Status(), JobStatus::kRunning);  // tolerable: the job keeps running
  // A decline from an attempt that is not running is fenced off.
  jm_->DeclineCheckpoint(ExecutionAttemptId::Random(), 2, "stale");
  EXPECT_THAT(jm_->CheckpointsJson(), HasSubstr("\"failed\":1"));
}

TEST_F(JobMasterTest, ProgressReportsOfACancelingTaskAreIgnoredAndItsEndCountsAsCanceled) {
  Start(DagSpec());  // no checkpointing: no restarts
  const auto tasks = Current();
  // One task fails while the others are still being deployed.
  Report(tasks[0].attempt_id, ExecutionState::kFailed, "sink path is a file");
  EXPECT_EQ(Status(), JobStatus::kFailing);
  EXPECT_EQ(Count(ExecutionState::kCanceling), 6);
  // A task that was starting reports INITIALIZING, then ends: no illegal transition, and its
  // end is CANCELED whatever it reports.
  EXPECT_TRUE(Report(tasks[1].attempt_id, ExecutionState::kInitializing));
  EXPECT_EQ(Count(ExecutionState::kCanceling), 6);
  Report(tasks[1].attempt_id, ExecutionState::kFailed, "cancelled");
  EXPECT_EQ(Count(ExecutionState::kCanceled), 1);
  for (size_t i = 2; i < tasks.size(); ++i) Report(tasks[i].attempt_id, ExecutionState::kCanceled);
  JobSummaryView s = jm_->Summary();
  EXPECT_EQ(s.state, JobStatus::kFailed);
  EXPECT_THAT(s.failure_cause, HasSubstr("sink path is a file"));
  EXPECT_FALSE(Report(ExecutionAttemptId::Random(), ExecutionState::kRunning));  // unknown attempt
}

TEST_F(JobMasterTest, CancelCancelsEveryTaskAndEndsCanceled) {
  Start(DagSpec());
  ReportAll(ExecutionState::kRunning);
  ASSERT_TRUE(jm_->Cancel().ok());
  EXPECT_EQ(Status(), JobStatus::kCancelling);
  EXPECT_EQ(gw1_->cancelled().size() + gw2_->cancelled().size(), 7u);
  ReportAll(ExecutionState::kCanceled);
  EXPECT_EQ(Status(), JobStatus::kCanceled);
  EXPECT_EQ(jm_->Cancel().code(), absl::StatusCode::kFailedPrecondition);
}

// FLIP-147: once every task consumed its input, the final checkpoint is triggered at all of
// them, and its completion lets them finish.
TEST_F(JobMasterTest, WhenEveryTaskDrainedTheFinalCheckpointGoesToAllOfThem) {
  Start(CheckpointedSpec("1 h"));
  ReportAll(ExecutionState::kRunning);
  auto tasks = Current();
  for (size_t i = 0; i + 1 < tasks.size(); ++i) {
    TaskStateUpdate u;
    u.attempt = tasks[i].attempt_id;
    u.end_of_input = true;
    jm_->UpdateTaskExecutionState(u);
  }
  auto finals = [&] {
    size_t n = 0;
    for (auto* gw : {gw1_.get(), gw2_.get()}) {
      for (const auto& t : gw->triggers()) n += t.trigger.kind == TriggerKind::kFinal;
    }
    return n;
  };
  jm_->Tick();
  jm_->Summary();  // the tick ran
  EXPECT_EQ(finals(), 0u);  // one task still has input
  TaskStateUpdate last;
  last.attempt = tasks.back().attempt_id;
  last.end_of_input = true;
  jm_->UpdateTaskExecutionState(last);
  ASSERT_TRUE(WaitUntil([&] {
    jm_->Tick();
    return finals() == 7;
  }));
  AckAll(1);
  ASSERT_TRUE(WaitUntil([&] { return gw1_->completed().size() + gw2_->completed().size() == 7; }));
  ReportAll(ExecutionState::kFinished);
  EXPECT_EQ(Status(), JobStatus::kFinished);
}

TEST_F(JobMasterTest, SavepointsNeedARunningCheckpointingJobAndADirectory) {
  Start(DagSpec());
  ReportAll(ExecutionState::kRunning);
  auto no_checkpointing = jm_->TriggerSavepoint("/tmp/sp", SavepointMode::kKeepRunning, false, "");
  EXPECT_EQ(no_checkpointing.status().code(), absl::StatusCode::kFailedPrecondition);
  jm_->Shutdown();
  jm_.reset();
  gw1_ = std::make_shared<FakeGateway>();
  gw2_ = std::make_shared<FakeGateway>();
  slots_.slots = {Slot{"tm-1", "host1:1", gw1_}, Slot{"tm-2", "host2:2", gw2_}};
  Start(CheckpointedSpec("1 h"));  // no periodic checkpoint gets in the savepoint's way
  ReportAll(ExecutionState::kRunning);
  EXPECT_EQ(jm_->TriggerSavepoint("", SavepointMode::kKeepRunning, false, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto trigger = jm_->TriggerSavepoint((dir_ / "savepoints").string(), SavepointMode::kKeepRunning, false, "");
  ASSERT_TRUE(trigger.ok()) << trigger.status();
  ASSERT_TRUE(WaitUntil([&] {
    jm_->Tick();
    for (const auto& t : gw1_->triggers()) {
      if (t.trigger.savepoint) return true;
    }
    return false;
  }));
  auto progress = jm_->GetSavepoint(*trigger);
  ASSERT_TRUE(progress.ok());
  EXPECT_EQ(progress->state, SavepointState::kInProgress);
  EXPECT_EQ(jm_->GetSavepoint("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobMasterTest, ManualCheckpointIsARetainedCheckpointNotASavepoint) {
  StartCheckpointedRunning();
  auto trigger = jm_->TriggerCheckpoint();
  ASSERT_TRUE(trigger.ok()) << trigger.status();
  ASSERT_TRUE(AwaitTriggers(1, 4));
  for (const auto& t : gw1_->triggers()) EXPECT_FALSE(t.trigger.savepoint);
  AckAll(1);
  ASSERT_TRUE(WaitUntil([&] {
    auto p = jm_->GetSavepoint(*trigger);
    return p.ok() && p->state == SavepointState::kCompleted;
  }));
  auto done = jm_->GetSavepoint(*trigger);
  EXPECT_EQ(done->checkpoint_id, 1);
  EXPECT_THAT(done->location, HasSubstr("chk-1"));
  EXPECT_THAT(jm_->CheckpointsJson(), HasSubstr("\"completed\":1"));
}

TEST_F(JobMasterTest, StopWithDrainEndsTheInputThenTakesTheFinalCheckpointAsTheSavepoint) {
  StartCheckpointedRunning();
  auto trigger =
      jm_->TriggerSavepoint((dir_ / "sp").string(), SavepointMode::kStopAndDrain, false, "");
  ASSERT_TRUE(trigger.ok()) << trigger.status();
  auto count = [&](TriggerKind kind, bool savepoint) {
    size_t n = 0;
    for (auto* gw : {gw1_.get(), gw2_.get()}) {
      for (const auto& t : gw->triggers()) n += t.trigger.kind == kind && t.trigger.savepoint == savepoint;
    }
    return n;
  };
  ASSERT_TRUE(WaitUntil([&] {
    jm_->Tick();
    return count(TriggerKind::kDrain, false) == 4;  // the sources' subtasks, no checkpoint yet
  }));
  EXPECT_EQ(count(TriggerKind::kStopWithSavepoint, true), 0u);
  EXPECT_EQ(jm_->TriggerCheckpoint().status().code(), absl::StatusCode::kFailedPrecondition);
  for (const auto& t : Current()) {  // the drained input reaches every task
    TaskStateUpdate u;
    u.attempt = t.attempt_id;
    u.end_of_input = true;
    jm_->UpdateTaskExecutionState(u);
  }
  ASSERT_TRUE(WaitUntil([&] {
    jm_->Tick();
    return count(TriggerKind::kFinal, true) == 7;  // the final checkpoint is the savepoint
  }));
  AckAll(1);
  ASSERT_TRUE(WaitUntil([&] {
    auto p = jm_->GetSavepoint(*trigger);
    return p.ok() && p->state == SavepointState::kCompleted;
  }));
  EXPECT_THAT(jm_->GetSavepoint(*trigger)->location, HasSubstr((dir_ / "sp").string()));
  ReportAll(ExecutionState::kFinished);
  EXPECT_EQ(Status(), JobStatus::kFinished);
}

TEST_F(JobMasterTest, SavepointWithCancelJobCancelsOnceTheSavepointCompleted) {
  StartCheckpointedRunning();
  auto trigger = jm_->TriggerSavepoint((dir_ / "sp").string(), SavepointMode::kCancel, false, "");
  ASSERT_TRUE(trigger.ok()) << trigger.status();
  ASSERT_TRUE(AwaitTriggers(1, 4));
  EXPECT_EQ(Status(), JobStatus::kRunning);
  AckAll(1);
  ASSERT_TRUE(WaitUntil([&] { return Status() == JobStatus::kCancelling; }));
  auto p = jm_->GetSavepoint(*trigger);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state, SavepointState::kCompleted);
  ReportAll(ExecutionState::kCanceled);
  EXPECT_EQ(Status(), JobStatus::kCanceled);
}

}  // namespace
}  // namespace sluice::jobmanager
