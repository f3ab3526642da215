// In-process tests of a Task (no sockets): a two-input operator gets each input's batches with
// its index and EndInput per input, watermarks combine over the channels of all input gates,
// barriers align across gates and a finished input does not block alignment (FLIP-147), side
// outputs of a chained operator reach their own edge, and a task cancelled before it started
// never reports INITIALIZING, and output is sent on as soon as a task goes idle.

#include "taskmanager/task.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/testing/wait_until.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/expr/expression.h"
#include "runtime/operators/basic_operators.h"

namespace sluice::taskmanager {
namespace {

using graph::ExecutionState;
using ::testing::ElementsAre;
using sluice::testing::WaitUntil;

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"v", core::Type::kInt64}});
}

core::RecordBatch Rows(std::vector<int64_t> values, int64_t ts = 1) {
  core::RecordBatch b(Schema());
  for (int64_t v : values) b.SetInt64(b.AppendRow(ts), 0, v);
  return b;
}

// What the operators under test saw, in order (they run on the task thread).
struct Recorder {
  std::mutex mu;
  std::vector<std::string> events;
  void Add(std::string e) {
    std::lock_guard lock(mu);
    events.push_back(std::move(e));
  }
  std::vector<std::string> Get() {
    std::lock_guard lock(mu);
    return events;
  }
};

// A sink with `inputs` logical inputs that records everything it is given.
class RecordingSink final : public api::Operator {
 public:
  explicit RecordingSink(std::shared_ptr<Recorder> rec) : rec_(std::move(rec)) {}
  core::SchemaPtr output_schema() const override { return Schema(); }
  absl::Status ProcessBatch(const core::RecordBatch& b, api::Output& out) override {
    return ProcessInput(0, b, out);
  }
  absl::Status ProcessInput(int input, const core::RecordBatch& b, api::Output&) override {
    rows_ += static_cast<int64_t>(b.num_rows());
    std::string values;
    for (size_t r = 0; r < b.num_rows(); ++r) values += (r ? "," : "") + std::to_string(b.GetInt64(r, 0));
    rec_->Add("in" + std::to_string(input) + ":" + values);
    return absl::OkStatus();
  }
  absl::Status ProcessWatermark(int64_t wm, api::Output& out) override {
    rec_->Add("wm:" + std::to_string(wm));
    return out.EmitWatermark(wm);
  }
  absl::Status EndInput(int input, api::Output&) override {
    rec_->Add("end" + std::to_string(input));
    return absl::OkStatus();
  }
  absl::Status Finish(api::Output&) override {
    rec_->Add("finish");
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> SnapshotState(int64_t id) override {
    rec_->Add("snap:" + std::to_string(id));
    return "rows=" + std::to_string(rows_);
  }

 private:
  std::shared_ptr<Recorder> rec_;
  int64_t rows_ = 0;
};

// A recording sink that asks for a processing-time callback 30 ms after each batch.
class TimerSink final : public api::Operator {
 public:
  explicit TimerSink(std::shared_ptr<Recorder> rec) : rec_(std::move(rec)) {}
  core::SchemaPtr output_schema() const override { return Schema(); }
  absl::Status ProcessBatch(const core::RecordBatch& b, api::Output& out) override {
    return ProcessInput(0, b, out);
  }
  absl::Status ProcessInput(int, const core::RecordBatch& b, api::Output&) override {
    rec_->Add("rows:" + std::to_string(b.num_rows()));
    next_ = NowMillis() + 30;
    return absl::OkStatus();
  }
  std::optional<int64_t> NextProcessingTime() const override { return next_; }
  absl::Status OnProcessingTime(int64_t now, api::Output&) override {
    rec_->Add(now >= *next_ ? "timer" : "early timer");
    next_.reset();
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<Recorder> rec_;
  std::optional<int64_t> next_;
};

// Emits one batch, then ends.
class OneBatchSource final : public api::Source {
 public:
  explicit OneBatchSource(std::vector<int64_t> values) : values_(std::move(values)) {}
  core::SchemaPtr output_schema() const override { return Schema(); }
  absl::Status Open(const api::OperatorContext&) override { return absl::OkStatus(); }
  absl::StatusOr<bool> PollNext(api::Output& out) override {
    RETURN_IF_ERROR(out.Emit(Rows(values_)));
    RETURN_IF_ERROR(out.EmitWatermark(api::kMaxWatermark));
    return false;
  }

 private:
  std::vector<int64_t> values_;
};

// Node "Source: s" (uid s) of a stream graph, its instances made by `make`.
graph::StreamNode SourceNode(std::function<std::unique_ptr<api::Source>()> make) {
  graph::StreamNode src;
  src.name = "Source: s";
  src.uid = "s";
  src.num_inputs = 0;
  src.output_schema = Schema();
  src.source = [make = std::move(make)] {
    return absl::StatusOr<std::unique_ptr<api::Source>>(make());
  };
  return src;
}

class FakeEnv final : public TaskEnvironment {
 public:
  void RegisterInputGate(const ExecutionAttemptId&, std::shared_ptr<network::InputGate> g) override {
    gate = std::move(g);
  }
  void UnregisterInputGate(const ExecutionAttemptId&) override {}
  std::unique_ptr<network::OutputChannel> CreateOutputChannel(const JobId&,
                                                              const deployment::ConsumerLocation& c,
                                                              int gate_index, int subtask) override {
    return std::make_unique<network::LocalOutputChannel>(
        consumer_gates.at(c.subtask), consumer_gates.at(c.subtask)->ChannelIndex(gate_index, subtask),
        100);
  }
  void ReportState(const deployment::TaskDeploymentDescriptor&, ExecutionState state,
                   const absl::Status& failure, const TaskMetricsSnapshot&) override {
    std::lock_guard lock(mu);
    states.push_back(state);
    if (!failure.ok()) this->failure = std::string(failure.message());
  }
  std::string location() const override { return "local:1"; }
  void AcknowledgeCheckpoint(const deployment::TaskDeploymentDescriptor&, const CheckpointAck& ack) override {
    std::lock_guard lock(mu);
    acks.push_back(ack);
  }
  void DeclineCheckpoint(const deployment::TaskDeploymentDescriptor&, int64_t id,
                         const std::string& reason) override {
    std::lock_guard lock(mu);
    declines.push_back(std::to_string(id) + ": " + reason);
  }
  void ReportEndOfInput(const deployment::TaskDeploymentDescriptor&, const TaskMetricsSnapshot&) override {
    std::lock_guard lock(mu);
    end_of_input = true;
  }

  template <typename F>
  auto Locked(F&& f) {
    std::lock_guard lock(mu);
    return f();
  }

  std::shared_ptr<network::InputGate> gate;
  std::map<int, std::shared_ptr<network::InputGate>> consumer_gates;  // by consumer subtask
  std::mutex mu;
  std::vector<ExecutionState> states;
  std::string failure;
  std::vector<CheckpointAck> acks;
  std::vector<std::string> declines;
  bool end_of_input = false;
};

// Source a (parallelism 1) and source b (parallelism 2) feed inputs 0 and 1 of a two-input
// recording sink: the sink's task has input gate 0 with one channel and gate 1 with two.
std::shared_ptr<const graph::JobGraph> TwoInputGraph(std::shared_ptr<Recorder> rec,
                                                     bool timer_sink = false) {
  graph::StreamGraph g;
  g.name = "two-inputs";
  for (auto [name, p] : {std::pair{"a", 1}, std::pair{"b", 2}}) {
    graph::StreamNode s;
    s.name = std::string("Source: ") + name;
    s.uid = name;
    s.parallelism = p;
    s.num_inputs = 0;
    s.output_schema = Schema();
    s.source = [] { return absl::StatusOr<std::unique_ptr<api::Source>>(nullptr); };
    g.AddNode(std::move(s));
  }
  graph::StreamNode join;
  join.name = "Join";
  join.uid = "join";
  join.parallelism = 1;
  join.num_inputs = 2;
  join.sink = true;
  join.output_schema = Schema();
  join.op = [rec, timer_sink]() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
    if (timer_sink) return std::unique_ptr<api::Operator>(std::make_unique<TimerSink>(rec));
    return std::unique_ptr<api::Operator>(std::make_unique<RecordingSink>(rec));
  };
  const int j = g.AddNode(std::move(join));
  g.AddEdge({0, 0, j, 0, graph::PartitionerKind::kRebalance, {}});
  g.AddEdge({1, 0, j, 1, graph::PartitionerKind::kRebalance, {}});
  auto built = graph::BuildJobGraph(g, 1, 128, graph::JobConfig{});
  EXPECT_TRUE(built.ok()) << built.status();
  return std::make_shared<const graph::JobGraph>(std::move(*built));
}

deployment::TaskDeploymentDescriptor Deployment(int vertex, std::string checkpoint_dir = "") {
  deployment::TaskDeploymentDescriptor tdd;
  tdd.job_id = JobId::Random();
  tdd.attempt_id = ExecutionAttemptId::Random();
  tdd.vertex = vertex;
  tdd.checkpoint_dir = std::move(checkpoint_dir);
  tdd.buffer_timeout_ms = 0;
  return tdd;
}

// Producer side of the task's input channels: (gate, producer subtask).
class Producers {
 public:
  explicit Producers(std::shared_ptr<network::InputGate> gate) : gate_(std::move(gate)) {}
  void Send(int gate, int subtask, network::NetworkEvent ev) {
    auto& ch = channels_[{gate, subtask}];
    if (!ch) {
      ch = std::make_unique<network::LocalOutputChannel>(gate_, gate_->ChannelIndex(gate, subtask), 100);
    }
    ASSERT_TRUE(ch->Send(std::move(ev)).ok());
  }
  void Batch(int gate, int subtask, std::vector<int64_t> values) {
    network::NetworkEvent ev;
    Rows(std::move(values)).SerializeTo(&ev.buffer);
    Send(gate, subtask, std::move(ev));
  }
  void Watermark(int gate, int subtask, int64_t wm) {
    network::NetworkEvent ev;
    ev.kind = network::NetworkEvent::Kind::kWatermark;
    ev.watermark = wm;
    Send(gate, subtask, std::move(ev));
  }
  void Barrier(int gate, int subtask, int64_t id) {
    network::NetworkEvent ev;
    ev.kind = network::NetworkEvent::Kind::kBarrier;
    ev.checkpoint_id = id;
    Send(gate, subtask, std::move(ev));
  }
  void End(int gate, int subtask) {
    network::NetworkEvent ev;
    ev.kind = network::NetworkEvent::Kind::kEndOfPartition;
    Send(gate, subtask, std::move(ev));
  }

 private:
  std::shared_ptr<network::InputGate> gate_;
  std::map<std::pair<int, int>, std::unique_ptr<network::OutputChannel>> channels_;
};

bool Reported(FakeEnv& env, ExecutionState s) {
  return env.Locked([&] { return std::count(env.states.begin(), env.states.end(), s) > 0; });
}

TEST(Task, EachInputReachesItsIndexAndEndsOnItsOwn) {
  auto rec = std::make_shared<Recorder>();
  auto graph = TwoInputGraph(rec);
  FakeEnv env;
  Task task(Deployment(2), graph, &env);
  ASSERT_NE(env.gate, nullptr);
  EXPECT_EQ(env.gate->num_gates(), 2);
  EXPECT_EQ(env.gate->num_channels(), 3);
  task.Start();
  Producers in(env.gate);
  in.Batch(0, 0, {1, 2});
  in.Batch(1, 1, {7});
  in.Watermark(0, 0, 100);
  in.Watermark(1, 0, 50);
  in.Watermark(1, 1, 70);  // every channel has one now: min = 50
  in.End(0, 0);            // input 0 ends; event time stays at 50
  in.End(1, 0);            // 70 is the minimum now
  in.End(1, 1);            // input 1 ends: end of event time
  ASSERT_TRUE(WaitUntil([&] { return task.done(); }));
  EXPECT_THAT(rec->Get(), ElementsAre("in0:1,2", "in1:7", "wm:50", "end0", "wm:70",
                                      "wm:" + std::to_string(api::kMaxWatermark), "end1", "finish"));
  EXPECT_THAT(env.states, ElementsAre(ExecutionState::kInitializing, ExecutionState::kRunning,
                                      ExecutionState::kFinished));
}

TEST(Task, BarriersAlignAcrossAllGatesAndAFinishedInputDoesNotBlock) {
  const auto dir = std::filesystem::temp_directory_path() / ("sluice-task-test-" + Id128::Random().ToString());
  auto rec = std::make_shared<Recorder>();
  auto graph = TwoInputGraph(rec);
  FakeEnv env;
  Task task(Deployment(2, dir.string()), graph, &env);
  task.Start();
  Producers in(env.gate);
  in.End(1, 1);         // one channel of input 1 finished early (FLIP-147)
  in.Batch(0, 0, {1});
  in.Barrier(0, 0, 1);
  in.Batch(0, 0, {5, 5, 5});  // after the barrier: held until every channel delivered it
  in.Batch(1, 0, {2, 2});
  ASSERT_TRUE(WaitUntil([&] { return rec->Get().size() >= 2; }));
  in.Barrier(1, 0, 1);  // the last open channel: aligned
  ASSERT_TRUE(WaitUntil([&] { return env.Locked([&] { return env.acks.size() == 1; }); }));
  auto handle = checkpoint::DecodeSubtaskStateHandle(env.Locked([&] { return env.acks[0].state_handle; }));
  ASSERT_TRUE(handle.ok()) << handle.status();
  ASSERT_EQ(handle->operators.size(), 1u);
  EXPECT_EQ(handle->operators[0].operator_uid, "join");
  EXPECT_EQ(handle->operators[0].operator_state, "rows=3");  // exactly what came before the barriers
  ASSERT_TRUE(WaitUntil([&] { return rec->Get().size() >= 4; }));
  EXPECT_THAT(rec->Get(), ElementsAre("in0:1", "in1:2,2", "snap:1", "in0:5,5,5"));
  // End of input: the task waits, RUNNING, for the final checkpoint and finishes when it completes.
  in.End(0, 0);
  in.End(1, 0);
  ASSERT_TRUE(WaitUntil([&] { return env.Locked([&] { return env.end_of_input; }); }));
  EXPECT_FALSE(task.done());
  task.Post(TriggerCheckpointMail{2, 0, {}, TriggerReason::kFinal});
  ASSERT_TRUE(WaitUntil([&] { return env.Locked([&] { return env.acks.size() == 2; }); }));
  EXPECT_FALSE(task.done());
  task.Post(CheckpointCompleteMail{2});
  ASSERT_TRUE(WaitUntil([&] { return task.done(); }));
  EXPECT_TRUE(Reported(env, ExecutionState::kFinished));
  std::filesystem::remove_all(dir);
}

// A processing-time timer fires while the task waits for input that does not come.
TEST(Task, ProcessingTimeTimersFireWhileTheTaskWaitsForInput) {
  auto rec = std::make_shared<Recorder>();
  FakeEnv env;
  Task task(Deployment(2), TwoInputGraph(rec, /*timer_sink=*/true), &env);
  task.Start();
  Producers in(env.gate);
  in.Batch(0, 0, {1, 2});
  ASSERT_TRUE(WaitUntil([&] { return rec->Get().size() == 2; }));
  in.Batch(1, 0, {3});
  ASSERT_TRUE(WaitUntil([&] { return rec->Get().size() == 4; }));
  in.End(0, 0);
  in.End(1, 0);
  in.End(1, 1);
  ASSERT_TRUE(WaitUntil([&] { return task.done(); }));
  EXPECT_THAT(rec->Get(), ElementsAre("rows:2", "timer", "rows:1", "timer"));
}

TEST(Task, ATaskCancelledBeforeItStartedNeverReportsInitializing) {
  auto rec = std::make_shared<Recorder>();
  FakeEnv env;
  Task task(Deployment(2), TwoInputGraph(rec), &env);
  task.Cancel();
  task.Start();
  ASSERT_TRUE(WaitUntil([&] { return task.done(); }));
  EXPECT_THAT(env.states, ElementsAre(ExecutionState::kCanceled));
  EXPECT_TRUE(rec->Get().empty());
}

TEST(Task, CancellingARunningTaskEndsItCanceled) {
  auto rec = std::make_shared<Recorder>();
  FakeEnv env;
  Task task(Deployment(2), TwoInputGraph(rec), &env);
  task.Start();
  ASSERT_TRUE(WaitUntil([&] { return Reported(env, ExecutionState::kRunning); }));
  task.Cancel();  // it waits for input: the cancellation wakes it
  ASSERT_TRUE(WaitUntil([&] { return task.done(); }));
  EXPECT_EQ(env.Locked([&] { return env.states.back(); }), ExecutionState::kCanceled);
  EXPECT_FALSE(Reported(env, ExecutionState::kFailed));
}

// Source -> Filter (rows it drops to side output 1) -> chained recording sink; the side output
// leaves over a job edge to another vertex.
TEST(Task, SideOutputOfAChainedOperatorReachesItsOwnEdge) {
  auto rec = std::make_shared<Recorder>();
  graph::StreamGraph g;
  const int s = g.AddNode(SourceNode([] {
    return std::make_unique<OneBatchSource>(std::vector<int64_t>{1, 5, 2, 8});
  }));
  graph::StreamNode filter;
  filter.name = "Filter";
  filter.uid = "filter";
  filter.output_schema = Schema();
  filter.side_output_schemas = {Schema()};
  filter.op = []() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
    ASSIGN_OR_RETURN(auto e, expr::Expression::Compile("v > 3", *Schema()));
    return std::unique_ptr<api::Operator>(std::make_unique<operators::FilterOperator>(Schema(), std::move(e), true));
  };
  const int f = g.AddNode(std::move(filter));
  graph::StreamNode sink;
  sink.name = "Sink: main";
  sink.uid = "main";
  sink.sink = true;
  sink.output_schema = Schema();
  sink.op = [rec]() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
    return std::unique_ptr<api::Operator>(std::make_unique<RecordingSink>(rec));
  };
  const int k = g.AddNode(std::move(sink));
  graph::StreamNode other = g.nodes[static_cast<size_t>(k)];
  other.name = "Sink: dropped";
  other.uid = "dropped";
  const int d = g.AddNode(std::move(other));
  g.AddEdge({s, 0, f, 0, graph::PartitionerKind::kForward, {}});
  g.AddEdge({f, 0, k, 0, graph::PartitionerKind::kForward, {}});
  g.AddEdge({f, 1, d, 0, graph::PartitionerKind::kRebalance, {}});
  auto built = graph::BuildJobGraph(g, 1, 128, graph::JobConfig{});
  ASSERT_TRUE(built.ok()) << built.status();
  auto graph = std::make_shared<const graph::JobGraph>(std::move(*built));
  ASSERT_EQ(graph->vertices.size(), 2u);
  ASSERT_EQ(graph->vertices[0].name, "Source: s -> Filter -> Sink: main");

  FakeEnv env;
  auto consumer = std::make_shared<network::InputGate>(std::vector<int>{1});
  env.consumer_gates[0] = consumer;
  auto tdd = Deployment(0);
  tdd.outputs = {{deployment::ConsumerLocation{0, ExecutionAttemptId::Random(), "local:1"}}};
  Task task(std::move(tdd), graph, &env);
  task.Start();
  ASSERT_TRUE(WaitUntil([&] { return task.done(); }));
  EXPECT_EQ(env.Locked([&] { return env.states.back(); }), ExecutionState::kFinished) << env.failure;
  EXPECT_EQ(rec->Get().front(), "in0:5,8");
  std::vector<int64_t> dropped;
  for (;;) {
    auto ev = consumer->Next(0);
    ASSERT_TRUE(ev.ok());
    if (!ev->has_value()) break;
    if ((*ev)->kind != network::NetworkEvent::Kind::kBuffer) continue;
    ASSERT_NE((*ev)->batch, nullptr);  // a local channel: the batch itself
    const core::RecordBatch& b = *(*ev)->batch;
    for (size_t r = 0; r < b.num_rows(); ++r) dropped.push_back(b.GetInt64(r, 0));
  }
  EXPECT_THAT(dropped, ElementsAre(1, 2));
}

// Emits the batches of `script` one per poll, saying after each whether more input is ready at
// once; then polls empty until `end` is set, and ends.
class ScriptedSource final : public api::Source {
 public:
  struct Step {
    std::vector<int64_t> values;
    bool more_available;
  };
  ScriptedSource(std::vector<Step> script, std::shared_ptr<std::atomic<bool>> end)
      : script_(std::move(script)), end_(std::move(end)) {}
  core::SchemaPtr output_schema() const override { return Schema(); }
  absl::Status Open(const api::OperatorContext&) override { return absl::OkStatus(); }
  absl::StatusOr<bool> PollNext(api::Output& out) override {
    if (next_ < script_.size()) {
      RETURN_IF_ERROR(out.Emit(Rows(script_[next_].values)));
      ++next_;
      return true;
    }
    if (!end_->load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // no input yet
      return true;
    }
    RETURN_IF_ERROR(out.EmitWatermark(api::kMaxWatermark));
    return false;
  }
  bool MoreAvailable() const override {
    return next_ > 0 && next_ <= script_.size() && script_[next_ - 1].more_available;
  }

 private:
  std::vector<Step> script_;
  size_t next_ = 0;
  std::shared_ptr<std::atomic<bool>> end_;
};

// The rows of the next data buffer on `gate`'s channel 0, waiting up to 10 s; empty if none came.
std::vector<int64_t> NextBufferRows(network::InputGate& gate) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = gate.Next(20);
    if (!ev.ok() || !ev->has_value() || (*ev)->kind != network::NetworkEvent::Kind::kBuffer) continue;
    std::vector<int64_t> rows;
    const core::RecordBatch& b = *(*ev)->batch;
    for (size_t r = 0; r < b.num_rows(); ++r) rows.push_back(b.GetInt64(r, 0));
    return rows;
  }
  return {};
}

// `first` (a source, or an operator fed by vertex 0's source) -> rebalance -> a recording sink:
// the task under test is the vertex before the rebalance, its output a gate the test reads.
std::shared_ptr<const graph::JobGraph> ToSinkGraph(std::function<std::unique_ptr<api::Source>()> source,
                                                   bool through_filter) {
  graph::StreamGraph g;
  int last = g.AddNode(SourceNode(std::move(source)));
  if (through_filter) {
    graph::StreamNode filter;
    filter.name = "Filter";
    filter.uid = "filter";
    filter.output_schema = Schema();
    filter.op = []() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
      ASSIGN_OR_RETURN(auto e, expr::Expression::Compile("v >= 0", *Schema()));
      return std::unique_ptr<api::Operator>(std::make_unique<operators::FilterOperator>(Schema(), std::move(e), false));
    };
    const int f = g.AddNode(std::move(filter));
    g.AddEdge({last, 0, f, 0, graph::PartitionerKind::kRebalance, {}});
    last = f;
  }
  graph::StreamNode sink;
  sink.name = "Sink: s";
  sink.uid = "sink";
  sink.sink = true;
  sink.output_schema = Schema();
  sink.op = []() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
    return std::unique_ptr<api::Operator>(std::make_unique<RecordingSink>(std::make_shared<Recorder>()));
  };
  const int k = g.AddNode(std::move(sink));
  g.AddEdge({last, 0, k, 0, graph::PartitionerKind::kRebalance, {}});
  auto built = graph::BuildJobGraph(g, 1, 128, graph::JobConfig{});
  EXPECT_TRUE(built.ok()) << built.status();
  return std::make_shared<const graph::JobGraph>(std::move(*built));
}

// Deployment of `vertex` whose output goes to `consumer`, with a buffer timeout of an hour: any
// output that arrives within the test's deadline was sent because the task went idle.
deployment::TaskDeploymentDescriptor HourTimeoutDeployment(int vertex, FakeEnv& env,
                                                           std::shared_ptr<network::InputGate> consumer) {
  env.consumer_gates[0] = std::move(consumer);
  auto tdd = Deployment(vertex);
  tdd.buffer_timeout_ms = 3'600'000;
  tdd.outputs = {{deployment::ConsumerLocation{0, ExecutionAttemptId::Random(), "local:1"}}};
  return tdd;
}

// Issue 15: a source that waits for input sends what it emitted on at once, and one that has
// more ready keeps filling the buffer (one buffer for three polls).
TEST(Task, ASourceWaitingForInputSendsItsBufferedOutputAtOnce) {
  auto end = std::make_shared<std::atomic<bool>>(false);
  auto graph = ToSinkGraph([end] {
    return std::make_unique<ScriptedSource>(
        std::vector<ScriptedSource::Step>{{{1}, true}, {{2}, true}, {{3}, false}, {{4}, false}}, end);
  }, /*through_filter=*/false);
  FakeEnv env;
  auto consumer = std::make_shared<network::InputGate>(std::vector<int>{1});
  Task task(HourTimeoutDeployment(0, env, consumer), graph, &env);
  task.Start();
  EXPECT_THAT(NextBufferRows(*consumer), ElementsAre(1, 2, 3));
  EXPECT_THAT(NextBufferRows(*consumer), ElementsAre(4));
  end->store(true);
  ASSERT_TRUE(WaitUntil([&] { return task.done(); }));
  EXPECT_EQ(env.Locked([&] { return env.states.back(); }), ExecutionState::kFinished) << env.failure;
}

// Issue 15: a task whose input ran dry sends its buffered output on instead of holding it for
// the buffer timeout.
TEST(Task, AnIdleTaskSendsItsBufferedOutputAtOnce) {
  auto graph = ToSinkGraph([] { return nullptr; }, /*through_filter=*/true);
  FakeEnv env;
  auto consumer = std::make_shared<network::InputGate>(std::vector<int>{1});
  Task task(HourTimeoutDeployment(1, env, consumer), graph, &env);
  task.Start();
  Producers in(env.gate);
  in.Batch(0, 0, {7, 8});
  EXPECT_THAT(NextBufferRows(*consumer), ElementsAre(7, 8));
  in.Batch(0, 0, {9});
  EXPECT_THAT(NextBufferRows(*consumer), ElementsAre(9));
  in.End(0, 0);
  ASSERT_TRUE(WaitUntil([&] { return task.done(); }));
}

}  // namespace
}  // namespace sluice::taskmanager
