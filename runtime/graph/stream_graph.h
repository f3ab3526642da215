#pragma once
// StreamGraph: the logical dataflow of a job with one node per operator (Flink's StreamGraph),
// as the front ends build it (the YAML job spec today; the C++ API and SQL later). It is a
// directed acyclic graph: any number of sources and sinks, operators with several logical inputs,
// operators whose main output or side outputs feed several downstream operators.
// BuildJobGraph (job_graph.h) checks it and chains it into the JobGraph that is scheduled.
//
// Node and edge fields are plain values and factories; a StreamGraph is immutable once built
// and safe to share between threads.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/api/split_enumerator.h"
#include "runtime/core/types.h"

namespace sluice::graph {

// How records of an edge are distributed over the consumer's subtasks (Flink's
// StreamPartitioner implementations; Name() gives Flink's ship strategy names):
//   kForward   producer subtask i -> consumer subtask i (same parallelism only; chainable),
//   kRebalance round robin over all consumers, starting at the producer's index,
//   kHash      by key group of the key fields (KeyGroupStreamPartitioner),
//   kBroadcast every record to every consumer,
//   kRescale   round robin over the producer's local group of consumers (RescalePartitioner:
//              pointwise, producer i of p feeds consumers [i*q/p, (i+1)*q/p) when q >= p, and
//              the consumer i*q/p when q < p).
enum class PartitionerKind : uint8_t { kForward, kRebalance, kHash, kBroadcast, kRescale };
std::string_view Name(PartitionerKind k);  // "FORWARD", "REBALANCE", "HASH", "BROADCAST", "RESCALE"

using SourceFactory = std::function<absl::StatusOr<std::unique_ptr<api::Source>>()>;
using OperatorFactory = std::function<absl::StatusOr<std::unique_ptr<api::Operator>>()>;

struct StreamNode {
  std::string name;  // "Source: flights", "Filter", "Window(...)", "Sink: delays"
  std::string uid;   // stable id of the operator's state; unique within the job
  int parallelism = 1;
  int max_parallelism = 128;
  // Exactly one of `source` (a source) or `op` (every other operator) is set.
  SourceFactory source;
  // Sources whose splits a split enumerator in the JobMaster assigns (Flink's FLIP-27
  // SourceCoordinator, e.g. Kafka); empty otherwise.
  api::SplitEnumeratorFactory enumerator;
  OperatorFactory op;
  bool keyed = false;   // gets a keyed state backend for its subtask's key groups
  int num_inputs = 1;   // logical inputs of an operator (ProcessInput's index); 0 for sources
  bool sink = false;    // writes externally; has no outputs
  // Emits an updating stream: rows of every RowKind (+I, -U, +U, -D), not only inserts
  // (deduplicate keep-last, top-N). The job compiler tracks it to refuse operators and sinks that
  // need insert-only input.
  bool changelog = false;
  // Schema of the main output (sinks: of their input) and of side outputs 1..n.
  core::SchemaPtr output_schema;
  std::vector<core::SchemaPtr> side_output_schemas;  // [k - 1]: side output k
  bool is_source() const { return static_cast<bool>(source); }
};

struct StreamEdge {
  int source = 0;         // StreamGraph::nodes index
  int source_output = 0;  // 0 = main output, k = side output k
  int target = 0;
  int target_input = 0;   // logical input of the target (0 <= target_input < num_inputs)
  PartitionerKind partitioner = PartitionerKind::kForward;
  std::vector<std::string> key_fields;  // kHash only
};

struct StreamGraph {
  std::string name;
  std::vector<StreamNode> nodes;
  std::vector<StreamEdge> edges;

  // Appends a node or an edge; returns the node's index.
  int AddNode(StreamNode node) {
    nodes.push_back(std::move(node));
    return static_cast<int>(nodes.size()) - 1;
  }
  void AddEdge(StreamEdge edge) { edges.push_back(std::move(edge)); }
  // Schema of output `output` of node `node` (0 = main).
  const core::SchemaPtr& OutputSchema(int node, int output) const {
    const StreamNode& n = nodes[static_cast<size_t>(node)];
    return output == 0 ? n.output_schema : n.side_output_schemas[static_cast<size_t>(output - 1)];
  }
};

// Node indices in a topological order (every edge goes from an earlier to a later node; among
// nodes without an order between them, the lower index first). InvalidArgument when the graph
// has a cycle, naming the operators on it ("'A' -> 'B' -> 'A'").
absl::StatusOr<std::vector<int>> TopologicalOrder(const StreamGraph& graph);

}  // namespace sluice::graph
