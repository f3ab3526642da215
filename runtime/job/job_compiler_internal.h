#pragma once
// The job spec compiler's internals (runtime/job/job_compiler.h is the interface): the
// compiler's view of streams (Flow), pipeline steps as written (StepDecl), and the Compiler,
// whose members are split between job_compiler.cc (top level, sources, sinks, checks) and
// step_graph.cc (steps: parsing, inputs, order, operators and their edges).
// Not thread-safe; one Compiler compiles one submission.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/graph/stream_graph.h"
#include "runtime/job/job_compiler.h"
#include "runtime/job/node_compilers.h"
#include "runtime/job/spec_reader.h"

namespace sluice::job::internal {

using graph::PartitionerKind;

// One output of a node: main (0) or a side output.
struct Endpoint {
  int node = 0;
  int output = 0;
};

// A stream as steps and sinks consume it: the outputs it unites (one, or several after a
// union), their common schema, and how it is partitioned when the next operator reads it.
struct Flow {
  std::vector<Endpoint> endpoints;
  core::SchemaPtr schema;
  bool has_event_time = false;
  std::optional<PartitionerKind> partitioner;  // unset: forward, or rebalance across parallelisms
  std::vector<std::string> key_fields;          // kHash
  YAML::Node partitioned_at;                    // the partitioning step, for messages
  // An updating stream (a changelog with -U/+U/-D rows), and which step made it so.
  bool updating = false;
  std::string updating_from = {};
};

// A pipeline step as written, before compilation.
struct StepDecl {
  int position = 0;  // 1-based in `pipeline:`
  StepKind kind = StepKind::kFilter;
  YAML::Node step, body;
  std::optional<YAML::Node> name, uid, input, side_output;  // set when the step has the key
  bool has_parallelism = false;
  // Producers of its input(s): another step (index into steps) or a source (-1 - source index).
  std::vector<int> producers;
  std::vector<int> producer_outputs;  // 0 = main, 1 = the producer's side output
  bool implicit_input = false;        // reads the step before it
  std::optional<Flow> out;            // compiled: its main output
  std::optional<Flow> side;           // compiled: its side output
  std::optional<IntervalJoinInputs> join;  // interval-join: its inputs and keys
  int consumers = 0;
  int side_consumers = 0;

  std::string_view op() const { return StepKindName(kind); }
};

class Compiler {
 public:
  explicit Compiler(const JobSubmission& sub) : sub_(sub), r_(sub.spec_path, sub.base_dir) {
    if (sub.plugin != nullptr && !sub.plugin->scalar_functions.empty()) {
      r_.set_functions(
          std::make_shared<const expr::ScalarFunctions>(sub.plugin->scalar_functions));
    }
  }
  absl::StatusOr<graph::JobGraph> Compile();

 private:
  absl::Status CompileTopLevel(const YAML::Node& root);
  absl::Status CompileSources(const YAML::Node& root);
  absl::Status ParseSteps(const YAML::Node& pipeline);
  absl::Status ResolveInputs();
  absl::StatusOr<std::vector<int>> OrderSteps() const;
  absl::Status CompileStep(StepDecl& s);
  absl::Status CompileSinks(const YAML::Node& root);
  // The producer of stream `name` as (producer, output); error naming `at` when unknown or
  // ambiguous.
  absl::StatusOr<std::pair<int, int>> Lookup(const YAML::Node& at) const;
  // The flow produced by producer p (step index, or -1 - source index), output o.
  Flow& FlowOf(int producer, int output);
  void Consume(int producer, int output);
  std::string Describe(int producer) const;
  // Connects every endpoint of `in` to input `input` of `node`.
  void Connect(const Flow& in, int node, int input = 0);
  absl::Status CompileTwoInputStep(StepDecl& s);
  // InvalidArgument at `at` when `in` is updating and step `s` needs an insert-only stream.
  absl::Status CheckInsertOnly(const StepDecl& s, const Flow& in, const YAML::Node& at) const;
  absl::Status CheckAllUsed() const;
  // JobSubmission::operator_parallelism, over the parallelism the spec gave each operator.
  absl::Status ApplyParallelismOverrides();

  const JobSubmission& sub_;
  SpecReader r_;
  int parallelism_ = 1;
  int max_parallelism_ = 128;
  graph::StreamGraph sg_;
  struct SourceDecl {
    std::string stream;
    YAML::Node node;
    Flow flow;
    int consumers = 0;
  };
  std::vector<SourceDecl> sources_;
  std::vector<StepDecl> steps_;
  // Stream names: name -> producers (several = ambiguous when referenced).
  std::map<std::string, std::vector<std::pair<int, int>>> names_;
};

}  // namespace sluice::job::internal
