#pragma once
// IncrementalUploader: the asynchronous part of incremental RocksDB checkpoints for one keyed
// state backend (Flink's RocksIncrementalSnapshotStrategy with its uploader and
// `uploadedSstFiles`).
//
// At each checkpoint the backend's synchronous part (KeyedStateBackend::SnapshotIncremental)
// leaves a local RocksDB checkpoint: hard links to the immutable SST files plus MANIFEST,
// CURRENT and OPTIONS. Upload() then:
//   - references, without copying, every SST file that the latest checkpoint known to be
//     COMPLETED already uploaded (same file name: SST names are unique within an instance);
//   - copies every other SST file into <root>/<job-id>/shared/<prefix>-<random>.sst;
//   - copies MANIFEST/CURRENT/OPTIONS and writes the meta snapshot into chk-<n>/;
//   - deletes the local checkpoint directory;
// and returns the OperatorStateHandle fields: keyed_state_size (the full size),
// incremental->checkpointed_size (what this checkpoint uploaded).
//
// Only SSTs of a COMPLETED checkpoint are reused (NotifyComplete), never those of one still
// pending, so an aborted checkpoint's new files are referenced by nothing and NotifyAborted
// deletes them. After a restore at the same key group range from this job's own checkpoint,
// Seed() makes the restored SST files the base (the next checkpoint uploads only what changed);
// after any other restore the first checkpoint uploads everything (Flink's NO_CLAIM mode).
//
// Thread safety: none. Call everything on one thread (the task's uploader thread), in order.
// Errors: Upload returns the storage's errors (Unavailable, ResourceExhausted, ...) naming the
// file; the checkpoint is then declined, the job keeps running.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::checkpoint {

class IncrementalUploader {
 public:
  // `file_prefix` names this backend's files (e.g. "<uid>-<subtask>-<attempt>"; plain name).
  IncrementalUploader(CheckpointStorage storage, std::string file_prefix);

  // The backend was restored from `files` (its restored checkpoint's shared SST files, paths
  // relative to a chk-<n> directory of this job) as an identical database.
  void Seed(std::vector<StateFile> files);

  // Uploads `snap` (taken at `checkpoint_id` by a backend of key groups `range`) and deletes
  // snap.files.dir. Sets handle->keyed_state_file, key_group_offsets, keyed_state_size and
  // incremental.
  // With `full` (a native-format savepoint), every SST file is uploaded anew so the result
  // references no earlier checkpoint's files.
  absl::Status Upload(int64_t checkpoint_id, const state::IncrementalSnapshot& snap,
                      core::KeyGroupRange range, OperatorStateHandle* handle, bool full = false);

  // Checkpoint `id` completed: its SST files become the base of later checkpoints.
  void NotifyComplete(int64_t id);
  // Checkpoint `id` was aborted: deletes the shared files it uploaded (nothing else can
  // reference them).
  void NotifyAborted(int64_t id);

  // Number of SST files in the current base.
  size_t base_size() const { return base_.size(); }

 private:
  CheckpointStorage storage_;
  std::string prefix_;
  std::map<std::string, StateFile> base_;  // by RocksDB file name
  int64_t base_id_ = 0;                     // the completed checkpoint base_ comes from
  // Per checkpoint not yet completed or aborted: all its SSTs, and the ones it uploaded.
  struct Uploaded {
    std::map<std::string, StateFile> ssts;
    std::vector<std::string> new_paths;  // relative to a chk dir
  };
  std::map<int64_t, Uploaded> pending_;
};

}  // namespace sluice::checkpoint
