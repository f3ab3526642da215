#pragma once
// Data-plane channels with credit-based flow control (Flink's NettyShuffle design, simplified):
// a consumer subtask reads one InputGate with one channel per producer subtask; a producer writes
// one OutputChannel per consumer subtask. A channel starts with `credits` free buffers at the
// consumer; the producer spends one credit per buffer and blocks (backpressure) at zero; the
// consumer returns a credit each time it has processed a buffer. Watermarks and end-of-partition
// are events and need no credit; they are rare (at most one per buffer flush), so a gate's
// memory is bounded by credits * buffer size per channel.
//
// Local channels (same TaskManager) hand the RecordBatch itself to the gate (no serialisation,
// no copy: the producer's pending batch is moved into the event); remote channels
// (taskmanager/service) carry serialised buffers over a gRPC stream and the credits back on the
// same stream. A task's mailbox wakes its gate (InputGate::Wake) so that a task
// waiting for input handles mail (checkpoint triggers, notifications) at once.
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

#include "runtime/core/record_batch.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::network {

struct NetworkEvent {
  // kBarrier: checkpoint barrier `checkpoint_id`; kWatermarkStatus: the producer became idle or
  // active again (Flink's WatermarkStatus). Events other than kBuffer need no credit.
  enum class Kind : uint8_t { kBuffer, kWatermark, kEndOfPartition, kBarrier, kWatermarkStatus };
  Kind kind = Kind::kBuffer;
  int channel = 0;      // flat channel index in the consumer's gate (set by the gate on Push)
  std::string buffer;   // kBuffer over a remote channel: a serialised core::RecordBatch
  // kBuffer over a local channel: the batch itself (then `buffer` is empty).
  std::shared_ptr<core::RecordBatch> batch;
  int64_t watermark = 0;
  int64_t checkpoint_id = 0;  // kBarrier
  bool savepoint = false;     // kBarrier: a savepoint (self-contained state)
  bool native = false;        // kBarrier, savepoint: native format (else canonical)
  bool drain = true;          // kEndOfPartition: false after a stop with savepoint (no drain)
  bool idle = false;          // kWatermarkStatus: true = IDLE, false = ACTIVE
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

// The input of a task: the channels of all its input edges (Flink's UnionInputGate over one
// InputGate per edge). Input gate g has one channel per producer subtask of edge g; channels are
// numbered flat, gate after gate, so that alignment and watermarks span all of them.
class InputGate {
 public:
  // `channels_per_gate[g]`: the producer parallelism of input gate g. A source task has none
  // (a gate without channels still carries its wake-ups).
  explicit InputGate(std::vector<int> channels_per_gate);
  int num_channels() const { return static_cast<int>(credit_return_.size()); }
  int num_gates() const { return static_cast<int>(gate_offsets_.size()); }
  // Flat channel of producer `subtask` of input gate `gate`; -1 if either is out of range.
  int ChannelIndex(int gate, int subtask) const;
  // Input gate of flat channel `channel`.
  int GateOf(int channel) const { return channel_gate_[static_cast<size_t>(channel)]; }
  // The flat channels of input gate `gate`: [first, first + count).
  int FirstChannel(int gate) const { return gate_offsets_[static_cast<size_t>(gate)]; }

  // How a consumed buffer's credit gets back to the producer of `channel`. Set before the
  // producer's first buffer arrives (the channel's connection handshake does it).
  void SetCreditReturn(int channel, std::function<void(int)> fn);
  // Enqueues an event from flat channel `channel`. Never blocks (credits bound the queue).
  void Push(int channel, NetworkEvent event);
  // Waits up to timeout_ms (< 0: forever) for the next event. nullopt on timeout or after
  // Wake(); Cancelled after Cancel(); the status given to Fail() when a channel broke.
  absl::StatusOr<std::optional<NetworkEvent>> Next(int64_t timeout_ms);
  // Makes the current or next Next() return (nullopt if no event is queued): the task's mailbox
  // has mail. Thread-safe.
  void Wake();
  // Gives the credit of a processed buffer of `channel` back to its producer.
  void ReturnCredit(int channel);
  void Cancel();
  // A channel broke (e.g. the remote producer's stream failed): Next() returns `status`.
  void Fail(absl::Status status);

 private:
  std::vector<int> gate_offsets_;
  std::vector<int> channel_gate_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<NetworkEvent> queue_;
  std::vector<std::function<void(int)>> credit_return_;
  bool woken_ = false;
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
  // Whether Send takes buffers as batches (NetworkEvent::batch) rather than serialised.
  virtual bool InProcess() const { return false; }
};

// In-memory channel to a gate in the same process.
class LocalOutputChannel : public OutputChannel {
 public:
  LocalOutputChannel(std::shared_ptr<InputGate> gate, int channel, int credits);
  absl::Status Send(NetworkEvent event) override;
  void Cancel() override { credits_->Cancel(); }
  bool InProcess() const override { return true; }

 private:
  std::shared_ptr<InputGate> gate_;
  int channel_;
  std::shared_ptr<CreditCounter> credits_;
};

}  // namespace sluice::network
