#pragma once
// OperatorChain: the operators of one task and the record writers of its output edges, wired
// as the JobVertex says (Flink's OperatorChain). A chain is a tree: the head (the source, or
// operator 0 fed by the input gates) emits into its outputs; each output of each operator (the
// main output and side outputs 1..n) fans out to chained operators, called directly with no
// queue and no copy, and to the RecordWriters of the job edges that leave it. Watermarks and
// watermark statuses go to every target of every output.
//
// Lifecycle: Create (instantiates operators and writers, opens nothing), Open, records,
// Finish (end of all input: operators flush front to back) or not, FinishWriters, Close.
// Threading: the task thread, except CancelWriters (any thread).

#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/graph/job_graph.h"
#include "runtime/network/record_writer.h"

namespace sluice::taskmanager {

class OperatorChain {
 public:
  // Channels of output edge `output` (index into vertex.outputs) to consumer subtask `subtask`.
  using ChannelFactory = std::function<std::unique_ptr<network::OutputChannel>(int output, int subtask)>;
  struct Options {
    int subtask = 0;
    int64_t buffer_timeout_ms = 5;
    // Consumers per output edge (vertex.outputs order).
    std::vector<int> consumer_counts;
    api::OperatorMetrics* task_metrics = nullptr;  // records/bytes out of the writers
  };

  // Instantiates the vertex's operators through their factories and one RecordWriter per
  // output edge. Errors: a factory's error; InvalidArgument for a malformed key selector.
  static absl::StatusOr<std::unique_ptr<OperatorChain>> Create(const graph::JobGraph& graph,
                                                               const graph::JobVertex& vertex,
                                                               const Options& options,
                                                               const ChannelFactory& channels);
  ~OperatorChain();

  const std::vector<api::Operator*>& operators() const { return ops_; }
  // Where the vertex's source emits (source vertices only).
  api::Output& source_output();

  // Opens every operator, front to back; contexts[i] belongs to operators()[i].
  absl::Status Open(const std::vector<api::OperatorContext>& contexts);
  // Input side of the head operator (non-source vertices).
  absl::Status ProcessInput(int input, const core::RecordBatch& batch);
  absl::Status ProcessWatermark(int64_t watermark);
  absl::Status ProcessWatermarkStatus(api::WatermarkStatus status);
  absl::Status EndInput(int input);
  // All input ended (after the final watermark): every operator's EndInput (chained ones) and
  // Finish, front to back, so each one's last output reaches the next before it finishes.
  absl::Status Finish();
  void Close();

  // Record writers (all output edges).
  bool has_writers() const { return !writers_.empty(); }
  absl::Status FlushIfDue(int64_t now_ms);
  int64_t MillisUntilFlush(int64_t now_ms) const;  // -1 without writers
  // Rows or watermarks wait in a writer's buffer; Flush sends them on now (the task is idle).
  bool HasPendingOutput() const;
  absl::Status Flush();
  // Processing-time timers of the chained operators (api::Operator::NextProcessingTime):
  // ms until the earliest is due (0 if due; -1 without timers), and firing the due ones.
  int64_t MillisUntilProcessingTime(int64_t now_ms) const;
  absl::Status FireProcessingTimers(int64_t now_ms);
  // Flushes data, then sends barrier `checkpoint_id` on every channel of every edge.
  absl::Status BroadcastBarrier(int64_t checkpoint_id, bool savepoint, bool native);
  // Flushes and ends every partition; the writers are closed afterwards (barriers stop).
  absl::Status FinishWriters(bool drain);
  bool writers_finished() const { return writers_finished_; }
  // Any thread: unblocks writers waiting for credit; they return Cancelled.
  void CancelWriters();

 private:
  class ElementOutput;
  class OperatorInput;
  OperatorChain() = default;

  std::vector<std::unique_ptr<api::Operator>> owned_;
  std::vector<api::Operator*> ops_;
  std::vector<std::unique_ptr<ElementOutput>> outputs_;  // outputs_[i]: what ops_[i] emits
  std::vector<std::unique_ptr<OperatorInput>> inputs_;   // inputs_[i]: feeds ops_[i]
  std::unique_ptr<ElementOutput> source_output_;
  std::vector<std::unique_ptr<network::RecordWriter>> writers_;
  std::mutex cancel_mu_;
  bool cancelled_ = false;  // guarded by cancel_mu_
  bool writers_finished_ = false;
};

}  // namespace sluice::taskmanager
