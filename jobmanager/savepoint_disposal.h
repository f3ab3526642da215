#pragma once
// Savepoint disposal (Flink's SavepointDisposalHandlers: POST /savepoint-disposal, then poll
// GET /savepoint-disposal/:triggerid; `sluice savepoint dispose <path>`). Sluice never deletes a
// savepoint on its own; this deletes one a user names, after checking that it is one: the path
// (a savepoint directory or its _metadata file) must hold a completed checkpoint's `_metadata`
// and be named `savepoint-*` as Sluice names them, so a checkpoint of a running job, whose
// shared files other checkpoints reference, is never deleted by mistake.
//
// The deletion runs within Trigger (a savepoint is one directory of files); its outcome is kept
// for polling, the last 256 operations.
//
// Thread safety: thread-safe.

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace sluice::jobmanager {

struct DisposalResult {
  std::string path;     // the savepoint directory
  std::string failure;  // empty when it was deleted
};

class SavepointDisposer {
 public:
  // Returns the trigger id. InvalidArgument for an empty path. Failures to delete (not a
  // savepoint, no such path, permission denied) are reported through Get, as Flink does.
  absl::StatusOr<std::string> Trigger(const std::string& path);
  // NotFound for an unknown (or long forgotten) trigger id.
  absl::StatusOr<DisposalResult> Get(const std::string& trigger_id) const;

 private:
  static constexpr size_t kMaxKept = 256;
  mutable std::mutex mu_;
  std::deque<std::pair<std::string, DisposalResult>> results_;  // oldest first
};

}  // namespace sluice::jobmanager
