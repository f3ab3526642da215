#include "taskmanager/input_processor.h"


#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/network/task_io_metrics.h"

namespace sluice::taskmanager {

StreamInputProcessor::StreamInputProcessor(const graph::JobGraph& graph,
                                           const graph::JobVertex& vertex,
                                           network::InputGate& gate, OperatorChain& chain,
                                           api::OperatorMetrics* task_metrics,
                                           CheckpointFn checkpoint)
    : gate_(gate),
      chain_(chain),
      metrics_(task_metrics),
      checkpoint_(std::move(checkpoint)),
      valve_(gate.num_channels()),
      aligner_(gate.num_channels()),
      open_channels_(static_cast<size_t>(vertex.num_logical_inputs()), 0),
      channel_ended_(static_cast<size_t>(gate.num_channels()), false) {
  for (int g = 0; g < static_cast<int>(vertex.inputs.size()); ++g) {
    const graph::JobEdge& e = graph.edge(vertex.inputs[static_cast<size_t>(g)]);
    logical_input_of_gate_.push_back(e.target_input);
    gate_batches_.emplace_back(e.schema);
    open_channels_[static_cast<size_t>(e.target_input)] += graph.vertex(e.source).parallelism;
  }
}

absl::StatusOr<bool> StreamInputProcessor::ProcessAvailable(int64_t timeout_ms) {
  ASSIGN_OR_RETURN(auto next, gate_.Next(timeout_ms));
  const bool got = next.has_value();
  if (got) aligner_.Offer(std::move(*next), MonotonicMillis());
  while (auto step = aligner_.Next()) {
    if (step->kind == network::AlignerStep::Kind::kCheckpoint) {
      RETURN_IF_ERROR(checkpoint_(step->checkpoint_id, step->alignment_ms,
                                  CheckpointOptions{step->savepoint, step->native}));
      continue;
    }
    RETURN_IF_ERROR(Process(step->event));
  }
  return got;
}

absl::Status StreamInputProcessor::Process(network::NetworkEvent& ev) {
  network::ValveUpdate update;
  switch (ev.kind) {
    case network::NetworkEvent::Kind::kBuffer: {
      const int g = gate_.GateOf(ev.channel);
      const core::RecordBatch* in = ev.batch.get();  // a local channel's batch, as it is
      int64_t bytes;
      if (in == nullptr) {
        core::RecordBatch& batch = gate_batches_[static_cast<size_t>(g)];
        RETURN_IF_ERROR(batch.DeserializeFrom(ev.buffer));
        in = &batch;
        bytes = static_cast<int64_t>(ev.buffer.size());
      } else {
        bytes = static_cast<int64_t>(in->ByteSize());
      }
      metrics_->records_in.fetch_add(static_cast<int64_t>(in->num_rows()), std::memory_order_relaxed);
      metrics_->bytes_in.fetch_add(bytes, std::memory_order_relaxed);
      absl::Status s = chain_.ProcessInput(logical_input_of_gate_[static_cast<size_t>(g)], *in);
      gate_.ReturnCredit(ev.channel);
      return s;
    }
    case network::NetworkEvent::Kind::kWatermark:
      update = valve_.OnWatermark(ev.channel, ev.watermark);
      break;
    case network::NetworkEvent::Kind::kWatermarkStatus:
      update = valve_.OnWatermarkStatus(
          ev.channel, ev.idle ? api::WatermarkStatus::kIdle : api::WatermarkStatus::kActive);
      break;
    case network::NetworkEvent::Kind::kEndOfPartition: {
      if (channel_ended_[static_cast<size_t>(ev.channel)]) return absl::OkStatus();
      channel_ended_[static_cast<size_t>(ev.channel)] = true;
      if (!ev.drain) drain_ = false;
      update = valve_.OnEndOfPartition(ev.channel);
      // Without draining, event time must not jump to the end of time.
      if (!drain_) update.watermark.reset();
      RETURN_IF_ERROR(Forward(update));
      const int input = logical_input_of_gate_[static_cast<size_t>(gate_.GateOf(ev.channel))];
      if (--open_channels_[static_cast<size_t>(input)] == 0 && drain_) {
        RETURN_IF_ERROR(chain_.EndInput(input));
      }
      return absl::OkStatus();
    }
    case network::NetworkEvent::Kind::kBarrier:
      return absl::OkStatus();  // consumed by the aligner
  }
  return Forward(update);
}

absl::Status StreamInputProcessor::Forward(const network::ValveUpdate& update) {
  if (update.status) RETURN_IF_ERROR(chain_.ProcessWatermarkStatus(*update.status));
  if (update.watermark) {
    if (network::TaskIoMetrics* io = network::ThreadTaskIoMetrics()) {
      io->current_input_watermark.store(*update.watermark, std::memory_order_relaxed);
    }
    RETURN_IF_ERROR(chain_.ProcessWatermark(*update.watermark));
  }
  return absl::OkStatus();
}

}  // namespace sluice::taskmanager
