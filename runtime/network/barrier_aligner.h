#pragma once
// BarrierAligner: aligned checkpoint barriers for a task with several input channels (Flink's
// SingleCheckpointBarrierHandler with aligned barriers; Carbone et al., "Lightweight Asynchronous
// Snapshots for Distributed Dataflows", 2015). When barrier n arrives on a channel, that channel
// is blocked: its later events are held back until barrier n has arrived on every channel that
// has not ended. Then the task snapshots (a kCheckpoint step), and the held events are released
// in their per-channel order. A channel that ends counts as aligned. A barrier with a higher id
// than the one being aligned means the older checkpoint was abandoned upstream: the aligner
// releases what it held and aligns the newer one.
//
// Held events keep their credits (the task returns a credit only when it processes a buffer),
// so a blocked channel backpressures its producer and memory stays bounded.
//
// Usage: Offer() every event from the gate, then drain Next() until it returns nullopt.
// Threading: the owning task's thread only.

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "runtime/network/channels.h"

namespace sluice::network {

struct AlignerStep {
  enum class Kind : uint8_t { kProcess, kCheckpoint };
  Kind kind = Kind::kProcess;
  NetworkEvent event;           // kProcess
  int64_t checkpoint_id = 0;    // kCheckpoint
  int64_t alignment_ms = 0;     // kCheckpoint: first barrier to last
  bool savepoint = false;       // kCheckpoint: the barriers were a savepoint's
  bool native = false;          // kCheckpoint: ... in native format
};

class BarrierAligner {
 public:
  explicit BarrierAligner(int num_channels);
  void Offer(NetworkEvent event, int64_t now_ms);
  std::optional<AlignerStep> Next();
  // Checkpoint being aligned, or 0.
  int64_t aligning() const { return aligning_; }

 private:
  void StartOrJoin(NetworkEvent& barrier, int64_t now_ms);
  void MaybeComplete(int64_t now_ms);
  void ReleaseHeld();

  std::vector<bool> blocked_;
  std::vector<bool> ended_;
  std::vector<std::deque<NetworkEvent>> held_;
  std::deque<AlignerStep> ready_;
  int64_t aligning_ = 0;
  int64_t last_completed_ = 0;
  int64_t started_ms_ = 0;
  bool savepoint_ = false;  // of the checkpoint being aligned
  bool native_ = false;
};

}  // namespace sluice::network
