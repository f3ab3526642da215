#include "runtime/network/barrier_aligner.h"

namespace sluice::network {

BarrierAligner::BarrierAligner(int n)
    : blocked_(static_cast<size_t>(n), false),
      ended_(static_cast<size_t>(n), false),
      held_(static_cast<size_t>(n)) {}

void BarrierAligner::Offer(NetworkEvent ev, int64_t now_ms) {
  size_t c = static_cast<size_t>(ev.channel);
  if (blocked_[c]) {
    held_[c].push_back(std::move(ev));
    return;
  }
  switch (ev.kind) {
    case NetworkEvent::Kind::kBarrier:
      StartOrJoin(ev, now_ms);
      break;
    case NetworkEvent::Kind::kEndOfPartition:
      ended_[c] = true;
      ready_.push_back(AlignerStep{AlignerStep::Kind::kProcess, std::move(ev), 0, 0});
      MaybeComplete(now_ms);
      break;
    default:
      ready_.push_back(AlignerStep{AlignerStep::Kind::kProcess, std::move(ev), 0, 0});
  }
}

void BarrierAligner::StartOrJoin(NetworkEvent& barrier, int64_t now_ms) {
  const int64_t id = barrier.checkpoint_id;
  if (id <= last_completed_ || (aligning_ != 0 && id < aligning_)) return;  // stale barrier
  if (aligning_ != 0 && id > aligning_) {
    // The older checkpoint was abandoned upstream: give up on it and align the newer one.
    ReleaseHeld();
  }
  if (aligning_ == 0) {
    aligning_ = id;
    started_ms_ = now_ms;
    savepoint_ = barrier.savepoint;
    native_ = barrier.native;
  }
  blocked_[static_cast<size_t>(barrier.channel)] = true;
  MaybeComplete(now_ms);
}

void BarrierAligner::MaybeComplete(int64_t now_ms) {
  if (aligning_ == 0) return;
  for (size_t c = 0; c < blocked_.size(); ++c) {
    if (!blocked_[c] && !ended_[c]) return;
  }
  AlignerStep step;
  step.kind = AlignerStep::Kind::kCheckpoint;
  step.checkpoint_id = aligning_;
  step.alignment_ms = now_ms - started_ms_;
  step.savepoint = savepoint_;
  step.native = native_;
  ready_.push_back(std::move(step));
  last_completed_ = aligning_;
  aligning_ = 0;
  ReleaseHeld();
}

void BarrierAligner::ReleaseHeld() {
  // Unblock first, then re-offer held events: they may contain the next barrier.
  std::vector<std::deque<NetworkEvent>> held(held_.size());
  held.swap(held_);
  for (size_t c = 0; c < blocked_.size(); ++c) blocked_[c] = false;
  if (aligning_ != 0) aligning_ = 0;
  for (auto& q : held) {
    while (!q.empty()) {
      NetworkEvent ev = std::move(q.front());
      q.pop_front();
      Offer(std::move(ev), started_ms_);
    }
  }
}

std::optional<AlignerStep> BarrierAligner::Next() {
  if (ready_.empty()) return std::nullopt;
  AlignerStep s = std::move(ready_.front());
  ready_.pop_front();
  return s;
}

}  // namespace sluice::network
