#pragma once
// SourceCoordinators: the split enumerators of a job's sources (Flink's SourceCoordinator per
// FLIP-27 source vertex, runtime/api/split_enumerator.h). They live as long as the job runs,
// across failovers: created (and restored from the checkpoint or savepoint being restored) at
// submission, started at the first deployment, told when a reader subtask's attempt runs (they
// re-send its splits), snapshotted when a checkpoint is triggered, closed when the job ends.
//
// Owned by the JobMaster; every method runs on the JobMaster's executor. The enumerators' own
// threads reach the JobMaster only through the Hooks, which must post to its executor.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/split_enumerator.h"
#include "runtime/graph/job_graph.h"

namespace sluice::jobmanager {

class SourceCoordinators {
 public:
  struct Hooks {
    // An enumerator's event for reader `subtask` of source vertex `vertex` (any thread).
    std::function<void(int vertex, int32_t subtask, std::string event)> send;
    // An enumerator asks to fail the job (any thread).
    std::function<void(int vertex, absl::Status cause)> fail;
  };

  // Creates the enumerator of every source vertex that has one and restores it: from
  // `restored_states[uid]` when the restored checkpoint has its state, or as restored without
  // state when only its readers have state there. InvalidArgument naming the source when a
  // state does not restore.
  absl::Status Create(const graph::JobGraph& graph, Hooks hooks,
                      const std::map<std::string, std::string>& restored_states,
                      const std::set<std::string>& restored_uids, const std::string& restore_path);
  // At the first deployment; a failover keeps the running enumerators. Returns the first
  // failure, naming the source.
  absl::Status StartAll();
  // Reader `subtask` of `vertex` runs (a new attempt): its enumerator re-sends its splits.
  void AddReader(int vertex, int subtask);
  // Every enumerator's state by source uid, taken when checkpoint `id` is triggered (before any
  // source sees the trigger). An error names the source.
  absl::StatusOr<std::map<std::string, std::string>> Snapshot(int64_t id);
  // A closed enumerator with its context: destroying it (off the executor) joins the
  // enumerator's threads before the context goes.
  struct Closed {
    std::shared_ptr<api::SplitEnumeratorContext> context;
    std::shared_ptr<api::SplitEnumerator> enumerator;  // destroyed first
  };
  // The job ended: stops the enumerators (non-blocking) and hands them over.
  std::vector<Closed> Close();
  bool empty() const { return coordinators_.empty(); }

 private:
  struct Coordinator {
    int vertex = 0;
    std::string uid;
    std::shared_ptr<api::SplitEnumeratorContext> context;  // outlives the enumerator
    std::shared_ptr<api::SplitEnumerator> enumerator;
    bool started = false;
  };
  std::vector<Coordinator> coordinators_;
};

}  // namespace sluice::jobmanager
