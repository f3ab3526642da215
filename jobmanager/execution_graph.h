#pragma once
// ExecutionGraph: the parallel, physical view of a job (Flink's ExecutionGraph). One
// ExecutionVertex per subtask of each JobVertex, each with its current Execution attempt: an
// attempt id (the fencing token of every message from the TaskManager), an ExecutionState that
// changes only through the table of runtime/graph/states.h (Transition), the slot it was
// deployed to, its last metrics and failure. Prior attempts stay known, so that a late message
// of a replaced attempt is recognised and dropped (fencing).
//
// Owned by its JobMaster and touched on the JobMaster's executor only: no locks.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/base/ids.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/states.h"
#include "runtime/metrics/meter.h"

namespace sluice::jobmanager {

// Counters of one subtask attempt, from heartbeats and state reports.
// Per-second rates over the last window of at least 1 s (metrics::Meter, Flink's MeterView).
struct MetricRates {
  double records_in = 0, records_out = 0, bytes_in = 0, bytes_out = 0;
  double busy_ms = 0, idle_ms = 0, backpressured_ms = 0;
};

struct TaskMetrics {
  int64_t records_in = 0;
  int64_t records_out = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
  int64_t late_records_dropped = 0;
  // Keyed state and connector gauges (summed over subtasks, "-max" names: maximum).
  std::map<std::string, int64_t> gauges;
  std::map<std::string, int64_t> sink_records;  // rows written per sink operator, by name
  // Flink's currentInputWatermark / currentOutputWatermark, epoch ms (INT64_MIN: none yet).
  int64_t current_input_watermark = INT64_MIN;
  int64_t current_output_watermark = INT64_MIN;
  // Task thread time since the task started, ms.
  int64_t busy_time_ms = 0, idle_time_ms = 0, backpressured_time_ms = 0;
  MetricRates rates;  // derived by the JobMaster (UpdateMetrics)
};



// One attempt at running a subtask (Flink's Execution).
struct Execution {
  int vertex = 0;
  int subtask = 0;
  int attempt_number = 0;
  ExecutionAttemptId attempt_id;
  graph::ExecutionStateMachine state{graph::ExecutionState::kCreated};
  std::string taskmanager;  // resource id; empty until scheduled
  std::string location;     // the TaskManager's address
  TaskMetrics metrics;
  std::string failure;
  bool end_of_input = false;  // consumed all input, waits for the final checkpoint
  // Rates of records in/out, bytes in/out, busy, idle and back-pressured time (MetricRates).
  std::array<metrics::Meter, 7> meters;

  // Stores a metrics report and derives the per-second rates from the counters' deltas.
  void UpdateMetrics(TaskMetrics reported, int64_t now_ms);
};

class ExecutionGraph {
 public:
  explicit ExecutionGraph(const graph::JobGraph& graph);

  // Any attempt ever made (for fencing), or null.
  Execution* Find(const ExecutionAttemptId& attempt);
  bool IsCurrent(const Execution& e) const;
  Execution& at(int vertex, int subtask) { return *current_[static_cast<size_t>(vertex)][static_cast<size_t>(subtask)]; }
  // The current attempt of every subtask, vertex by vertex.
  std::vector<Execution*> Current();
  template <typename F>
  void ForEach(F&& f) {
    for (auto& v : current_) {
      for (auto& e : v) f(*e);
    }
  }
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& v : current_) {
      for (const Execution* e : v) f(*e);
    }
  }

  // Changes `e`'s state through the legal-edge table and logs it in Flink's form
  // ("<task> (<attempt id>) switched from A to B."). False (and a warning) if the edge is
  // illegal; true if `e` already is in `to`.
  bool Transition(Execution& e, graph::ExecutionState to, const std::string& failure = "");
  // A new attempt for every subtask (a restart); the old ones stay findable.
  void NewAttempts();

  bool AllIn(graph::ExecutionState s) const;
  bool AllTerminal() const;
  // Flink's aggregate state of a vertex: failures first, then the furthest-behind subtask.
  graph::ExecutionState VertexState(int vertex) const;
  std::array<int, graph::kNumExecutionState> StateCounts() const;
  // "<vertex name> (<subtask+1>/<parallelism>)#<attempt>".
  std::string TaskName(const Execution& e) const;
  int num_vertices() const { return static_cast<int>(current_.size()); }
  int num_subtasks(int vertex) const { return static_cast<int>(current_[static_cast<size_t>(vertex)].size()); }

 private:
  std::unique_ptr<Execution> NewExecution(int vertex, int subtask, int attempt_number);

  const graph::JobGraph& graph_;
  std::vector<std::vector<Execution*>> current_;  // [vertex][subtask]
  std::map<ExecutionAttemptId, std::unique_ptr<Execution>> all_;
};

}  // namespace sluice::jobmanager
