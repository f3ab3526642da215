#include "taskmanager/task.h"

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/network/record_writer.h"
#include "runtime/network/watermark_valve.h"
#include "spdlog/spdlog.h"
#include "taskmanager/operator_chain.h"

namespace sluice::taskmanager {

using graph::ExecutionState;

// Keeps the RecordWriter reachable for Cancel() from other threads.
class RecordWriterHolder {
 public:
  std::mutex mu;
  network::RecordWriter* writer = nullptr;
};

Task::Task(TaskDeployment deployment, TaskEnvironment* env)
    : d_(std::move(deployment)),
      env_(env),
      vertex_(d_.graph->vertices[static_cast<size_t>(d_.vertex)]),
      writer_(std::make_unique<RecordWriterHolder>()) {
  name_ = fmt::format("{} ({}/{})#{}", vertex_.name, d_.subtask + 1, vertex_.parallelism,
                      d_.attempt_number);
  if (!vertex_.is_source()) {
    const graph::JobEdge* in = d_.graph->input_edge(d_.vertex);
    int channels = d_.graph->vertices[static_cast<size_t>(in->source)].parallelism;
    gate_ = std::make_shared<network::InputGate>(channels);
    env_->RegisterInputGate(d_.attempt_id, gate_);
  }
}

Task::~Task() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

void Task::Start() { thread_ = std::thread([this] { Run(); }); }

void Task::Cancel() {
  if (cancelled_.exchange(true)) return;
  if (gate_) gate_->Cancel();
  std::lock_guard lock(writer_->mu);
  if (writer_->writer) writer_->writer->Cancel();
}

TaskMetricsSnapshot Task::Metrics() const {
  TaskMetricsSnapshot m;
  m.records_in = vertex_.is_source() ? source_metrics_.records_out.load()
                                     : task_metrics_.records_in.load();
  m.bytes_in = vertex_.is_source() ? source_metrics_.bytes_in.load() : task_metrics_.bytes_in.load();
  m.records_out = task_metrics_.records_out.load();
  m.bytes_out = task_metrics_.bytes_out.load();
  for (const auto& om : op_metrics_) m.late_records_dropped += om->late_records_dropped.load();
  if (sink_chain_.load() && !op_metrics_.empty()) {
    // A sink chain sends nothing downstream: report the rows its sink wrote as its output.
    m.records_out = op_metrics_.back()->records_in.load();
    m.bytes_out = op_metrics_.back()->bytes_out.load();
  }
  return m;
}

void Task::Transition(ExecutionState to, const std::string& failure) {
  spdlog::info("{} ({}) switched from {} to {}.{}", name_, d_.attempt_id.ToString(),
               graph::Name(state_), graph::Name(to), failure.empty() ? "" : " Cause: " + failure);
  state_ = to;
  env_->ReportState(d_, to, failure, Metrics());
}

void Task::Run() {
  Transition(ExecutionState::kInitializing);
  absl::Status s = Execute();
  if (gate_) env_->UnregisterInputGate(d_.attempt_id);
  if (s.ok()) {
    Transition(ExecutionState::kFinished);
  } else if (cancelled_.load()) {
    Transition(ExecutionState::kCanceled);
  } else {
    Transition(ExecutionState::kFailed, std::string(s.message()));
  }
  done_ = true;
}

operators::OperatorContext Task::MakeContext(const std::string& op_name, const std::string& uid,
                                             operators::OperatorMetrics* metrics) const {
  operators::OperatorContext ctx;
  ctx.job_name = d_.graph->name;
  ctx.task_name = name_;
  ctx.operator_name = op_name;
  ctx.operator_uid = uid;
  ctx.subtask_index = d_.subtask;
  ctx.parallelism = vertex_.parallelism;
  ctx.max_parallelism = vertex_.max_parallelism;
  ctx.attempt_number = d_.attempt_number;
  ctx.metrics = metrics;
  return ctx;
}

absl::Status Task::Execute() {
  // Build the chain.
  std::vector<std::unique_ptr<operators::Operator>> ops;
  std::vector<operators::OperatorContext> contexts;
  for (const auto& op : vertex_.operators) {
    ASSIGN_OR_RETURN(auto instance, op.factory());
    ops.push_back(std::move(instance));
    op_metrics_.push_back(std::make_unique<operators::OperatorMetrics>());
    contexts.push_back(MakeContext(op.name, op.uid, op_metrics_.back().get()));
  }
  std::unique_ptr<network::RecordWriter> writer;
  const graph::JobEdge* out = d_.graph->output_edge(d_.vertex);
  if (out) {
    std::vector<std::unique_ptr<network::OutputChannel>> channels;
    for (const auto& c : d_.consumers) {
      channels.push_back(env_->CreateOutputChannel(d_.job_id, c, d_.subtask));
    }
    network::RecordWriterOptions wo;
    wo.partitioner = out->partitioner;
    if (out->partitioner == graph::PartitionerKind::kHash) {
      ASSIGN_OR_RETURN(auto sel, core::KeySelector::Create(*out->schema, out->key_fields));
      wo.key_selector = std::move(sel);
    }
    wo.max_parallelism = vertex_.max_parallelism;
    wo.subtask_index = d_.subtask;
    wo.buffer_timeout_ms = d_.buffer_timeout_ms;
    writer = std::make_unique<network::RecordWriter>(out->schema, std::move(wo),
                                                     std::move(channels), &task_metrics_);
    std::lock_guard lock(writer_->mu);
    writer_->writer = writer.get();
    if (cancelled_.load()) writer->Cancel();
  } else {
    sink_chain_ = true;
  }
  OperatorChain chain(std::move(ops), writer.get());
  auto cleanup = [&] {
    chain.Close();
    std::lock_guard lock(writer_->mu);
    writer_->writer = nullptr;
  };
  absl::Status s = chain.Open(contexts);
  std::unique_ptr<operators::Source> source;
  if (s.ok() && vertex_.is_source()) {
    auto created = vertex_.source();
    if (!created.ok()) {
      s = created.status();
    } else {
      source = std::move(*created);
      s = source->Open(MakeContext(vertex_.source_name, vertex_.source_uid, &source_metrics_));
    }
  }
  if (s.ok()) {
    Transition(ExecutionState::kRunning);
    s = source ? RunSource(*source, chain.head()) : RunInput(chain.head());
  }
  if (s.ok()) s = chain.Finish();
  if (s.ok() && writer) s = writer->Finish();
  if (source) source->Close();
  cleanup();
  if (!s.ok() && writer) writer->Cancel();
  return s;
}

absl::Status Task::RunSource(operators::Source& source, operators::Output& head) {
  network::RecordWriter* writer = writer_->writer;
  for (;;) {
    if (cancelled_.load()) return absl::CancelledError("task cancelled");
    ASSIGN_OR_RETURN(bool more, source.PollNext(head));
    if (writer) RETURN_IF_ERROR(writer->FlushIfDue(MonotonicMillis()));
    if (!more) return absl::OkStatus();
  }
}

absl::Status Task::RunInput(operators::Output& head) {
  network::RecordWriter* writer = writer_->writer;
  network::WatermarkValve valve(gate_->num_channels());
  core::RecordBatch batch(d_.graph->input_edge(d_.vertex)->schema);
  while (!valve.AllEnded()) {
    int64_t wait = writer ? writer->MillisUntilFlush(MonotonicMillis()) : -1;
    ASSIGN_OR_RETURN(auto next, gate_->Next(wait));
    if (next.has_value()) {
      network::NetworkEvent& ev = *next;
      std::optional<int64_t> advanced;
      switch (ev.kind) {
        case network::NetworkEvent::Kind::kBuffer: {
          RETURN_IF_ERROR(batch.DeserializeFrom(ev.buffer));
          task_metrics_.records_in.fetch_add(static_cast<int64_t>(batch.num_rows()),
                                             std::memory_order_relaxed);
          task_metrics_.bytes_in.fetch_add(static_cast<int64_t>(ev.buffer.size()),
                                           std::memory_order_relaxed);
          absl::Status s = head.Emit(batch);
          gate_->ReturnCredit(ev.channel);
          RETURN_IF_ERROR(s);
          break;
        }
        case network::NetworkEvent::Kind::kWatermark:
          advanced = valve.OnWatermark(ev.channel, ev.watermark);
          break;
        case network::NetworkEvent::Kind::kEndOfPartition:
          advanced = valve.OnEndOfPartition(ev.channel);
          break;
      }
      if (advanced) RETURN_IF_ERROR(head.EmitWatermark(*advanced));
    }
    if (writer) RETURN_IF_ERROR(writer->FlushIfDue(MonotonicMillis()));
  }
  return absl::OkStatus();
}

}  // namespace sluice::taskmanager
