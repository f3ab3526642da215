#include "runtime/network/channels.h"

#include <chrono>

#include "runtime/network/task_io_metrics.h"

namespace sluice::network {
namespace {
thread_local TaskIoMetrics* tls_io_metrics = nullptr;
}  // namespace

TaskIoMetrics* ThreadTaskIoMetrics() { return tls_io_metrics; }
void SetThreadTaskIoMetrics(TaskIoMetrics* metrics) { tls_io_metrics = metrics; }

absl::Status CreditCounter::Acquire() {
  std::unique_lock lock(mu_);
  if (!cancelled_ && credits_ == 0) {
    ScopedIoTimer backpressured(&TaskIoMetrics::backpressured_ns);  // only when it must wait
    cv_.wait(lock, [this] { return cancelled_ || credits_ > 0; });
  }
  if (cancelled_) return absl::CancelledError("channel cancelled");
  --credits_;
  return absl::OkStatus();
}

void CreditCounter::Grant(int n) {
  {
    std::lock_guard lock(mu_);
    credits_ += n;
  }
  cv_.notify_all();
}

void CreditCounter::Cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

InputGate::InputGate(std::vector<int> channels_per_gate) {
  int total = 0;
  for (size_t g = 0; g < channels_per_gate.size(); ++g) {
    gate_offsets_.push_back(total);
    for (int c = 0; c < channels_per_gate[g]; ++c) channel_gate_.push_back(static_cast<int>(g));
    total += channels_per_gate[g];
  }
  credit_return_.resize(static_cast<size_t>(total));
}

int InputGate::ChannelIndex(int gate, int subtask) const {
  if (gate < 0 || gate >= num_gates() || subtask < 0) return -1;
  const int first = gate_offsets_[static_cast<size_t>(gate)];
  const int end = gate + 1 < num_gates() ? gate_offsets_[static_cast<size_t>(gate) + 1] : num_channels();
  return first + subtask < end ? first + subtask : -1;
}

void InputGate::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void InputGate::SetCreditReturn(int channel, std::function<void(int)> fn) {
  std::lock_guard lock(mu_);
  credit_return_[static_cast<size_t>(channel)] = std::move(fn);
}

void InputGate::Push(int channel, NetworkEvent event) {
  event.channel = channel;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(event));
  }
  cv_.notify_one();
}

absl::StatusOr<std::optional<NetworkEvent>> InputGate::Next(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  auto ready = [this] { return !failure_.ok() || !queue_.empty() || woken_; };
  if (!ready()) {
    ScopedIoTimer idle(&TaskIoMetrics::idle_ns);  // only when it must wait
    if (timeout_ms < 0) {
      cv_.wait(lock, ready);
    } else if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready)) {
      return std::optional<NetworkEvent>();
    }
  }
  if (!failure_.ok()) return failure_;
  woken_ = false;
  if (queue_.empty()) return std::optional<NetworkEvent>();
  NetworkEvent ev = std::move(queue_.front());
  queue_.pop_front();
  return std::optional<NetworkEvent>(std::move(ev));
}

void InputGate::ReturnCredit(int channel) {
  std::function<void(int)> fn;
  {
    std::lock_guard lock(mu_);
    fn = credit_return_[static_cast<size_t>(channel)];
  }
  if (fn) fn(1);
}

void InputGate::Cancel() { Fail(absl::CancelledError("input gate cancelled")); }

void InputGate::Fail(absl::Status status) {
  {
    std::lock_guard lock(mu_);
    if (failure_.ok()) failure_ = std::move(status);
  }
  cv_.notify_all();
}

LocalOutputChannel::LocalOutputChannel(std::shared_ptr<InputGate> gate, int channel, int credits)
    : gate_(std::move(gate)), channel_(channel), credits_(std::make_shared<CreditCounter>(credits)) {
  std::weak_ptr<CreditCounter> weak = credits_;
  gate_->SetCreditReturn(channel_, [weak](int n) {
    if (auto c = weak.lock()) c->Grant(n);
  });
}

absl::Status LocalOutputChannel::Send(NetworkEvent event) {
  if (event.kind == NetworkEvent::Kind::kBuffer) {
    if (auto s = credits_->Acquire(); !s.ok()) return s;
  }
  gate_->Push(channel_, std::move(event));
  return absl::OkStatus();
}

}  // namespace sluice::network
