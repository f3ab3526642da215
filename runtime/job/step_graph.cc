// The steps of a job spec's `pipeline:` (job_compiler_internal.h): parsing them, naming their
// inputs, ordering them by their dependencies, and compiling each into StreamGraph nodes and
// edges (one-input operators, two-input joins and connected process functions, partitionings,
// unions), tracking event time and updating streams along the way.

#include <array>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/graph/topological_sort.h"
#include "runtime/job/job_compiler_internal.h"

namespace sluice::job::internal {

absl::Status Compiler::ParseSteps(const YAML::Node& pipeline) {
  if (!pipeline) return absl::OkStatus();
  if (!pipeline.IsSequence()) return r_.Error(pipeline, "pipeline must be a list of steps");
  int position = 0;
  for (const auto& step : pipeline) {
    StepDecl s;
    s.position = ++position;
    s.step = YAML::Node(step);
    std::string op;
    if (step.IsScalar()) {
      op = step.Scalar();
      s.body = YAML::Node(step);
    } else if (step.IsMap()) {
      for (const auto& kv : step) {
        const std::string k = kv.first.as<std::string>();
        if (k == "name") s.name = kv.second;
        else if (k == "uid") s.uid = kv.second;
        else if (k == "input") s.input = kv.second;
        else if (k == "side-output") s.side_output = kv.second;
        else if (k == "parallelism") s.has_parallelism = true;
        else if (!op.empty())
          return r_.Error(kv.first, "pipeline step {}: has two operators '{}' and '{}'", position, op, k);
        else {
          op = k;
          s.body = kv.second;
        }
      }
      if (op.empty()) return r_.Error(step, "pipeline step {}: names no operator", position);
    } else {
      return r_.Error(step, "pipeline step {}: must be an operator mapping like '- filter: ...'", position);
    }
    const std::optional<StepKind> kind = ParseStepKind(op);
    if (!kind) {
      return r_.Error(step.IsMap() ? YAML::Node(step) : s.body,
                      "pipeline step {}: unknown operator '{}' (expected {})", position, op,
                      StepKindNames());
    }
    s.kind = *kind;
    const bool operator_step = !IsPartitioning(s.kind) && s.kind != StepKind::kUnion;
    // Partitioning steps have no parallelism of their own (as in Flink, where keyBy and
    // rebalance are partition transformations): the operator after them has it.
    if (s.has_parallelism && !operator_step) {
      return r_.Error(step["parallelism"],
                      "{}: 'parallelism' belongs on the {} after it ({} is a partitioning, not an "
                      "operator)",
                      s.op(), s.kind == StepKind::kKeyBy ? "window" : "operator", s.op());
    }
    if (!operator_step && (s.uid || s.side_output)) {
      return r_.Error(s.uid ? *s.uid : *s.side_output, "{}: is not an operator and has no '{}'",
                      s.op(), s.uid ? "uid" : "side-output");
    }
    if (IsPartitioning(s.kind) && s.name) {
      return r_.Error(*s.name, "{}: a partitioning has no stream name; name the step that reads it",
                      s.op());
    }
    if (s.side_output && !SupportsSideOutput(s.kind)) {
      return r_.Error(*s.side_output, "{}: has no side output (filter sends the rows it drops, "
                      "window its late rows)", s.op());
    }
    if (s.kind == StepKind::kUnion && s.input) {
      return r_.Error(*s.input, "union: lists its inputs itself ('union: [a, b]'), not in 'input'");
    }
    if (s.kind == StepKind::kIntervalJoin || s.kind == StepKind::kWindowJoin ||
        s.kind == StepKind::kJoin) {
      if (s.input) {
        return r_.Error(*s.input, "{}: names its inputs in 'left' and 'right', not in 'input'",
                        s.op());
      }
      const JoinKind kind = s.kind == StepKind::kJoin         ? JoinKind::kRegular
                            : s.kind == StepKind::kWindowJoin ? JoinKind::kWindow
                                                              : JoinKind::kInterval;
      ASSIGN_OR_RETURN(s.join, IntervalJoinInputsOf(r_, s.body, kind));
    }
    if (s.kind == StepKind::kProcess && s.body.IsMap() && s.body["inputs"]) {
      if (s.input) {
        return r_.Error(*s.input, "process: names its two inputs in 'inputs', not in 'input'");
      }
      ASSIGN_OR_RETURN(s.join, ConnectInputsOf(r_, s.body));
    }
    steps_.push_back(std::move(s));
  }
  return absl::OkStatus();
}

// Names every step's producers: `input:` or the step before it (the only source for the first
// step); union lists its own.
absl::Status Compiler::ResolveInputs() {
  for (size_t i = 0; i < steps_.size(); ++i) {
    StepDecl& s = steps_[i];
    if (s.name) {
      if (!s.name->IsScalar()) return r_.Error(*s.name, "'name' must be a string");
      names_[s.name->Scalar()].emplace_back(static_cast<int>(i), 0);
    }
    if (s.side_output) {
      if (!s.side_output->IsScalar()) {
        return r_.Error(*s.side_output, "'side-output' names the stream of the side output");
      }
      names_[s.side_output->Scalar()].emplace_back(static_cast<int>(i), 1);
    }
  }
  for (size_t i = 0; i < steps_.size(); ++i) {
    StepDecl& s = steps_[i];
    auto add = [&](std::pair<int, int> p) {
      s.producers.push_back(p.first);
      s.producer_outputs.push_back(p.second);
    };
    if (s.join) {
      for (const YAML::Node& in : {s.join->left, s.join->right}) {
        ASSIGN_OR_RETURN(auto p, Lookup(in));
        add(p);
      }
    } else if (s.kind == StepKind::kUnion) {
      if (!s.body.IsSequence() || s.body.size() < 2) {
        return r_.Error(s.body, "union: expected a list of at least two stream names");
      }
      for (const auto& in : s.body) {
        ASSIGN_OR_RETURN(auto p, Lookup(in));
        add(p);
      }
    } else if (s.input) {
      if (i > 0 && IsPartitioning(steps_[i - 1].kind)) {
        return r_.Error(*s.input, "step {}: reads the {} before it; it cannot also name an "
                        "'input' (put the input on the {} step)",
                        s.position, steps_[i - 1].op(), steps_[i - 1].op());
      }
      ASSIGN_OR_RETURN(auto p, Lookup(*s.input));
      add(p);
    } else if (i > 0) {
      s.implicit_input = true;
      add({static_cast<int>(i) - 1, 0});
    } else if (sources_.size() == 1) {
      s.implicit_input = true;
      add({-1, 0});
    } else {
      return r_.Error(s.step, "pipeline step 1: the job has {} sources; say which one it reads "
                      "with 'input: <source>'", sources_.size());
    }
  }
  return absl::OkStatus();
}

// Steps in an order where each comes after its producers; a cycle is refused naming its steps.
absl::StatusOr<std::vector<int>> Compiler::OrderSteps() const {
  std::vector<std::pair<int, int>> edges;
  for (size_t i = 0; i < steps_.size(); ++i) {
    for (int p : steps_[i].producers) {
      if (p >= 0) edges.emplace_back(p, static_cast<int>(i));
    }
  }
  graph::TopologicalSort sorted = graph::SortTopologically(static_cast<int>(steps_.size()), edges);
  if (sorted.cycle.empty()) return std::move(sorted.order);
  std::string cycle;
  for (int c : sorted.cycle) cycle += Describe(c) + " -> ";
  cycle += Describe(sorted.cycle.front());
  return r_.Error(steps_[static_cast<size_t>(sorted.cycle.front())].step,
                  "the pipeline has a cycle: {}; a dataflow must not feed back into itself", cycle);
}

void Compiler::Connect(const Flow& in, int node, int input) {
  const int target_parallelism = sg_.nodes[static_cast<size_t>(node)].parallelism;
  for (const Endpoint& e : in.endpoints) {
    graph::StreamEdge edge;
    edge.source = e.node;
    edge.source_output = e.output;
    edge.target = node;
    edge.target_input = input;
    if (in.partitioner) {
      edge.partitioner = *in.partitioner;
      edge.key_fields = in.key_fields;
    } else {
      // Flink's default: forward at equal parallelism, otherwise rebalance.
      edge.partitioner = sg_.nodes[static_cast<size_t>(e.node)].parallelism == target_parallelism
                             ? PartitionerKind::kForward
                             : PartitionerKind::kRebalance;
    }
    sg_.AddEdge(std::move(edge));
  }
}

// Joins and connected process steps: each input partitioned by its own key (or broadcast), read
// as inputs 0 and 1.
absl::Status Compiler::CompileTwoInputStep(StepDecl& s) {
  std::array<Flow, 2> in;
  for (size_t k = 0; k < 2; ++k) {
    in[k] = FlowOf(s.producers[k], s.producer_outputs[k]);
    Consume(s.producers[k], s.producer_outputs[k]);
    RETURN_IF_ERROR(CheckInsertOnly(s, in[k], k == 0 ? s.join->left : s.join->right));
    if (in[k].partitioner) {
      return r_.Error(k == 0 ? s.join->left : s.join->right,
                      "{}: its inputs must not be partitioned; it partitions them by their keys "
                      "itself", s.op());
    }
    const bool timed = s.join->kind != JoinKind::kRegular && s.join->kind != JoinKind::kConnect;
    if (timed && !in[k].has_event_time) {
      return r_.Error(k == 0 ? s.join->left : s.join->right,
                      "{}: needs event time on both inputs (declare 'event-time' on their "
                      "sources)", s.op());
    }
    in[k].key_fields = k == 0 ? s.join->left_keys : s.join->right_keys;
    if (!in[k].key_fields.empty()) {
      in[k].partitioner = PartitionerKind::kHash;
    } else if (k == 1 && s.join->right_broadcast) {
      in[k].partitioner = PartitionerKind::kBroadcast;
    }
  }
  absl::StatusOr<graph::StreamNode> compiled =
      s.join->kind == JoinKind::kConnect
          ? CompileProcess(r_, s.step, s.body, sub_.plugin.get(), {in[0].schema, in[1].schema},
                           {in[0].key_fields, in[1].key_fields})
          : CompileIntervalJoin(r_, s.body, *s.join, in[0].schema, in[1].schema);
  if (!compiled.ok()) return compiled.status();
  graph::StreamNode node = std::move(*compiled);
  auto given = [](const std::optional<YAML::Node>& n) { return n && n->IsScalar(); };
  if (given(s.name)) node.name = s.name->Scalar();
  node.uid = given(s.uid) ? s.uid->Scalar() : fmt::format("{}-{}", s.op(), s.position);
  node.max_parallelism = max_parallelism_;
  node.parallelism = parallelism_;
  if (s.has_parallelism) {
    ASSIGN_OR_RETURN(node.parallelism,
                     r_.OperatorParallelism(s.step, fmt::format("{} (uid '{}')", s.op(), node.uid),
                                            parallelism_, max_parallelism_));
  }
  const core::SchemaPtr out_schema = node.output_schema;
  const core::SchemaPtr side_schema = node.side_output_schemas.empty() ? nullptr : node.side_output_schemas[0];
  if (s.side_output && side_schema == nullptr) {
    return r_.Error(*s.side_output, "{}: declares no side output", s.op());
  }
  const int id = sg_.AddNode(std::move(node));
  Connect(in[0], id, 0);
  Connect(in[1], id, 1);
  const bool event_time = in[0].has_event_time && in[1].has_event_time;
  s.out = Flow{{{id, 0}}, out_schema, event_time, std::nullopt, {}, {}};
  if (side_schema) s.side = Flow{{{id, 1}}, side_schema, event_time, std::nullopt, {}, {}};
  return absl::OkStatus();
}

absl::Status Compiler::CheckInsertOnly(const StepDecl& s, const Flow& in,
                                       const YAML::Node& at) const {
  if (!in.updating || PassesChangelog(s.kind)) return absl::OkStatus();
  // A changelog aggregate retracts its input's -U/-D rows (checked per aggregate function).
  if (s.kind == StepKind::kAggregate && s.body.IsMap() && s.body["changelog"] &&
      s.body["changelog"].IsScalar() && s.body["changelog"].Scalar() == "true") {
    return absl::OkStatus();
  }
  return r_.Error(at, "pipeline step {} ('{}'): its input is an updating stream ({} emits "
                  "-U/+U/-D rows that retract earlier results), but {} needs an insert-only "
                  "stream; only filter, map, project, flat-map, union and sinks read updates",
                  s.position, s.op(), in.updating_from, s.op());
}

absl::Status Compiler::CompileStep(StepDecl& s) {
  if (s.join) return CompileTwoInputStep(s);
  // The input: one flow, or the union of several.
  Flow in = FlowOf(s.producers[0], s.producer_outputs[0]);
  Consume(s.producers[0], s.producer_outputs[0]);
  for (size_t k = 1; k < s.producers.size(); ++k) {
    const Flow& more = FlowOf(s.producers[k], s.producer_outputs[k]);
    Consume(s.producers[k], s.producer_outputs[k]);
    if (!(*more.schema == *in.schema)) {
      return r_.Error(s.body[k], "union: '{}' has fields ({}), but '{}' has ({}); a union needs "
                      "the same fields", s.body[k].Scalar(), more.schema->ToString(),
                      s.body[0].Scalar(), in.schema->ToString());
    }
    if (more.partitioner || in.partitioner) {
      return r_.Error(s.body, "union: its inputs must not be partitioned; partition after it");
    }
    in.endpoints.insert(in.endpoints.end(), more.endpoints.begin(), more.endpoints.end());
    in.has_event_time = in.has_event_time && more.has_event_time;
    if (more.updating && !in.updating) {
      in.updating = true;
      in.updating_from = more.updating_from;
    }
  }
  if (s.kind == StepKind::kUnion) {
    s.out = std::move(in);
    return absl::OkStatus();
  }
  const YAML::Node at = s.step.IsMap() ? s.step : s.body;
  if (IsPartitioning(s.kind)) {
    // The last partitioning before an operator wins (as in Flink).
    in.partitioned_at = at;
    in.key_fields.clear();
    if (s.kind == StepKind::kKeyBy) {
      std::vector<std::string> keys;
      if (s.body.IsScalar()) keys.push_back(s.body.Scalar());
      else if (s.body.IsSequence()) for (const auto& k : s.body) keys.push_back(k.as<std::string>());
      if (keys.empty()) return r_.Error(s.body, "key-by: expected a field name or a list of field names");
      auto sel = core::KeySelector::Create(*in.schema, keys);
      if (!sel.ok()) return r_.Error(s.body, "key-by: {}", sel.status().message());
      in.partitioner = PartitionerKind::kHash;
      in.key_fields = std::move(keys);
    } else {
      in.partitioner = s.kind == StepKind::kRebalance   ? PartitionerKind::kRebalance
                       : s.kind == StepKind::kBroadcast ? PartitionerKind::kBroadcast
                                             : PartitionerKind::kRescale;
    }
    s.out = std::move(in);
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(CheckInsertOnly(s, in, at));
  const bool keyed_input = in.partitioner == PartitionerKind::kHash;
  if (keyed_input && !IsKeyed(s.kind)) {
    return r_.Error(at, "pipeline step {}: '{}' after key-by: key-by must be followed by a window, "
                    "deduplicate, aggregate, top-n, over or process", s.position, s.op());
  }
  auto given = [](const std::optional<YAML::Node>& n) { return n && n->IsScalar(); };
  const std::string uid = given(s.uid) ? s.uid->Scalar() : fmt::format("{}-{}", s.op(), s.position);
  StepContext ctx{s.kind, s.step, s.body, in.schema, in.has_event_time,
                  keyed_input ? in.key_fields : std::vector<std::string>{},
                  static_cast<bool>(s.side_output), sub_.plugin.get(), in.updating};
  ASSIGN_OR_RETURN(graph::StreamNode node, CompileStepOperator(r_, ctx));
  if (given(s.name)) node.name = s.name->Scalar();
  node.uid = uid;
  node.max_parallelism = max_parallelism_;
  node.parallelism = parallelism_;
  if (s.has_parallelism) {
    ASSIGN_OR_RETURN(node.parallelism,
                     r_.OperatorParallelism(s.step, fmt::format("{} (uid '{}')", s.op(), uid),
                                            parallelism_, max_parallelism_));
  }
  const core::SchemaPtr out_schema = node.output_schema;
  const core::SchemaPtr side_schema = node.side_output_schemas.empty() ? nullptr : node.side_output_schemas[0];
  if (s.side_output && side_schema == nullptr) {
    return r_.Error(*s.side_output, "{}: declares no side output", s.op());
  }
  const bool changelog = node.changelog;
  const int id = sg_.AddNode(std::move(node));
  Connect(in, id);
  s.out = Flow{{{id, 0}}, out_schema, in.has_event_time || s.kind == StepKind::kWindow, std::nullopt, {}, {}};
  if (changelog) {
    s.out->updating = true;
    s.out->updating_from = Describe(static_cast<int>(&s - steps_.data()));
  } else if (in.updating) {
    s.out->updating = true;
    s.out->updating_from = in.updating_from;
  }
  if (side_schema) {
    s.side = Flow{{{id, 1}}, side_schema, in.has_event_time, std::nullopt, {}, {}};
    s.side->updating = in.updating;
    s.side->updating_from = in.updating_from;
  }
  return absl::OkStatus();
}

}  // namespace sluice::job::internal
