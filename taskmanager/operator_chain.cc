#include "taskmanager/operator_chain.h"

namespace sluice::taskmanager {

// Feeds one operator; its own output is the next link (or the tail).
class OperatorChain::Link : public operators::Output {
 public:
  Link(operators::Operator* op, operators::Output* next) : op_(op), next_(next) {}
  absl::Status Emit(const core::RecordBatch& batch) override {
    return op_->ProcessBatch(batch, *next_);
  }
  absl::Status EmitWatermark(int64_t watermark) override {
    return op_->ProcessWatermark(watermark, *next_);
  }

 private:
  operators::Operator* op_;
  operators::Output* next_;
};

namespace {
// What a sink chain's last operator "emits" into: nothing goes further.
class DiscardOutput : public operators::Output {
 public:
  absl::Status Emit(const core::RecordBatch&) override { return absl::OkStatus(); }
  absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
};
}  // namespace

OperatorChain::OperatorChain(std::vector<std::unique_ptr<operators::Operator>> ops,
                             operators::Output* tail)
    : ops_(std::move(ops)), tail_(tail) {
  if (!tail_) {
    discard_ = std::make_unique<DiscardOutput>();
    tail_ = discard_.get();
  }
  links_.resize(ops_.size());
  operators::Output* next = tail_;
  for (size_t i = ops_.size(); i-- > 0;) {
    links_[i] = std::make_unique<Link>(ops_[i].get(), next);
    next = links_[i].get();
  }
  head_ = next;
}

absl::Status OperatorChain::Open(const std::vector<operators::OperatorContext>& contexts) {
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (auto s = ops_[i]->Open(contexts[i]); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status OperatorChain::Finish() {
  for (size_t i = 0; i < ops_.size(); ++i) {
    operators::Output* out = i + 1 < ops_.size() ? links_[i + 1].get() : tail_;
    if (auto s = ops_[i]->Finish(*out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void OperatorChain::Close() {
  for (auto& op : ops_) op->Close();
}

}  // namespace sluice::taskmanager
