#pragma once
// JobGraph: the dataflow that is scheduled (Flink's JobGraph). Its vertices are chains of
// operators that run as one task per subtask; its edges connect the output of one operator of a
// chain to a logical input of the head operator of another chain, with a partitioner. It is a
// DAG: any number of source and sink vertices, vertices with several input edges, operators
// whose outputs (main and side outputs) feed several chained operators and edges.
//
// BuildJobGraph() makes it from a StreamGraph with Flink's chaining rule
// (StreamingJobGraphGenerator#isChainable): an operator joins the chain of its upstream operator
// when the edge between them is FORWARD, both have the same parallelism, and it is the
// operator's only input edge. A chain is a tree rooted at its head (the source, or the operator
// fed by the vertex's input edges): one operator may chain several downstream operators.
//
// Vertices are in topological order (every edge goes from a lower to a higher vertex index), and
// so are the operators inside a vertex. Operators are created by factories so that every subtask
// (on any TaskManager) builds its own instances from the same compiled graph: the JobManager
// and every TaskManager compile the same spec text, so they agree on every index.
// Immutable after construction; safe to share between threads.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/graph/job_config.h"
#include "runtime/graph/stream_graph.h"

namespace sluice::graph {

// Where one output of a chain element goes: chained operators (JobVertex::operators indices,
// function calls) and job edges (JobGraph::edges indices, network).
struct OutputTargets {
  std::vector<int> chained;
  std::vector<int> edges;
  bool empty() const { return chained.empty() && edges.empty(); }
};

struct ChainedSource {
  std::string name;
  std::string uid;
  SourceFactory factory;
  api::SplitEnumeratorFactory enumerator;  // empty: readers find their splits themselves
  core::SchemaPtr output_schema;
  OutputTargets outputs;
};

struct ChainedOperator {
  std::string name;  // "Filter", "Window(TumblingEventTimeWindows(3600000))", "Sink: delays"
  std::string uid;
  OperatorFactory factory;
  bool keyed = false;
  int num_inputs = 1;
  bool sink = false;
  core::SchemaPtr output_schema;  // sinks: their input schema
  std::vector<core::SchemaPtr> side_output_schemas;
  // [0]: the main output, [k]: side output k.
  std::vector<OutputTargets> outputs;
};

struct JobVertex {
  int index = 0;
  std::string id;    // 32 hex characters, derived from the job name and its operators' uids
  std::string name;  // Flink's chained name: "Source: a -> Filter -> (Sink: x, Sink: y)"
  int parallelism = 1;
  int max_parallelism = 128;
  // A source vertex starts with its source; every other vertex with operators[0], the head,
  // which receives the records of the input edges.
  std::optional<ChainedSource> source;
  std::vector<ChainedOperator> operators;
  std::vector<int> inputs;   // JobGraph::edges into this vertex: input gate i = edges[inputs[i]]
  std::vector<int> outputs;  // JobGraph::edges leaving this vertex
  bool is_source() const { return source.has_value(); }
  // Logical inputs of the head operator (0 for a source vertex).
  int num_logical_inputs() const {
    return is_source() || operators.empty() ? 0 : operators.front().num_inputs;
  }
  // uids of all operators of the chain, the source first.
  std::vector<std::string> uids() const;
};

struct JobEdge {
  int index = 0;
  int source = 0;            // vertex
  int source_operator = -1;  // chain element of the source vertex: -1 its source, else operators[i]
  int source_output = 0;     // 0 = main output, k = side output k
  int target = 0;            // vertex
  int target_gate = 0;       // index in the target's `inputs`
  int target_input = 0;      // logical input of the target's head operator
  PartitionerKind partitioner = PartitionerKind::kForward;
  std::vector<std::string> key_fields;  // kHash only
  core::SchemaPtr schema;
};

struct JobGraph {
  std::string name;
  int parallelism = 1;  // the job's default parallelism
  int max_parallelism = 128;
  JobConfig config;
  std::vector<JobVertex> vertices;
  std::vector<JobEdge> edges;

  bool checkpointing_enabled() const { return config.checkpointing_enabled(); }
  const JobVertex& vertex(int i) const { return vertices[static_cast<size_t>(i)]; }
  const JobEdge& edge(int i) const { return edges[static_cast<size_t>(i)]; }
  // Slots the job needs with slot sharing (Flink's default): the largest vertex parallelism.
  int RequiredSlots() const;
  int TotalSubtasks() const;
};

// Checks `stream` and chains it (see the file comment). InvalidArgument naming the operators
// for: a cycle, an edge naming a missing node or output or input, an operator input without
// edges, a source with an input, a sink with an output, a FORWARD edge between different
// parallelisms, a HASH edge without key fields, edges into one logical input whose schemas
// differ. `name`, `parallelism`, `max_parallelism` and `config` are copied into the result.
absl::StatusOr<JobGraph> BuildJobGraph(const StreamGraph& stream, int parallelism,
                                       int max_parallelism, JobConfig config);

}  // namespace sluice::graph
