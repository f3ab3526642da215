#include "taskmanager/task.h"

#include <algorithm>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"
#include "taskmanager/input_processor.h"
#include "runtime/base/thread_name.h"

namespace sluice::taskmanager {

using graph::ExecutionState;

namespace {
std::shared_ptr<network::InputGate> MakeGate(const graph::JobGraph& g, const graph::JobVertex& v) {
  std::vector<int> channels;
  for (int e : v.inputs) channels.push_back(g.vertex(g.edge(e).source).parallelism);
  return std::make_shared<network::InputGate>(std::move(channels));
}
}  // namespace

Task::Task(deployment::TaskDeploymentDescriptor tdd, std::shared_ptr<const graph::JobGraph> graph,
           TaskEnvironment* env)
    : tdd_(std::move(tdd)),
      graph_(std::move(graph)),
      vertex_(graph_->vertex(tdd_.vertex)),
      env_(env),
      name_(fmt::format("{} ({}/{})#{}", vertex_.name, tdd_.subtask + 1, vertex_.parallelism,
                        tdd_.attempt_number)),
      gate_(MakeGate(*graph_, vertex_)),
      mailbox_(gate_) {
  // Sized before the thread starts: Metrics() reads them from other threads.
  for (size_t i = 0; i < vertex_.operators.size(); ++i) {
    op_metrics_.push_back(std::make_unique<api::OperatorMetrics>());
  }
  if (!vertex_.is_source()) env_->RegisterInputGate(tdd_.attempt_id, gate_);
}

Task::~Task() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

void Task::Start() { thread_ = std::thread([this] { Run(); }); }

void Task::Cancel() {
  if (cancelled_.exchange(true)) return;
  {
    std::lock_guard lock(state_mu_);
    // Not reported: the JobManager moved the execution to CANCELING itself.
    if (!graph::IsTerminal(state_.state())) (void)state_.TransitionTo(ExecutionState::kCanceling);
  }
  gate_->Cancel();
  std::lock_guard lock(chain_mu_);
  if (chain_) chain_->CancelWriters();
}

bool Task::Transition(ExecutionState to, const absl::Status& failure) {
  ExecutionState from;
  {
    std::lock_guard lock(state_mu_);
    from = state_.state();
    if (from == to) return true;
    if (absl::Status s = state_.TransitionTo(to); !s.ok()) return false;
  }
  spdlog::info("{} ({}) switched from {} to {}.{}", name_, tdd_.attempt_id.ToString(),
               graph::Name(from), graph::Name(to),
               failure.ok() ? "" : " Cause: " + std::string(failure.message()));
  env_->ReportState(tdd_, to, failure, Metrics());
  return true;
}

void Task::Run() {
  SetCurrentThreadName(fmt::format("{}/{} {}", tdd_.subtask + 1, vertex_.parallelism, vertex_.name));
  network::SetThreadTaskIoMetrics(&io_metrics_);
  absl::Status s;
  if (Transition(ExecutionState::kInitializing)) {
    s = Execute();
  } else {
    s = absl::CancelledError("cancelled before it started");  // CANCELING already
  }
  if (!vertex_.is_source()) env_->UnregisterInputGate(tdd_.attempt_id);
  // Acknowledgements still being uploaded go out before the final state.
  if (checkpoints_) checkpoints_->WaitForUploads();
  bool canceling;
  {
    std::lock_guard lock(state_mu_);
    canceling = state_.state() == ExecutionState::kCanceling;
  }
  if (canceling) {
    Transition(ExecutionState::kCanceled);
  } else if (s.ok()) {
    Transition(ExecutionState::kFinished);
  } else {
    Transition(ExecutionState::kFailed, s);
  }
  done_ = true;
}

absl::Status Task::Execute() {
  checkpoints_ = std::make_unique<SubtaskCheckpointCoordinator>(
      tdd_, env_, name_, graph_->config.state_backend.incremental);
  OperatorChain::Options options;
  options.subtask = tdd_.subtask;
  options.buffer_timeout_ms = tdd_.buffer_timeout_ms;
  options.task_metrics = &task_metrics_;
  for (const auto& consumers : tdd_.outputs) {
    options.consumer_counts.push_back(static_cast<int>(consumers.size()));
  }
  auto channels = [this](int output, int subtask) {
    const size_t o = static_cast<size_t>(output);
    return env_->CreateOutputChannel(tdd_.job_id, tdd_.outputs[o][static_cast<size_t>(subtask)],
                                     graph_->edge(vertex_.outputs[o]).target_gate, tdd_.subtask);
  };
  ASSIGN_OR_RETURN(auto chain, OperatorChain::Create(*graph_, vertex_, options, channels));
  {
    std::lock_guard lock(chain_mu_);
    chain_ = std::move(chain);
    if (cancelled_.load()) chain_->CancelWriters();
  }
  // State first (keyed backends restored), then contexts and Open, then the source.
  StreamTaskStateInitializer init(tdd_, *graph_, name_);
  std::vector<api::OperatorContext> contexts;
  absl::Status s;
  for (size_t i = 0; s.ok() && i < vertex_.operators.size(); ++i) {
    const graph::ChainedOperator& op = vertex_.operators[i];
    absl::StatusOr<OperatorState> st = init.Initialize(op);
    if (!st.ok()) {
      s = st.status();
      break;
    }
    states_.push_back(std::move(*st));
    contexts.push_back(init.Context(op.name, op.uid, op_metrics_[i].get(), states_.back().backend.get()));
  }
  if (s.ok()) s = chain_->Open(contexts);
  if (s.ok() && vertex_.source) {
    auto created = vertex_.source->factory();
    if (!created.ok()) {
      s = created.status();
    } else {
      source_ = std::move(*created);
      s = source_->Open(init.Context(vertex_.source->name, vertex_.source->uid, &source_metrics_, nullptr));
      if (s.ok()) {
        std::lock_guard lock(event_mu_);
        event_target_ = source_.get();
      }
    }
  }
  checkpoints_->Bind(source_.get(), vertex_.source ? vertex_.source->uid : "", chain_->operators(),
                     &states_);
  if (s.ok()) s = Transition(ExecutionState::kRunning) ? Invoke() : absl::CancelledError("cancelled");
  {
    std::lock_guard lock(event_mu_);
    event_target_ = nullptr;
  }
  if (source_) source_->Close();
  chain_->Close();
  if (!s.ok()) chain_->CancelWriters();
  return s;
}

absl::Status Task::Invoke() {
  invoke_start_ns_.store(SteadyNanos(), std::memory_order_relaxed);
  RETURN_IF_ERROR(source_ ? RunSource() : RunInput());
  // The final values of the gauges, also for a task that ran less than a refresh interval.
  next_state_metrics_ms_ = 0;
  MaybeUpdateStateMetrics(MonotonicMillis());
  // A stop with savepoint ends the input without draining: no end-of-input flush (windows keep
  // their contents in the savepoint), and the savepoint is this task's final checkpoint.
  if (drain_) RETURN_IF_ERROR(chain_->Finish());
  if (!drain_ && final_checkpoint_id_ == 0) final_checkpoint_id_ = checkpoints_->last_checkpoint_id();
  RETURN_IF_ERROR(chain_->FinishWriters(drain_));
  if (!tdd_.checkpoint_dir.empty()) RETURN_IF_ERROR(AwaitFinalCheckpoint());
  return absl::OkStatus();
}

absl::Status Task::RunSource() {
  for (;;) {
    // Mail first: a checkpoint is taken between two PollNext calls.
    RETURN_IF_ERROR(ProcessMail());
    if (cancelled_.load()) return absl::CancelledError("task cancelled");
    if (stop_requested_) {
      drain_ = drain_on_stop_;
      return absl::OkStatus();
    }
    // A poll that produced nothing waited for data: Flink counts a source's wait as idle.
    const int64_t before_ns = SteadyNanos();
    const int64_t before_records = source_metrics_.records_out.load(std::memory_order_relaxed);
    ASSIGN_OR_RETURN(bool more, source_->PollNext(chain_->source_output()));
    if (source_metrics_.records_out.load(std::memory_order_relaxed) == before_records) {
      io_metrics_.idle_ns.fetch_add(SteadyNanos() - before_ns, std::memory_order_relaxed);
    }
    const int64_t now = MonotonicMillis();
    // The source may wait for input in its next poll: send what it emitted on first.
    if (!source_->MoreAvailable() && chain_->HasPendingOutput()) {
      RETURN_IF_ERROR(chain_->Flush());
    } else {
      RETURN_IF_ERROR(chain_->FlushIfDue(now));
    }
    MaybeUpdateStateMetrics(now);
    if (!more) return absl::OkStatus();
  }
}

absl::Status Task::RunInput() {
  StreamInputProcessor input(*graph_, vertex_, *gate_, *chain_, &task_metrics_,
                             [this](int64_t id, int64_t alignment_ms, CheckpointOptions options) {
                               return TakeCheckpoint(id, alignment_ms, options);
                             });
  while (!input.finished()) {
    RETURN_IF_ERROR(ProcessMail());
    // Wait for input at most until the next buffer flush or processing-time timer.
    int64_t wait = chain_->MillisUntilFlush(MonotonicMillis());
    const int64_t timer_wait = chain_->MillisUntilProcessingTime(NowMillis());
    if (timer_wait >= 0) wait = wait < 0 ? timer_wait : std::min(wait, timer_wait);
    // With output waiting in a buffer, only take input that is already there: when none is,
    // the task is idle and sends the output on instead of holding it for the buffer timeout.
    const bool pending = chain_->HasPendingOutput();
    ASSIGN_OR_RETURN(const bool got_input, input.ProcessAvailable(pending ? 0 : wait));
    if (timer_wait >= 0) RETURN_IF_ERROR(chain_->FireProcessingTimers(NowMillis()));
    const int64_t now = MonotonicMillis();
    if (pending && !got_input) {
      RETURN_IF_ERROR(chain_->Flush());
    } else {
      RETURN_IF_ERROR(chain_->FlushIfDue(now));
    }
    MaybeUpdateStateMetrics(now);
  }
  drain_ = input.drain();
  return absl::OkStatus();
}

absl::Status Task::ProcessMail() {
  while (auto mail = mailbox_.TryTake()) RETURN_IF_ERROR(HandleMail(*mail));
  return absl::OkStatus();
}

absl::Status Task::HandleMail(const Mail& mail) {
  if (const auto* t = std::get_if<TriggerCheckpointMail>(&mail)) {
    switch (t->reason) {
      case TriggerReason::kCheckpoint:
        return TakeCheckpoint(t->checkpoint_id, 0, t->options);
      case TriggerReason::kStopWithSavepoint:
        RETURN_IF_ERROR(TakeCheckpoint(t->checkpoint_id, 0,
                                       CheckpointOptions{/*savepoint=*/true, t->options.native}));
        if (source_) {
          stop_requested_ = true;
          final_checkpoint_id_ = t->checkpoint_id;
        }
        return absl::OkStatus();
      case TriggerReason::kFinal:
        final_checkpoint_id_ = t->checkpoint_id;
        return TakeCheckpoint(t->checkpoint_id, 0, t->options);
      case TriggerReason::kDrain:
        if (source_) {
          stop_requested_ = true;
          drain_on_stop_ = true;
        }
        return absl::OkStatus();
    }
  }
  if (const auto* c = std::get_if<CheckpointCompleteMail>(&mail)) {
    return checkpoints_->NotifyComplete(c->checkpoint_id);
  }
  if (const auto* a = std::get_if<CheckpointAbortedMail>(&mail)) {
    checkpoints_->NotifyAborted(a->checkpoint_id);
  }
  return absl::OkStatus();
}

absl::Status Task::TakeCheckpoint(int64_t checkpoint_id, int64_t alignment_ms,
                                  CheckpointOptions options) {
  return checkpoints_->Checkpoint(checkpoint_id, alignment_ms, options, [&] {
    return chain_->BroadcastBarrier(checkpoint_id, options.savepoint, options.native);
  });
}

// After end of input, a checkpointing task stays RUNNING until the final checkpoint (taken by
// every task once all have drained) completes, so two-phase-commit sinks commit everything.
absl::Status Task::AwaitFinalCheckpoint() {
  env_->ReportEndOfInput(tdd_, Metrics());
  auto done = [this] {
    return final_checkpoint_id_ != 0 && checkpoints_->last_completed_id() >= final_checkpoint_id_;
  };
  RETURN_IF_ERROR(ProcessMail());
  while (!done()) {
    ASSIGN_OR_RETURN(auto ev, gate_->Next(-1));  // wakes on mail; no input is left
    (void)ev;
    RETURN_IF_ERROR(ProcessMail());
  }
  return absl::OkStatus();
}

absl::Status Task::HandleOperatorEvent(std::string_view event) {
  std::lock_guard lock(event_mu_);
  if (event_target_ == nullptr) {
    return absl::FailedPreconditionError(
        fmt::format("{} has no open source for an operator event", name_));
  }
  return event_target_->HandleOperatorEvent(event);
}

TaskMetricsSnapshot Task::Metrics() const {
  TaskMetricsSnapshot m;
  const bool source = vertex_.is_source();
  m.records_in = source ? source_metrics_.records_out.load() : task_metrics_.records_in.load();
  m.bytes_in = source ? source_metrics_.bytes_in.load() : task_metrics_.bytes_in.load();
  m.records_out = task_metrics_.records_out.load();
  m.bytes_out = task_metrics_.bytes_out.load();
  for (size_t i = 0; i < op_metrics_.size(); ++i) {
    const int64_t late = op_metrics_[i]->late_records_dropped.load();
    m.late_records_dropped += late;
    if (late > 0) m.late_records_by_operator[vertex_.operators[i].name] += late;
    // Sinks send nothing downstream: the rows they wrote count as the task's output.
    if (vertex_.operators[i].sink) {
      const int64_t written = op_metrics_[i]->records_in.load();
      m.records_out += written;
      m.bytes_out += op_metrics_[i]->bytes_out.load();
      m.sink_records[vertex_.operators[i].name] += written;
    }
  }
  // Task thread time: idle and back-pressured as the waits recorded them, busy the rest.
  const int64_t start_ns = invoke_start_ns_.load(std::memory_order_relaxed);
  m.idle_time_ms = io_metrics_.idle_ns.load(std::memory_order_relaxed) / 1'000'000;
  m.backpressured_time_ms = io_metrics_.backpressured_ns.load(std::memory_order_relaxed) / 1'000'000;
  if (start_ns > 0) {
    const int64_t elapsed_ms = (SteadyNanos() - start_ns) / 1'000'000;
    m.busy_time_ms = std::max<int64_t>(0, elapsed_ms - m.idle_time_ms - m.backpressured_time_ms);
  }
  m.current_input_watermark = io_metrics_.current_input_watermark.load(std::memory_order_relaxed);
  m.current_output_watermark =
      vertex_.outputs.empty()
          ? m.current_input_watermark  // a sink's output is what it consumed
          : io_metrics_.current_output_watermark.load(std::memory_order_relaxed);
  std::lock_guard lock(state_metrics_mu_);
  m.state = state_metrics_;
  return m;
}

void Task::MaybeUpdateStateMetrics(int64_t now_ms) {
  if (now_ms < next_state_metrics_ms_) return;
  next_state_metrics_ms_ = now_ms + 1000;
  std::map<std::string, int64_t> m;
  bool any = false;
  for (const auto& st : states_) {
    // RocksDB's gauges are O(1); the heap's size estimate walks every entry, so it is left out.
    if (!st.backend || st.backend->kind() != state::BackendOptions::kRocksDb) continue;
    any = true;
    m["state.size-bytes"] += st.backend->ApproximateSizeBytes();
    for (const auto& [k, v] : st.backend->RocksDbProperties()) m["rocksdb." + k] += v;
  }
  if (source_) {
    for (auto& [k, v] : source_->Gauges()) {
      any = true;
      m[k] = v;
    }
  }
  if (!any) return;
  std::lock_guard lock(state_metrics_mu_);
  state_metrics_ = std::move(m);
}

}  // namespace sluice::taskmanager
