#pragma once
// Checkpoint storage on a file system directory (Flink's FsCheckpointStorage /
// FsCheckpointStorageAccess), local or a shared mount, and the runtime metadata of a completed
// checkpoint (Flink's CheckpointMetadata with its OperatorState/KeyGroupsStateHandle, reduced).
//
// Layout, as Flink's:
//   <root>/<job-id>/chk-<n>/_metadata     the completed checkpoint's metadata (JSON)
//   <root>/<job-id>/chk-<n>/<state files> exclusive state of checkpoint n (keyed state etc.)
//   <root>/<job-id>/shared/               shared state of incremental checkpoints (issue #4)
//   <root>/<job-id>/taskowned/            state owned by tasks
//
// Atomic publication: every file is written as `<name>.tmp`, fsynced and renamed; `_metadata`
// is written last, after all state files of the checkpoint, and the directory is fsynced after
// its rename. A checkpoint is complete iff its `_metadata` exists, so a crash at any moment
// leaves either a complete checkpoint or one that readers ignore (ListCompleted,
// LatestCompleted) and refuse (ReadMetadata: NotFound).
//
// Metadata is JSON (nlohmann) with a "format-version"; binary fields (operator state) are
// base64. A SubtaskStateHandle also encodes alone to an opaque string: what a TaskManager sends
// the JobManager in its checkpoint acknowledgement.
//
// Thread safety: CheckpointStorage holds only immutable configuration; its methods may be
// called concurrently from any thread (e.g. asynchronous uploads of several subtasks), as long
// as two callers do not write the same file.
//
// Errors: file system failures are Unavailable (retryable; the checkpoint fails, not the job),
// NotFound for missing checkpoints/files, PermissionDenied, ResourceExhausted (ENOSPC);
// DataLoss for corrupt metadata; InvalidArgument for bad names or unsupported versions. All
// messages name the file.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::checkpoint {

// Version 2 added incremental keyed state; version 1 metadata (no incremental state) is read.
inline constexpr int kMetadataFormatVersion = 2;
inline constexpr char kMetadataFileName[] = "_metadata";
inline constexpr char kSharedDirName[] = "shared";
inline constexpr char kTaskOwnedDirName[] = "taskowned";
inline constexpr char kCheckpointDirPrefix[] = "chk-";

// One file of an incremental RocksDB checkpoint.
struct StateFile {
  std::string name;  // the file's name in the RocksDB checkpoint, e.g. "000012.sst"
  // Where it is, relative to the checkpoint's chk-<n> directory: "../shared/<id>.sst" for SST
  // files (shared between checkpoints), "<file>" for files of this checkpoint only.
  std::string path;
  int64_t size = 0;  // bytes
  // Shared files: the checkpoint that uploaded it (a later one reuses it); 0 for private files.
  int64_t uploaded_by = 0;
  friend bool operator==(const StateFile&, const StateFile&) = default;
};

// Keyed state of one RocksDB backend as an incremental checkpoint (Flink's
// IncrementalRemoteKeyedStateHandle): immutable SST files shared with other checkpoints, the
// checkpoint's own MANIFEST/CURRENT/OPTIONS files, and (in OperatorStateHandle's
// keyed_state_file) a canonical meta snapshot with timers and state names.
struct IncrementalKeyedState {
  int32_t key_group_start = 0;  // the backend's key group range, inclusive
  int32_t key_group_end = -1;
  std::vector<StateFile> shared_files;   // SST files, in <job-id>/shared/
  std::vector<StateFile> private_files;  // in chk-<n>/
  // Bytes this checkpoint uploaded (new SST files, private files, meta snapshot); the full
  // size is OperatorStateHandle::keyed_state_size.
  int64_t checkpointed_size = 0;
  friend bool operator==(const IncrementalKeyedState&, const IncrementalKeyedState&) = default;
};

// State of one operator (by uid) in one subtask.
struct OperatorStateHandle {
  std::string operator_uid;
  std::string operator_state;    // opaque, may be binary (the operator's SnapshotState)
  std::string keyed_state_file;  // relative to the checkpoint dir; empty if none
  // Offset of each key group's section in keyed_state_file (Flink's KeyGroupRangeOffsets).
  std::vector<std::pair<int32_t, uint64_t>> key_group_offsets;
  // bytes of keyed_state_file, plus all files of `incremental` if set
  int64_t keyed_state_size = 0;
  // Set for an incremental RocksDB checkpoint: then keyed_state_file is its meta snapshot.
  std::optional<IncrementalKeyedState> incremental;
  friend bool operator==(const OperatorStateHandle&, const OperatorStateHandle&) = default;
};

// State of one subtask (a chain of operators) of one JobGraph vertex.
struct SubtaskStateHandle {
  int32_t vertex = 0;  // index into CheckpointMetadata::vertices
  int32_t subtask = 0;
  std::vector<OperatorStateHandle> operators;
  friend bool operator==(const SubtaskStateHandle&, const SubtaskStateHandle&) = default;
};

// Everything needed to restore a job from a checkpoint.
struct CheckpointMetadata {
  std::string job_id;
  int64_t checkpoint_id = 0;
  int64_t timestamp_ms = 0;  // trigger time, epoch ms
  int32_t max_parallelism = 0;
  std::vector<std::pair<std::string /*vertex id*/, int32_t /*parallelism*/>> vertices;
  std::vector<SubtaskStateHandle> subtasks;
  // State of the job's source coordinators (split enumerators, api::SplitEnumerator),
  // taken when the checkpoint was triggered, by the source operator's uid; opaque bytes
  // (base64 in JSON, key "coordinators", optional: metadata without it still reads).
  std::map<std::string, std::string> coordinator_states;
  friend bool operator==(const CheckpointMetadata&, const CheckpointMetadata&) = default;
};

// JSON encoding of the metadata (pretty-printed) and back. `source` names where the text came
// from in error messages. DataLoss if malformed or a field is missing/mistyped,
// InvalidArgument if "format-version" is not supported.
std::string EncodeMetadataJson(const CheckpointMetadata& metadata);
absl::StatusOr<CheckpointMetadata> DecodeMetadataJson(std::string_view json,
                                                      std::string_view source);

// Opaque string form of a subtask's handles (compact JSON), for the acknowledgement RPC.
std::string EncodeSubtaskStateHandle(const SubtaskStateHandle& handle);
absl::StatusOr<SubtaskStateHandle> DecodeSubtaskStateHandle(std::string_view encoded);

// `relative` (a state file path of a checkpoint, e.g. "../shared/x.sst") resolved against
// `checkpoint_dir` lexically (without touching the file system, so it works after the
// checkpoint directory is gone).
std::string ResolveStatePath(const std::string& checkpoint_dir, const std::string& relative);

// Makes the copy `savepoint_dir` of checkpoint directory `checkpoint_dir` self-contained: the
// shared files its incremental (native-format) state references outside the directory are
// copied (hard-linked when on the same file system: they are immutable) into
// `<savepoint_dir>/shared/` and its `_metadata` is rewritten to point there. A
// checkpoint without incremental state is left as it is. Errors name the file.
absl::Status MakeSelfContained(const std::string& checkpoint_dir, const std::string& savepoint_dir);

// RFC 4648 base64 with padding. Decode: DataLoss on invalid input.
std::string Base64Encode(std::string_view bytes);
absl::StatusOr<std::string> Base64Decode(std::string_view text);

// The checkpoint directory of one job. Cheap to construct (no I/O).
class CheckpointStorage {
 public:
  CheckpointStorage(std::string root, std::string job_id);

  const std::string& root() const { return root_; }
  const std::string& job_id() const { return job_id_; }
  std::string JobDir() const;               // <root>/<job-id>
  std::string CheckpointDir(int64_t n) const;  // <root>/<job-id>/chk-<n>
  std::string SharedDir() const;            // <root>/<job-id>/shared
  std::string TaskOwnedDir() const;         // <root>/<job-id>/taskowned

  // Creates <job-id>/, shared/ and taskowned/ (Flink's initializeBaseLocationsForCheckpoint).
  // Idempotent. The write methods call it too.
  absl::Status InitializeBaseLocations() const;

  // Writes `bytes` to chk-<n>/<name> atomically (`<name>.tmp`, fsync, rename), creating the
  // directories. `name` is a plain file name (no '/', not "_metadata", no ".tmp" suffix).
  // Returns the path relative to the checkpoint dir (= name).
  absl::StatusOr<std::string> WriteStateFile(int64_t n, std::string_view name,
                                             std::string_view bytes) const;

  // Publishes checkpoint metadata.checkpoint_id: writes chk-<n>/_metadata.tmp, fsyncs it,
  // renames it to _metadata and fsyncs the directory. Call after all state files are written.
  // InvalidArgument if metadata.job_id differs from this storage's job id.
  absl::Status WriteMetadata(const CheckpointMetadata& metadata) const;

  // Reads the metadata of a completed checkpoint; `path` is a chk-<n> directory or its
  // _metadata file. NotFound "no _metadata in <dir>: not a completed checkpoint" when the
  // checkpoint did not complete; DataLoss naming the file when it is corrupt.
  static absl::StatusOr<CheckpointMetadata> ReadMetadata(const std::string& path);

  // Copies the local file `local_path` into shared/<name> atomically (copy to `.tmp`, fsync,
  // rename): an SST file of an incremental checkpoint. Returns the path relative to a chk-<n>
  // directory ("../shared/<name>"). `name` must be a plain file name.
  absl::StatusOr<std::string> UploadSharedFile(const std::string& local_path,
                                               std::string_view name) const;
  // Copies the local file `local_path` into chk-<n>/<name> atomically; returns `name`.
  absl::StatusOr<std::string> UploadStateFile(int64_t n, const std::string& local_path,
                                              std::string_view name) const;
  // Deletes a file by path (shared files that no retained checkpoint references). OK if absent.
  static absl::Status DeleteFile(const std::string& path);

  // Reads a whole file by path (a state file named by a deployment). NotFound naming the path if
  // absent, PermissionDenied / Unavailable for other errors.
  static absl::StatusOr<std::string> ReadFile(const std::string& path);
  // Reads <checkpoint_dir>/<relative>. NotFound naming the path if absent.
  static absl::StatusOr<std::string> ReadStateFile(const std::string& checkpoint_dir,
                                                   const std::string& relative);

  // Ids of completed checkpoints (chk-<n> directories with a _metadata), ascending. Empty if
  // the job directory does not exist.
  absl::StatusOr<std::vector<int64_t>> ListCompleted() const;
  absl::StatusOr<std::optional<int64_t>> LatestCompleted() const;

  // Removes chk-<n> recursively (its _metadata first, so a partly removed checkpoint never looks
  // complete). OK if absent.
  absl::Status Discard(int64_t n) const;

 private:
  std::string root_;
  std::string job_id_;
};

}  // namespace sluice::checkpoint
