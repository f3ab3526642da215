#pragma once
// JobGraph: the logical dataflow of a job (Flink's JobGraph). Vertices are chains of operators
// that run as one task per subtask; edges carry a partitioner. v1 jobs are linear: vertex i feeds
// vertex i+1 through edges[i]. Operators are created by factories so that every subtask (on any
// TaskManager) builds its own instances from the same compiled graph.
//
// Built by runtime/job (YAML spec -> JobGraph) on the JobManager for scheduling and on every
// TaskManager for execution; both compile the same spec text, so they agree.
// Immutable after construction; safe to share between threads.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/operators/operator.h"
#include "runtime/operators/split_enumerator.h"

namespace sluice::graph {

enum class PartitionerKind { kForward, kRebalance, kHash };
std::string_view Name(PartitionerKind k);  // "FORWARD", "REBALANCE", "HASH" (Flink's ship strategy)

using SourceFactory = std::function<absl::StatusOr<std::unique_ptr<operators::Source>>()>;
using OperatorFactory = std::function<absl::StatusOr<std::unique_ptr<operators::Operator>>()>;

struct ChainedOperator {
  std::string name;  // "Filter", "Window(TumblingEventTimeWindows(3600000))", "Sink: delays"
  std::string uid;   // stable id: explicit in the spec or derived ("filter-1")
  OperatorFactory factory;
  bool keyed = false;  // gets a keyed state backend for the key groups of its subtask
};

struct JobVertex {
  int index = 0;
  std::string id;    // 32 hex characters, derived from the uids of its operators
  std::string name;  // operator names joined by " -> ", as Flink names chained tasks
  int parallelism = 1;
  int max_parallelism = 128;
  // Exactly one of: a source (the first vertex) or an input edge (edges[index - 1]).
  SourceFactory source;
  std::string source_name;
  std::string source_uid;
  // Sources with a split enumerator in the JobMaster (Flink's FLIP-27 SourceCoordinator, e.g.
  // Kafka): creates it; empty for sources whose readers find their splits themselves. The
  // JobMaster runs one per vertex and routes its events to the readers' HandleOperatorEvent.
  operators::SplitEnumeratorFactory enumerator;
  core::SchemaPtr input_schema;  // schema of batches arriving on the input edge
  std::vector<ChainedOperator> operators;
  core::SchemaPtr output_schema;  // schema leaving the last operator
  bool is_source() const { return static_cast<bool>(source); }
};

struct JobEdge {
  int source = 0;
  int target = 0;
  PartitionerKind partitioner = PartitionerKind::kForward;
  std::vector<std::string> key_fields;  // kHash only
  core::SchemaPtr schema;
};

struct JobGraph {
  std::string name;
  int parallelism = 1;
  int max_parallelism = 128;
  // Job settings with Flink's flat keys ("execution.checkpointing.interval",
  // "restart-strategy.type", ...), as written in the spec; interpreted by the JobManager.
  std::map<std::string, std::string> settings;
  bool checkpointing_enabled() const;
  std::vector<JobVertex> vertices;
  std::vector<JobEdge> edges;  // edges[i]: vertices[i] -> vertices[i + 1]

  const JobEdge* input_edge(int vertex) const {
    return vertex > 0 ? &edges[static_cast<size_t>(vertex - 1)] : nullptr;
  }
  const JobEdge* output_edge(int vertex) const {
    return static_cast<size_t>(vertex) < edges.size() ? &edges[static_cast<size_t>(vertex)]
                                                      : nullptr;
  }
  // Slots the job needs with slot sharing (Flink's default): the largest vertex parallelism.
  int RequiredSlots() const;
  int TotalSubtasks() const;
};

}  // namespace sluice::graph
