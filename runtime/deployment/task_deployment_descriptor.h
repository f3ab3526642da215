#pragma once
// TaskDeploymentDescriptor: everything a TaskManager needs to run one subtask attempt (Flink's
// TaskDeploymentDescriptor): which job (its spec, which every TaskManager compiles to the same
// JobGraph), which vertex and subtask, the attempt id that fences all its messages, where the
// consumers of each of its output edges run, and the state to restore per operator uid.
//
// The JobMaster's Scheduler builds it (StateAssignment fills `restored`); the gRPC adapters
// convert it to and from the SubmitTask message (proto/convert). Plain values; thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/base/ids.h"
#include "runtime/job/job_compiler.h"

namespace sluice::deployment {

// Where one consumer subtask of an output edge runs.
struct ConsumerLocation {
  int subtask = 0;
  ExecutionAttemptId attempt_id;
  std::string address;  // its TaskManager's host:port
  friend bool operator==(const ConsumerLocation&, const ConsumerLocation&) = default;
};

// A keyed state file of a checkpoint with the offset of each key group's section in it.
struct KeyedStateFile {
  std::string path;  // absolute
  std::vector<std::pair<int32_t, uint64_t>> key_group_offsets;
  friend bool operator==(const KeyedStateFile&, const KeyedStateFile&) = default;
};

// A file of an incremental RocksDB checkpoint to restore from.
struct IncrementalStateFile {
  std::string name;           // its name in the RocksDB checkpoint ("000012.sst")
  std::string path;           // absolute path to copy it from
  std::string relative_path;  // as written in the checkpoint metadata
  int64_t size = 0;           // bytes
  int64_t uploaded_by = 0;    // checkpoint that uploaded it (shared files)
  bool shared = false;        // an SST file in <job-id>/shared/
  friend bool operator==(const IncrementalStateFile&, const IncrementalStateFile&) = default;
};

// One old subtask's incremental RocksDB keyed state.
struct IncrementalKeyedState {
  int32_t key_group_start = 0;
  int32_t key_group_end = 0;  // inclusive
  std::vector<IncrementalStateFile> files;
  KeyedStateFile meta;  // the canonical meta snapshot (timers, state names)
  friend bool operator==(const IncrementalKeyedState&, const IncrementalKeyedState&) = default;
};

// The state one operator (by uid) of the subtask restores.
struct RestoredOperatorState {
  std::string operator_uid;
  // Same parallelism: the non-keyed state of the same subtask index (nullopt: none).
  std::optional<std::string> operator_state;
  std::vector<KeyedStateFile> keyed_state;  // every old file overlapping this key-group range
  // Rescaling: the non-keyed states of all old subtasks (union list state), their parallelism.
  std::vector<std::string> union_states;
  int32_t restored_parallelism = 0;
  std::vector<IncrementalKeyedState> incremental_state;
  friend bool operator==(const RestoredOperatorState&, const RestoredOperatorState&) = default;
};

struct TaskDeploymentDescriptor {
  JobId job_id;
  ExecutionAttemptId attempt_id;
  job::JobSubmission job;  // the spec: every TaskManager compiles the same JobGraph from it
  int vertex = 0;
  int subtask = 0;
  int attempt_number = 0;
  // Per output edge of the vertex (JobVertex::outputs order): its consumers, by subtask index.
  std::vector<std::vector<ConsumerLocation>> outputs;
  std::string jobmanager_id;  // the TaskManager refuses tasks of another JobManager
  int64_t buffer_timeout_ms = 5;  // execution.buffer-timeout; 0 = flush every batch
  std::string checkpoint_dir;     // state.checkpoints.dir root; empty = no checkpointing
  std::vector<RestoredOperatorState> restored;
  int64_t restored_checkpoint_id = 0;
  // The restored checkpoint is this job's own (a failover): incremental checkpoints may keep
  // referencing its shared files.
  bool restored_from_own_checkpoint = false;

  const RestoredOperatorState* RestoredFor(const std::string& uid) const {
    for (const auto& r : restored) {
      if (r.operator_uid == uid) return &r;
    }
    return nullptr;
  }
};

}  // namespace sluice::deployment
