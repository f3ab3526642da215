#include "taskmanager/operator_chain.h"

#include <algorithm>

#include "fmt/format.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"

namespace sluice::taskmanager {

// Everything one chain element emits: per output (main = 0, side outputs 1..n) its targets.
class OperatorChain::ElementOutput : public api::Output {
 public:
  explicit ElementOutput(size_t num_outputs) : targets_(num_outputs) {}
  void Add(int output, api::Output* target) { targets_[static_cast<size_t>(output)].push_back(target); }

  absl::Status Emit(const core::RecordBatch& batch) override { return EmitTo(0, batch); }
  absl::Status EmitSideOutput(int side_output, const core::RecordBatch& batch) override {
    if (side_output < 1 || static_cast<size_t>(side_output) >= targets_.size()) {
      return InternalF("side output {} emitted, the operator declares {}", side_output,
                       targets_.size() - 1);
    }
    return EmitTo(side_output, batch);
  }
  absl::Status EmitWatermark(int64_t watermark) override {
    for (auto& out : targets_) {
      for (api::Output* t : out) RETURN_IF_ERROR(t->EmitWatermark(watermark));
    }
    return absl::OkStatus();
  }
  absl::Status EmitWatermarkStatus(api::WatermarkStatus status) override {
    for (auto& out : targets_) {
      for (api::Output* t : out) RETURN_IF_ERROR(t->EmitWatermarkStatus(status));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status EmitTo(int output, const core::RecordBatch& batch) {
    for (api::Output* t : targets_[static_cast<size_t>(output)]) RETURN_IF_ERROR(t->Emit(batch));
    return absl::OkStatus();
  }
  std::vector<std::vector<api::Output*>> targets_;
};

// Feeds a chained operator (one input by the chaining rule).
class OperatorChain::OperatorInput : public api::Output {
 public:
  OperatorInput(api::Operator* op, ElementOutput* out) : op_(op), out_(out) {}
  absl::Status Emit(const core::RecordBatch& batch) override { return op_->ProcessBatch(batch, *out_); }
  absl::Status EmitWatermark(int64_t watermark) override {
    return op_->ProcessWatermark(watermark, *out_);
  }
  // Operators do not see watermark statuses: the status passes through (Flink's default).
  absl::Status EmitWatermarkStatus(api::WatermarkStatus status) override {
    return out_->EmitWatermarkStatus(status);
  }

 private:
  api::Operator* op_;
  ElementOutput* out_;
};

absl::StatusOr<std::unique_ptr<OperatorChain>> OperatorChain::Create(
    const graph::JobGraph& graph, const graph::JobVertex& vertex, const Options& options,
    const ChannelFactory& channels) {
  std::unique_ptr<OperatorChain> chain(new OperatorChain());
  // Writers, one per output edge.
  for (size_t o = 0; o < vertex.outputs.size(); ++o) {
    const graph::JobEdge& edge = graph.edge(vertex.outputs[o]);
    network::RecordWriterOptions wo;
    wo.partitioner = edge.partitioner;
    if (edge.partitioner == graph::PartitionerKind::kHash) {
      ASSIGN_OR_RETURN(auto sel, core::KeySelector::Create(*edge.schema, edge.key_fields));
      wo.key_selector = std::move(sel);
    }
    wo.max_parallelism = vertex.max_parallelism;
    wo.subtask_index = options.subtask;
    wo.num_producers = vertex.parallelism;
    wo.buffer_timeout_ms = options.buffer_timeout_ms;
    std::vector<std::unique_ptr<network::OutputChannel>> chs;
    for (int c = 0; c < options.consumer_counts[o]; ++c) chs.push_back(channels(static_cast<int>(o), c));
    chain->writers_.push_back(std::make_unique<network::RecordWriter>(
        edge.schema, std::move(wo), std::move(chs), options.task_metrics));
  }
  auto writer_of = [&](int edge) -> api::Output* {
    auto it = std::find(vertex.outputs.begin(), vertex.outputs.end(), edge);
    return chain->writers_[static_cast<size_t>(it - vertex.outputs.begin())].get();
  };
  // Operators, their outputs and the inputs that feed them.
  for (const auto& op : vertex.operators) {
    ASSIGN_OR_RETURN(auto instance, op.factory());
    chain->ops_.push_back(instance.get());
    chain->owned_.push_back(std::move(instance));
    chain->outputs_.push_back(std::make_unique<ElementOutput>(op.outputs.size()));
  }
  for (size_t i = 0; i < vertex.operators.size(); ++i) {
    chain->inputs_.push_back(
        std::make_unique<OperatorInput>(chain->ops_[i], chain->outputs_[i].get()));
  }
  auto wire = [&](ElementOutput& out, int output, const graph::OutputTargets& targets) {
    for (int c : targets.chained) out.Add(output, chain->inputs_[static_cast<size_t>(c)].get());
    for (int e : targets.edges) out.Add(output, writer_of(e));
  };
  for (size_t i = 0; i < vertex.operators.size(); ++i) {
    const auto& outs = vertex.operators[i].outputs;
    for (size_t o = 0; o < outs.size(); ++o) wire(*chain->outputs_[i], static_cast<int>(o), outs[o]);
  }
  if (vertex.source) {
    chain->source_output_ = std::make_unique<ElementOutput>(1);
    wire(*chain->source_output_, 0, vertex.source->outputs);
  }
  return chain;
}

OperatorChain::~OperatorChain() = default;

api::Output& OperatorChain::source_output() { return *source_output_; }

absl::Status OperatorChain::Open(const std::vector<api::OperatorContext>& contexts) {
  for (size_t i = 0; i < ops_.size(); ++i) RETURN_IF_ERROR(ops_[i]->Open(contexts[i]));
  return absl::OkStatus();
}

absl::Status OperatorChain::ProcessInput(int input, const core::RecordBatch& batch) {
  return ops_.front()->ProcessInput(input, batch, *outputs_.front());
}

absl::Status OperatorChain::ProcessWatermark(int64_t watermark) {
  return ops_.front()->ProcessWatermark(watermark, *outputs_.front());
}

absl::Status OperatorChain::ProcessWatermarkStatus(api::WatermarkStatus status) {
  return outputs_.front()->EmitWatermarkStatus(status);
}

absl::Status OperatorChain::EndInput(int input) {
  return ops_.front()->EndInput(input, *outputs_.front());
}

absl::Status OperatorChain::Finish() {
  // The head's inputs ended through EndInput (or it is fed by the source); chained operators
  // have one input, which ends when their upstream finished.
  const bool head_is_fed_by_gates = source_output_ == nullptr;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (i > 0 || !head_is_fed_by_gates) RETURN_IF_ERROR(ops_[i]->EndInput(0, *outputs_[i]));
    RETURN_IF_ERROR(ops_[i]->Finish(*outputs_[i]));
  }
  return absl::OkStatus();
}

void OperatorChain::Close() {
  for (auto* op : ops_) op->Close();
}

absl::Status OperatorChain::FlushIfDue(int64_t now_ms) {
  if (writers_finished_) return absl::OkStatus();
  for (auto& w : writers_) RETURN_IF_ERROR(w->FlushIfDue(now_ms));
  return absl::OkStatus();
}

bool OperatorChain::HasPendingOutput() const {
  if (writers_finished_) return false;
  for (const auto& w : writers_) {
    if (w->HasPending()) return true;
  }
  return false;
}

absl::Status OperatorChain::Flush() {
  if (writers_finished_) return absl::OkStatus();
  for (auto& w : writers_) RETURN_IF_ERROR(w->FlushAll());
  return absl::OkStatus();
}

int64_t OperatorChain::MillisUntilFlush(int64_t now_ms) const {
  if (writers_.empty() || writers_finished_) return -1;
  int64_t wait = writers_.front()->MillisUntilFlush(now_ms);
  for (const auto& w : writers_) wait = std::min(wait, w->MillisUntilFlush(now_ms));
  return wait;
}

int64_t OperatorChain::MillisUntilProcessingTime(int64_t now_ms) const {
  int64_t wait = -1;
  for (const api::Operator* op : ops_) {
    const std::optional<int64_t> at = op->NextProcessingTime();
    if (!at.has_value()) continue;
    const int64_t w = std::max<int64_t>(*at - now_ms, 0);
    wait = wait < 0 ? w : std::min(wait, w);
  }
  return wait;
}

absl::Status OperatorChain::FireProcessingTimers(int64_t now_ms) {
  for (size_t i = 0; i < ops_.size(); ++i) {
    const std::optional<int64_t> at = ops_[i]->NextProcessingTime();
    if (at.has_value() && *at <= now_ms) {
      RETURN_IF_ERROR(ops_[i]->OnProcessingTime(now_ms, *outputs_[i]));
    }
  }
  return absl::OkStatus();
}

absl::Status OperatorChain::BroadcastBarrier(int64_t checkpoint_id, bool savepoint, bool native) {
  if (writers_finished_) return absl::OkStatus();  // channels closed: barriers cannot follow
  for (auto& w : writers_) RETURN_IF_ERROR(w->BroadcastBarrier(checkpoint_id, savepoint, native));
  return absl::OkStatus();
}

absl::Status OperatorChain::FinishWriters(bool drain) {
  for (auto& w : writers_) RETURN_IF_ERROR(w->Finish(drain));
  writers_finished_ = true;
  return absl::OkStatus();
}

void OperatorChain::CancelWriters() {
  std::lock_guard lock(cancel_mu_);
  if (cancelled_) return;
  cancelled_ = true;
  for (auto& w : writers_) w->Cancel();
}

}  // namespace sluice::taskmanager
