#pragma once
// StreamInputProcessor: reads a task's input gates and drives the head of its operator chain
// (Flink's StreamMultipleInputProcessor with its CheckpointedInputGate and
// StatusWatermarkValve). Every event passes the barrier aligner first, so barriers are aligned
// across all channels of all input gates, and a channel that ended (a finished input) no longer
// blocks alignment (FLIP-147). Buffers of input gate g reach the head operator as logical input
// JobEdge::target_input; the watermark is the minimum over all active channels (idle channels
// excluded); when every channel of a logical input ended, the operator's EndInput(input) runs.
//
// Threading: the task thread.

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/graph/job_graph.h"
#include "runtime/network/barrier_aligner.h"
#include "runtime/network/channels.h"
#include "runtime/network/watermark_valve.h"
#include "taskmanager/operator_chain.h"
#include "taskmanager/task_mailbox.h"

namespace sluice::taskmanager {

class StreamInputProcessor {
 public:
  // Takes a snapshot once barrier `checkpoint_id` aligned (alignment: first to last barrier).
  using CheckpointFn =
      std::function<absl::Status(int64_t checkpoint_id, int64_t alignment_ms, CheckpointOptions)>;

  StreamInputProcessor(const graph::JobGraph& graph, const graph::JobVertex& vertex,
                       network::InputGate& gate, OperatorChain& chain,
                       api::OperatorMetrics* task_metrics, CheckpointFn checkpoint);

  // Waits up to `timeout_ms` (< 0: until an event or a wake-up; 0: not at all) and processes
  // every event that became ready; returns whether there was one. Errors: the gate's failure
  // (a broken channel, Cancelled), a corrupt buffer (DataLoss), an operator's error.
  absl::StatusOr<bool> ProcessAvailable(int64_t timeout_ms);
  // Every channel of every input reached end of partition.
  bool finished() const { return valve_.AllEnded(); }
  // False once an input ended without draining (a stop with savepoint upstream): event time
  // must not jump to its end and the operators must not flush.
  bool drain() const { return drain_; }

 private:
  absl::Status Process(network::NetworkEvent& ev);
  // Hands a valve's new watermark status and watermark to the chain (and the task's metrics).
  absl::Status Forward(const network::ValveUpdate& update);

  network::InputGate& gate_;
  OperatorChain& chain_;
  api::OperatorMetrics* metrics_;
  CheckpointFn checkpoint_;
  network::WatermarkValve valve_;
  network::BarrierAligner aligner_;
  std::vector<int> logical_input_of_gate_;
  std::vector<core::RecordBatch> gate_batches_;  // deserialisation buffer per input gate
  std::vector<int> open_channels_;               // per logical input
  std::vector<bool> channel_ended_;
  bool drain_ = true;
};

}  // namespace sluice::taskmanager
