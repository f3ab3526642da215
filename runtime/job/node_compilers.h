#pragma once
// The parts of the job spec compiler (runtime/job/job_compiler.h), each turning one kind of YAML
// section into StreamGraph nodes or settings: sources (file, datagen, kafka), sinks (file, print,
// kafka), pipeline steps (filter, map, project, window) and the job's settings (JobConfig). All
// errors are SpecReader errors with the location of the node at fault.
//
// Pure functions of their input; thread-compatible.

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/graph/job_config.h"
#include "runtime/graph/stream_graph.h"
#include "runtime/job/spec_reader.h"
#include "runtime/operators/window_aggregates.h"
#include "sluice/environment.h"

namespace sluice::job {

// Defaults of a source or sink node that depend on where it is written in the spec.
struct NodeDefaults {
  std::string name;  // display name ("Source: <name>"); empty = the connector type
  std::string uid;   // state id unless the node gives `uid:`
  int parallelism = 1;
  int max_parallelism = 128;
  std::set<std::string> extra_keys;  // keys the caller reads itself (e.g. `input` of a sink)
  // Sinks of an updating stream: which step makes it updating (empty: insert-only input).
  std::string updating_from = {};
};

struct CompiledSource {
  graph::StreamNode node;
  bool has_event_time = false;  // declares `event-time:` (its records carry timestamps)
};
absl::StatusOr<CompiledSource> CompileSource(const SpecReader& r, const YAML::Node& node,
                                             const NodeDefaults& defaults);
// `source: {type: nexmark}` into *v (nexmark_source_compiler.cc); called by CompileSource.
absl::Status CompileNexmarkSource(const SpecReader& r, const NodeDefaults& defaults,
                                  const YAML::Node& node, graph::StreamNode* v);

// A sink node consuming records of `input`.
absl::StatusOr<graph::StreamNode> CompileSink(const SpecReader& r, const YAML::Node& node,
                                              core::SchemaPtr input, const NodeDefaults& defaults);

// `checkpointing:`, `state:` and `restart-strategy:` of the top level.
absl::StatusOr<graph::JobConfig> CompileJobConfig(const SpecReader& r, const YAML::Node& root);

// What a step of `pipeline:` does: an operator (filter, map, project, window), a partitioning
// (key-by, rebalance, broadcast, rescale; Flink's partition transformations) or a union.
enum class StepKind {
  kFilter, kMap, kProject, kFlatMap, kWindow, kDeduplicate, kAggregate, kLookupJoin,
  kIntervalJoin, kWindowJoin, kJoin, kProcess, kTopN, kOver, kKeyBy, kRebalance, kBroadcast, kRescale,
  kUnion,
};
// Steps that read an updating stream (a changelog with -U/+U/-D rows) and pass the rows' kinds
// on unchanged: filter, map, project, flat-map, the partitionings and union. Every other
// operator needs an insert-only input.
bool PassesChangelog(StepKind kind);
// Operators that need a key-by right before them (window, deduplicate, aggregate).
bool IsKeyed(StepKind kind);
// The spec's name of `kind` ("key-by" for kKeyBy), as messages and default uids print it.
std::string_view StepKindName(StepKind kind);
// The kind a step key names ("key_by" is accepted for "key-by"); nullopt when none.
std::optional<StepKind> ParseStepKind(std::string_view name);
bool IsPartitioning(StepKind kind);
// "filter, map, ...": every step name, for error messages.
std::string StepKindNames();

// One operator step of `pipeline:` (filter, map, project, window). `body` is the operator's
// value, `step` the whole step mapping (for its location). The node gets `name`, `uid`,
// `parallelism` and `max_parallelism` from the caller.
struct StepContext {
  StepKind kind = StepKind::kFilter;   // an operator kind: filter, map, project or window
  YAML::Node step;                     // the step (for locations)
  YAML::Node body;                     // the operator's value
  core::SchemaPtr input;               // schema of the step's input
  bool input_has_event_time = false;
  std::vector<std::string> key_fields;  // set by a key-by before a keyed operator
  bool side_output = false;            // the step declares `side-output:`
  const sluice::JobDefinition* plugin = nullptr;  // the job's C++ functions, if any
  bool updating_input = false;          // the input is an updating stream (aggregate only)
};
absl::StatusOr<graph::StreamNode> CompileStepOperator(const SpecReader& r, const StepContext& ctx);
// `aggregates:` of a window, aggregate or over step: an ordered mapping of output names to
// 'fn(field)' or 'count()'; `what` names the step in messages.
absl::StatusOr<std::vector<operators::AggregateSpec>> ParseAggregates(const SpecReader& r,
                                                                      const YAML::Node& body,
                                                                      std::string_view what);
// `over:` (over_compiler.cc): an OVER aggregation (operators/over_aggregate.h) after a key-by.
absl::StatusOr<graph::StreamNode> CompileOver(const SpecReader& r, const StepContext& ctx);
// `interval-join:`, `window-join:` and `join:` (join_compiler.cc): the two inputs (stream
// names) and their keys, read before the graph is built; then the node (two inputs, keyed),
// given both input schemas.
// kConnect: a `process` step with two `inputs:` (a user co-process or broadcast-process
// function); its keys may be empty and its second input may be broadcast.
enum class JoinKind { kInterval, kRegular, kWindow, kConnect };
struct IntervalJoinInputs {
  YAML::Node left, right;  // the `input:` stream names
  std::vector<std::string> left_keys, right_keys;
  JoinKind kind = JoinKind::kInterval;
  bool right_broadcast = false;  // kConnect only
};
absl::StatusOr<IntervalJoinInputs> IntervalJoinInputsOf(const SpecReader& r,
                                                        const YAML::Node& body, JoinKind kind);
absl::StatusOr<graph::StreamNode> CompileIntervalJoin(const SpecReader& r, const YAML::Node& body,
                                                      const IntervalJoinInputs& in,
                                                      core::SchemaPtr left, core::SchemaPtr right);
// `process:` steps (process_compiler.cc): a user function of the job's plugin (the C++
// DataStream API). ConnectInputsOf reads the `inputs:` of a two-input one; CompileProcess makes
// the node given its input schemas and keys (one or two inputs). `at` locates errors.
absl::StatusOr<IntervalJoinInputs> ConnectInputsOf(const SpecReader& r, const YAML::Node& body);
absl::StatusOr<graph::StreamNode> CompileProcess(
    const SpecReader& r, const YAML::Node& at, const YAML::Node& body,
    const sluice::JobDefinition* plugin, const std::vector<core::SchemaPtr>& inputs,
    const std::vector<std::vector<std::string>>& keys);
// `deduplicate:` and `top-n:` (changelog_compiler.cc); keep-last and top-n emit an updating
// stream (StreamNode::changelog).
absl::StatusOr<graph::StreamNode> CompileDeduplicate(const SpecReader& r, const StepContext& c);
absl::StatusOr<graph::StreamNode> CompileTopN(const SpecReader& r, const StepContext& c);
// `lookup-join:` (lookup_join_compiler.cc).
absl::StatusOr<graph::StreamNode> CompileLookupJoin(const SpecReader& r, const StepContext& ctx);
// Operators that can have a side output (`side-output:`), and what it carries.
bool SupportsSideOutput(StepKind kind);

}  // namespace sluice::job
