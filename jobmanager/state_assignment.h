#pragma once
// StateAssignment: which subtask restores which state (Flink's StateAssignmentOperation), as pure
// functions of a checkpoint's metadata and the JobGraph being deployed. State is matched by
// operator uid, never by position, so a restored job may have another shape (a DAG that gained
// or lost operators, other chains) as long as its uids match:
// - non-keyed operator state: at the same parallelism the state of the same subtask index;
//   rescaled, the states of all old subtasks (union list state) with the old parallelism;
// - keyed state: the files of every old subtask whose key groups overlap the new subtask's range
//   (Flink's KeyGroupRangeAssignment), canonical or incremental RocksDB state.
//
// Thread-compatible; no I/O.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "runtime/graph/job_graph.h"

namespace sluice::jobmanager {

// Checks that `md` (read from `restore_path`) can restore `graph`. InvalidArgument naming the
// operator uid for: state of an operator the job does not have (unless `allow_non_restored`:
// then it is skipped with a warning), incremental RocksDB state for a job on the heap backend,
// keyed state taken at another max parallelism.
absl::Status CheckRestore(const checkpoint::CheckpointMetadata& md, const graph::JobGraph& graph,
                          bool allow_non_restored, const std::string& restore_path);

// The state subtask `subtask` of `vertex` restores from `md`, whose files are under
// `checkpoint_dir` (the chk-<n> or savepoint directory). Operators without state are left out.
std::vector<deployment::RestoredOperatorState> AssignState(const checkpoint::CheckpointMetadata& md,
                                                           const std::string& checkpoint_dir,
                                                           const graph::JobVertex& vertex,
                                                           int subtask);

// "<dir>/chk-7/_metadata" or "<dir>/chk-7/" -> "<dir>/chk-7".
std::string CheckpointDirOf(const std::string& path);

}  // namespace sluice::jobmanager
