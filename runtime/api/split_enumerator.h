#pragma once
// Source coordinator API: the JobMaster side of a FLIP-27 source (Flink's SplitEnumerator, run
// by its SourceCoordinator / OperatorCoordinator). One SplitEnumerator per source vertex of a
// job decides which reader subtask reads which split and tells the readers through operator
// events (opaque bytes) that reach api::Source::HandleOperatorEvent of that subtask.
//
// Lifecycle (driven by the JobMaster, see jobmanager/jobmanager.cc):
//   1. created by the vertex's SplitEnumeratorFactory when the job is submitted;
//   2. RestoreState (the enumerator's bytes from the restored checkpoint/savepoint) or
//      RestoredWithoutState (the job restores reader state but the metadata has no enumerator
//      state: an older savepoint), at most one, before Start;
//   3. Start once, when the job is first deployed (an enumerator may run its own thread, e.g.
//      for periodic discovery);
//   4. AddReader(i) every time reader subtask i is (re)deployed and RUNNING; the enumerator then
//      (re-)sends everything it has assigned to i (Flink's addSplitsBack + addReader: the reader
//      ignores splits it already holds, e.g. restored ones, so re-sending is harmless);
//   5. SnapshotState(n) when checkpoint n is triggered, before the sources see the trigger
//      (Flink's OperatorCoordinator#checkpointCoordinator); the bytes go into the checkpoint's
//      metadata under the source's uid;
//   6. Close when the job reaches a terminal state or the JobManager shuts down; the destructor
//      releases everything (it may block briefly, e.g. joining a thread: the JobMaster destroys
//      enumerators off its executor thread).
// A job failover (restart from the latest checkpoint inside the same JobManager) keeps the
// running enumerator: assignments are never revoked, so its state is a superset of the
// checkpointed one, and AddReader re-sends each redeployed reader its splits.
//
// Threading: the JobMaster calls every method from its executor thread; those calls must not
// block on I/O (no broker requests: discovery runs on the enumerator's own thread). An
// enumerator calls its SplitEnumeratorContext from any of its threads.
//
// State bytes must not depend on the parallelism, so that a savepoint restores at another one.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::api {

// What an enumerator may do to its job (Flink's SplitEnumeratorContext). Provided and owned by
// the JobMaster; outlives the enumerator. All methods are thread-safe and non-blocking.
class SplitEnumeratorContext {
 public:
  virtual ~SplitEnumeratorContext() = default;
  // Parallelism of the source vertex: readers are subtasks 0 .. parallelism-1.
  virtual int32_t parallelism() const = 0;
  // Sends `event` to the current attempt of reader `subtask`, asynchronously; events to one
  // subtask arrive in the order sent. Dropped when that subtask is not RUNNING (the next
  // AddReader of it re-synchronises) or when its attempt changed before delivery (fencing).
  virtual void SendEventToReader(int32_t subtask, std::string event) = 0;
  // Fails the job with `cause` (through its restart strategy; retryable unless the code is
  // FailedPrecondition or InvalidArgument), e.g. when the first discovery cannot reach the
  // cluster. Ignored while the job is not RUNNING.
  virtual void FailJob(absl::Status cause) = 0;
};

class SplitEnumerator {
 public:
  virtual ~SplitEnumerator() = default;
  // See the file comment for the order of calls.
  virtual absl::Status RestoreState(std::string_view state) = 0;
  virtual void RestoredWithoutState() {}
  virtual absl::Status Start() = 0;
  virtual void AddReader(int32_t subtask) = 0;
  virtual absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id) = 0;
  // Stops background work without waiting for it (non-blocking); no context call follows the
  // destructor.
  virtual void Close() = 0;
};

// Creates the enumerator of a source vertex; `context` outlives it. InvalidArgument for bad
// options (the job submission is refused with it).
using SplitEnumeratorFactory =
    std::function<absl::StatusOr<std::unique_ptr<SplitEnumerator>>(SplitEnumeratorContext* context)>;

}  // namespace sluice::api
