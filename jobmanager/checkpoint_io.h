#pragma once
// CheckpointIo: the file-system side of one job's checkpoints, off the JobMaster's executor:
// writing `_metadata`, discarding checkpoints, deleting shared files no checkpoint references,
// copying a completed checkpoint into a self-contained savepoint directory. Everything runs in
// submission order on one I/O thread, so a discard never races the metadata write of the same
// checkpoint (CheckpointCoordinator's contract), and each result is handed to `done`, which runs
// on the I/O thread (callers post it to their executor).
//
// Lifecycle: owned by the job's CheckpointDispatcher; Shutdown() runs what is queued and joins.
// Threading: thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/base/serial_executor.h"
#include "runtime/checkpoint/checkpoint_storage.h"

namespace sluice::jobmanager {

class CheckpointIo {
 public:
  explicit CheckpointIo(checkpoint::CheckpointStorage storage) : storage_(std::move(storage)) {}
  ~CheckpointIo() { Shutdown(); }

  const checkpoint::CheckpointStorage& storage() const { return storage_; }
  void WriteMetadata(checkpoint::CheckpointMetadata md, std::function<void(absl::Status)> done);
  void Discard(int64_t checkpoint_id);
  void DeleteFiles(std::vector<std::string> paths);
  // Deletes a directory tree (a transient savepoint, a discarded job's checkpoints); failures
  // are logged.
  void DeleteDirectory(std::string dir);
  // Copies chk-<checkpoint_id> to `target` and makes it self-contained.
  void CopyToSavepoint(int64_t checkpoint_id, std::string target,
                       std::function<void(absl::Status)> done);
  void Shutdown() { io_.Shutdown(); }

 private:
  checkpoint::CheckpointStorage storage_;
  SerialExecutor io_;
};

}  // namespace sluice::jobmanager
