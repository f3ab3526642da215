#pragma once
// Read-only views of jobs and TaskManagers that the JobManager's core hands to its edges (the
// gRPC services and the REST API convert them to their wire shapes). Plain values.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "jobmanager/execution_graph.h"
#include "runtime/base/ids.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/states.h"
#include "runtime/job/job_compiler.h"

namespace sluice::jobmanager {

struct SubtaskView {
  int subtask = 0;
  graph::ExecutionState state = graph::ExecutionState::kCreated;
  int attempt = 0;
  std::string taskmanager_id;
  std::string location;
  TaskMetrics metrics;
  std::string failure;
  int64_t start_ms = 0;  // epoch ms it was deployed, 0 if not yet
  int64_t end_ms = -1;   // epoch ms it ended, -1 while not terminal
  // Epoch ms each ExecutionState was entered, 0 if never (indexed by the state).
  std::array<int64_t, graph::kNumExecutionState> state_ms{};
};

// An input edge of a vertex (Flink's JobPlanInfo input).
struct VertexInputView {
  std::string source_vertex_id;
  graph::PartitionerKind ship_strategy = graph::PartitionerKind::kForward;
  int logical_input = 0;  // of the vertex's head operator
  int side_output = 0;    // 0: the producer's main output
};

struct VertexView {
  std::string id;
  std::string name;  // the chain: "Source: a -> Filter -> (Sink: x, Sink: y)"
  int parallelism = 1;
  int max_parallelism = 128;
  graph::ExecutionState state = graph::ExecutionState::kCreated;
  std::vector<std::string> operators;  // chained operators in order (the source first)
  std::vector<std::string> uids;       // their uids
  std::vector<VertexInputView> inputs;
  std::vector<SubtaskView> subtasks;
};

struct JobSummaryView {
  JobId id;
  std::string name;
  graph::JobStatus state = graph::JobStatus::kInitializing;
  int64_t start_ms = 0;
  int64_t end_ms = -1;  // -1 while not terminal
  std::string failure_cause;
  std::string status_message;  // why the job waits, while CREATED
  std::array<int, graph::kNumExecutionState> task_counts{};
  std::array<int64_t, graph::kNumJobStatus> state_timestamps{};  // epoch ms last entered, 0 never
  // Flink's job metrics (numRestarts, uptime, downtime, checkpoint counters, gauges).
  std::map<std::string, int64_t> metrics;
};

struct JobDetailsView {
  JobSummaryView summary;
  std::vector<VertexView> vertices;
  job::JobSubmission submission;  // as submitted (for `sluice rescale`)
};

}  // namespace sluice::jobmanager
