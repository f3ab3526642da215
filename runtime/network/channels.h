#pragma once
// Data-plane channels with credit-based flow control (Flink's NettyShuffle design, simplified):
// a consumer subtask reads one InputGate with one channel per producer subtask; a producer writes
// one OutputChannel per consumer subtask. A channel starts with `credits` free buffers at the
// consumer; the producer spends one credit per buffer and blocks (backpressure) at zero; the
// consumer returns a credit each time it has processed a buffer. Watermarks and end-of-partition
// are events and need no credit; they are rare (at most one per buffer flush), so a gate's
// memory is bounded by credits * buffer size per channel.
//
// Local channels (same TaskManager) hand the serialised buffer to the gate directly; remote
// channels (taskmanager/service) carry the same NetworkEvents over a gRPC stream and the credits
// back on the same stream.
//
// Threading: InputGate::Push and CreditCounter::Grant are called from producer/network threads,
// InputGate::Next and OutputChannel::Send from task threads; all are thread-safe. Cancel() wakes
// every waiter, which then returns Cancelled.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::network {

struct NetworkEvent {
  // kBarrier: checkpoint barrier `checkpoint_id` (an event: needs no credit).
  // kControl: not from a channel (channel = -1): a mailbox message to the consuming task, such as
  // "checkpoint n complete", delivered through the gate so a task waiting for input wakes up.
  enum class Kind : uint8_t { kBuffer, kWatermark, kEndOfPartition, kBarrier, kControl };
  Kind kind = Kind::kBuffer;
  int channel = 0;      // index of the producer subtask (set by the gate on Push)
  std::string buffer;   // kBuffer: a serialised core::RecordBatch
  int64_t watermark = 0;
  int64_t checkpoint_id = 0;  // kBarrier
  bool savepoint = false;     // kBarrier: a savepoint (self-contained state)
  bool native = false;        // kBarrier, savepoint: native format (else canonical)
  bool drain = true;          // kEndOfPartition: false after a stop with savepoint (no drain)
};

// Credits a producer may spend on one channel.
class CreditCounter {
 public:
  explicit CreditCounter(int initial) : credits_(initial) {}
  // Blocks until a credit is available; Cancelled if cancelled meanwhile.
  absl::Status Acquire();
  void Grant(int n);
  void Cancel();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int credits_;
  bool cancelled_ = false;
};

class InputGate {
 public:
  explicit InputGate(int num_channels);
  int num_channels() const { return static_cast<int>(credit_return_.size()); }

  // How a consumed buffer's credit gets back to the producer of `channel`. Set before the
  // producer's first buffer arrives (the channel's connection handshake does it).
  void SetCreditReturn(int channel, std::function<void(int)> fn);
  // Enqueues an event from producer `channel`. Never blocks (credits bound the queue).
  void Push(int channel, NetworkEvent event);
  // Waits up to timeout_ms (< 0: forever) for the next event. nullopt on timeout; Cancelled
  // after Cancel() or Fail(); the status given to Fail() when a channel broke.
  absl::StatusOr<std::optional<NetworkEvent>> Next(int64_t timeout_ms);
  // Gives the credit of a processed buffer of `channel` back to its producer.
  void ReturnCredit(int channel);
  void Cancel();
  // A channel broke (e.g. the remote producer's stream failed): Next() returns `status`.
  void Fail(absl::Status status);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<NetworkEvent> queue_;
  std::vector<std::function<void(int)>> credit_return_;
  absl::Status failure_;
};

// Producer side of one channel.
class OutputChannel {
 public:
  virtual ~OutputChannel() = default;
  // Buffers wait for a credit first. Cancelled if the channel was cancelled; Unavailable if the
  // connection to a remote consumer broke.
  virtual absl::Status Send(NetworkEvent event) = 0;
  virtual void Cancel() = 0;
  // Waits until everything sent has been handed over (remote: stream closed cleanly).
  virtual absl::Status Close() { return absl::OkStatus(); }
};

// In-memory channel to a gate in the same process.
class LocalOutputChannel : public OutputChannel {
 public:
  LocalOutputChannel(std::shared_ptr<InputGate> gate, int channel, int credits);
  absl::Status Send(NetworkEvent event) override;
  void Cancel() override { credits_->Cancel(); }

 private:
  std::shared_ptr<InputGate> gate_;
  int channel_;
  std::shared_ptr<CreditCounter> credits_;
};

}  // namespace sluice::network
