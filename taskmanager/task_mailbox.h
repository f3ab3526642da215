#pragma once
// TaskMailbox: typed messages from the JobManager to one running task (Flink's TaskMailbox and
// the mails its TaskExecutor puts there: triggerCheckpoint, notifyCheckpointComplete,
// notifyCheckpointAborted). RPC threads Post(); the task thread takes mail between two records
// or batches, so every mail runs on the task thread and operators need no locks. Posting wakes
// the task's input gate, so a task waiting for input handles its mail at once.
//
// Threading: Post from any thread; TryTake from the task thread.

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <variant>

#include "runtime/network/channels.h"

namespace sluice::taskmanager {

// What kind of snapshot a checkpoint takes (Flink's SnapshotType + SavepointFormatType).
struct CheckpointOptions {
  bool savepoint = false;  // self-contained state (never incremental)
  bool native = false;     // savepoint in native format (RocksDB's own SST files)
  friend bool operator==(const CheckpointOptions&, const CheckpointOptions&) = default;
};

// Why the task is told to take a checkpoint directly rather than through barriers: a source
// task (or a task that consumed all input, which barriers can no longer reach) snapshots and
// emits the barrier on its open outputs (kCheckpoint); a source stopping with a savepoint also
// stops reading afterwards; kFinal is the final checkpoint after all input (FLIP-147), whose
// completion lets the task finish; kDrain (stop --drain) makes a source end its input now, as if
// it were bounded, without a checkpoint.
enum class TriggerReason : uint8_t { kCheckpoint, kStopWithSavepoint, kFinal, kDrain };

struct TriggerCheckpointMail {
  int64_t checkpoint_id = 0;
  int64_t timestamp_ms = 0;
  CheckpointOptions options;
  TriggerReason reason = TriggerReason::kCheckpoint;
};
struct CheckpointCompleteMail {
  int64_t checkpoint_id = 0;
};
struct CheckpointAbortedMail {
  int64_t checkpoint_id = 0;
};
using Mail = std::variant<TriggerCheckpointMail, CheckpointCompleteMail, CheckpointAbortedMail>;

class TaskMailbox {
 public:
  // `gate` is woken on every Post (it may be a gate without channels, for a source task).
  explicit TaskMailbox(std::shared_ptr<network::InputGate> gate) : gate_(std::move(gate)) {}

  void Post(Mail mail) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(mail));
    }
    gate_->Wake();
  }
  std::optional<Mail> TryTake() {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return std::nullopt;
    Mail m = std::move(queue_.front());
    queue_.pop_front();
    return m;
  }

 private:
  std::shared_ptr<network::InputGate> gate_;
  std::mutex mu_;
  std::deque<Mail> queue_;
};

}  // namespace sluice::taskmanager
