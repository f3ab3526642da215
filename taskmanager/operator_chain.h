#pragma once
// OperatorChain: the operators of one task, connected by direct calls (Flink's OperatorChain):
// operator i emits into a ChainedOutput that calls operator i+1; the last operator emits into the
// task's RecordWriter, or into nothing for a sink chain. Records cross a chain link without a
// queue, a copy of the batch reference only.
//
// Threading: the task thread only.

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "runtime/operators/operator.h"

namespace sluice::taskmanager {

class OperatorChain {
 public:
  // `tail` receives what the last operator emits; null for a chain ending in a sink.
  OperatorChain(std::vector<std::unique_ptr<operators::Operator>> ops, operators::Output* tail);

  // Output that feeds the head of the chain (what a source or the input gate writes into).
  operators::Output& head() { return *head_; }
  absl::Status Open(const std::vector<operators::OperatorContext>& contexts);
  // End of all input: Finish every operator front to back, so each one's final output reaches
  // the next before that one finishes.
  absl::Status Finish();
  void Close();

 private:
  class Link;
  std::vector<std::unique_ptr<operators::Operator>> ops_;
  std::vector<std::unique_ptr<operators::Output>> links_;  // links_[i] feeds ops_[i]
  operators::Output* tail_;
  operators::Output* head_;
  std::unique_ptr<operators::Output> discard_;
};

}  // namespace sluice::taskmanager
