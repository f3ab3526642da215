#include "runtime/job/job_compiler.h"

#include <array>
#include <map>
#include <optional>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/graph/topological_sort.h"
#include "runtime/job/node_compilers.h"
#include "runtime/job/spec_reader.h"

namespace sluice::job {
namespace {

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
  explicit Compiler(const JobSubmission& sub) : sub_(sub), r_(sub.spec_path, sub.base_dir) {}
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

std::string Compiler::Describe(int producer) const {
  if (producer < 0) {
    const SourceDecl& s = sources_[static_cast<size_t>(-1 - producer)];
    return fmt::format("source '{}' (line {})", s.stream, s.node.Mark().line + 1);
  }
  const StepDecl& s = steps_[static_cast<size_t>(producer)];
  return fmt::format("step {} '{}' (line {})", s.position, s.op(), s.step.Mark().line + 1);
}

Flow& Compiler::FlowOf(int producer, int output) {
  if (producer < 0) return sources_[static_cast<size_t>(-1 - producer)].flow;
  StepDecl& s = steps_[static_cast<size_t>(producer)];
  return output == 0 ? *s.out : *s.side;
}

void Compiler::Consume(int producer, int output) {
  if (producer < 0) {
    ++sources_[static_cast<size_t>(-1 - producer)].consumers;
  } else {
    StepDecl& s = steps_[static_cast<size_t>(producer)];
    ++(output == 0 ? s.consumers : s.side_consumers);
  }
}

absl::StatusOr<std::pair<int, int>> Compiler::Lookup(const YAML::Node& at) const {
  if (!at.IsScalar()) return r_.Error(at, "expected the name of a stream (a source or a step)");
  const std::string& name = at.Scalar();
  auto it = names_.find(name);
  if (it == names_.end()) {
    std::string known;
    for (const auto& [n, p] : names_) known += (known.empty() ? "" : ", ") + n;
    return r_.Error(at, "unknown stream '{}' (streams: {})", name, known);
  }
  if (it->second.size() > 1) {
    return r_.Error(at, "stream name '{}' is ambiguous: {} and {} both have it", name,
                    Describe(it->second[0].first), Describe(it->second[1].first));
  }
  return it->second.front();
}

absl::Status Compiler::CompileSources(const YAML::Node& root) {
  YAML::Node one = root["source"], many = root["sources"];
  if (one && many) return r_.Error(many, "give either 'source' or 'sources', not both");
  if (!one && !many) return r_.SpecError("missing required key 'source' (or 'sources')");
  std::vector<std::tuple<std::string, YAML::Node, NodeDefaults>> decls;
  if (one) {
    NodeDefaults d{"", "source", parallelism_, max_parallelism_, {}};
    std::string stream = one.IsMap() && one["name"] && one["name"].IsScalar()
                             ? one["name"].Scalar()
                             : (one.IsMap() && one["type"] && one["type"].IsScalar() ? one["type"].Scalar() : "source");
    decls.emplace_back(stream, one, d);
  } else {
    if (!many.IsMap() || many.size() == 0) {
      return r_.Error(many, "'sources' must map stream names to sources");
    }
    for (const auto& kv : many) {
      const std::string key = kv.first.as<std::string>();
      decls.emplace_back(key, kv.second, NodeDefaults{key, key, parallelism_, max_parallelism_, {}});
    }
  }
  for (auto& [stream, node, d] : decls) {
    ASSIGN_OR_RETURN(CompiledSource src, CompileSource(r_, node, d));
    Flow f;
    f.schema = src.node.output_schema;
    f.has_event_time = src.has_event_time;
    f.endpoints.push_back({sg_.AddNode(std::move(src.node)), 0});
    sources_.push_back(SourceDecl{stream, node, std::move(f), 0});
    names_[stream].emplace_back(-static_cast<int>(sources_.size()), 0);
  }
  return absl::OkStatus();
}

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
                    "deduplicate, aggregate or process", s.position, s.op());
  }
  auto given = [](const std::optional<YAML::Node>& n) { return n && n->IsScalar(); };
  const std::string uid = given(s.uid) ? s.uid->Scalar() : fmt::format("{}-{}", s.op(), s.position);
  StepContext ctx{s.kind, s.step, s.body, in.schema, in.has_event_time,
                  keyed_input ? in.key_fields : std::vector<std::string>{},
                  static_cast<bool>(s.side_output), sub_.plugin.get()};
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

absl::Status Compiler::CompileSinks(const YAML::Node& root) {
  YAML::Node one = root["sink"], many = root["sinks"];
  if (one && many) return r_.Error(many, "give either 'sink' or 'sinks', not both");
  if (!one && !many) return r_.SpecError("missing required key 'sink' (or 'sinks')");
  // The default input of a sink: the last step, or the only source.
  std::optional<std::pair<int, int>> last;
  if (!steps_.empty()) last = std::make_pair(static_cast<int>(steps_.size()) - 1, 0);
  else if (sources_.size() == 1) last = std::make_pair(-1, 0);
  std::vector<std::tuple<YAML::Node, NodeDefaults>> decls;
  if (one) {
    decls.emplace_back(one, NodeDefaults{"", "sink", parallelism_, max_parallelism_, {}});
  } else {
    if (!many.IsMap() || many.size() == 0) return r_.Error(many, "'sinks' must map names to sinks");
    for (const auto& kv : many) {
      const std::string key = kv.first.as<std::string>();
      decls.emplace_back(kv.second, NodeDefaults{key, key, parallelism_, max_parallelism_, {"input"}});
    }
  }
  for (auto& [node, d] : decls) {
    std::pair<int, int> producer;
    if (node.IsMap() && node["input"]) {
      ASSIGN_OR_RETURN(producer, Lookup(node["input"]));
    } else if (last) {
      producer = *last;
    } else {
      return r_.Error(node, "sink: the job has {} sources and no steps; say which one it writes "
                      "with 'input: <source>'", sources_.size());
    }
    const Flow& in = FlowOf(producer.first, producer.second);
    if (in.partitioner == PartitionerKind::kHash) {
      return r_.Error(in.partitioned_at, "key-by: must be followed by a window, deduplicate, aggregate or process");
    }
    if (in.updating) d.updating_from = in.updating_from;
    ASSIGN_OR_RETURN(graph::StreamNode sink, CompileSink(r_, node, in.schema, d));
    const int id = sg_.AddNode(std::move(sink));
    Connect(in, id);
    Consume(producer.first, producer.second);
  }
  return absl::OkStatus();
}

absl::Status Compiler::CheckAllUsed() const {
  for (const auto& s : sources_) {
    if (s.consumers == 0) {
      return r_.Error(s.node, "source '{}' is not read by any step or sink", s.stream);
    }
  }
  for (const auto& s : steps_) {
    if (s.consumers == 0) {
      if (s.kind == StepKind::kKeyBy) return r_.Error(s.step, "key-by: must be followed by a window, deduplicate, aggregate or process");
      return r_.Error(s.step.IsMap() ? s.step : s.body, "pipeline step {} ('{}'): its output is "
                      "not read by any step or sink", s.position, s.op());
    }
    if (s.side_output && s.side_consumers == 0) {
      return r_.Error(*s.side_output, "side output '{}' is not read by any step or sink",
                      s.side_output->Scalar());
    }
  }
  return absl::OkStatus();
}

absl::Status Compiler::CompileTopLevel(const YAML::Node& root) {
  if (!root.IsMap()) {
    return r_.SpecError("a job spec must be a YAML mapping with source, pipeline and sink");
  }
  RETURN_IF_ERROR(r_.CheckKeys(root, "job",
                               {"name", "parallelism", "max-parallelism", "source", "sources",
                                "pipeline", "sink", "sinks", "checkpointing", "restart-strategy",
                                "state"}));
  ASSIGN_OR_RETURN(sg_.name, r_.GetString(root, "job", "name", false, "sluice-job"));
  ASSIGN_OR_RETURN(parallelism_, r_.GetInt(root, "job", "parallelism", 1));
  if (sub_.parallelism > 0) parallelism_ = sub_.parallelism;
  if (parallelism_ < 1) {
    return r_.Error(root["parallelism"], "job: parallelism {} must be at least 1", parallelism_);
  }
  ASSIGN_OR_RETURN(max_parallelism_, r_.GetInt(root, "job", "max-parallelism",
                                               core::ComputeDefaultMaxParallelism(parallelism_)));
  YAML::Node at_par = root["max-parallelism"] ? root["max-parallelism"] : root;
  if (auto s = core::CheckParallelism(parallelism_, max_parallelism_); !s.ok()) {
    return r_.Error(at_par, "job: {}", s.message());
  }
  return absl::OkStatus();
}

absl::StatusOr<graph::JobGraph> Compiler::Compile() {
  ASSIGN_OR_RETURN(YAML::Node root, r_.Load(sub_.spec_yaml));
  try {
    RETURN_IF_ERROR(CompileTopLevel(root));
    ASSIGN_OR_RETURN(graph::JobConfig config, CompileJobConfig(r_, root));
    RETURN_IF_ERROR(CompileSources(root));
    RETURN_IF_ERROR(ParseSteps(root["pipeline"]));
    RETURN_IF_ERROR(ResolveInputs());
    ASSIGN_OR_RETURN(std::vector<int> order, OrderSteps());
    for (int i : order) RETURN_IF_ERROR(CompileStep(steps_[static_cast<size_t>(i)]));
    RETURN_IF_ERROR(CompileSinks(root));
    RETURN_IF_ERROR(CheckAllUsed());
    auto g = graph::BuildJobGraph(sg_, parallelism_, max_parallelism_, std::move(config));
    if (!g.ok()) return r_.SpecError(std::string(g.status().message()));
    // Instantiate every operator once so that a bad spec fails now, not at run time.
    for (const auto& node : sg_.nodes) {
      if (!node.op) continue;
      auto probe = node.op();
      if (!probe.ok()) return r_.SpecError(fmt::format("{}: {}", node.name, probe.status().message()));
    }
    return g;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}:{}:{}: {}", sub_.spec_path, e.mark.line + 1,
                                                  e.mark.column + 1, e.msg));
  }
}

}  // namespace

absl::StatusOr<graph::JobGraph> CompileJob(const JobSubmission& submission) {
  return Compiler(submission).Compile();
}

}  // namespace sluice::job
