#pragma once
// Sluice C++ DataStream API: the job a StreamExecutionEnvironment records, and how it becomes a
// job spec (docs/job-spec.md, DAG form) for the engine's compiler. Internal to the API: user
// code builds jobs through environment.h and never touches these types.
//
// Thread safety: building is single-threaded.

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sluice/functions.h"
#include "sluice/scalar_function.h"
#include "sluice/types.h"

namespace sluice {

enum class FunctionKind : uint8_t { kMap, kFilter, kFlatMap, kProcess, kCoProcess, kBroadcastProcess };

// Makes one instance of a user function per subtask.
struct FunctionFactory {
  FunctionKind kind = FunctionKind::kMap;
  std::function<std::unique_ptr<Function>()> create;
};

// A built job: its spec and the functions its `process` steps name (by `function:` id).
// `scalar_functions`: the functions expressions may call, by registered name. A definition with
// an empty spec_yaml is a function library (no job; scalar_function.h).
struct JobDefinition {
  std::string spec_yaml;
  std::map<std::string, FunctionFactory> functions;
  std::map<std::string, ScalarFunctionFactory> scalar_functions;
};

namespace detail {

enum class Partition : uint8_t { kNone, kRebalance, kRescale, kBroadcast };

// One input of a node: a node's output (0 = main, 1 = side), and how it is partitioned.
struct Input {
  int node = 0;
  int output = 0;
  std::vector<std::string> keys;  // KeyBy fields (hash partitioning)
  Partition partition = Partition::kNone;
};

enum class Section : uint8_t { kSource, kStep, kSink };

struct Node {
  Section section = Section::kStep;
  std::string op;     // step operator ("process", "window", ...)
  std::string label;  // default stream name prefix (op when empty): "map", "filter", ...
  std::vector<std::pair<std::string, std::string>> body;  // step: operator keys -> YAML values
  std::string connector;                             // source/sink: block mapping text
  std::vector<Input> inputs;
  bool two_input = false;  // inputs rendered inside the body (joins, connect)
  std::string name, uid;
  int parallelism = 0;
  std::vector<std::string> side_tags;  // side outputs it declares (OutputTags, late rows)
  std::string side_output;  // the side output's stream name, once read
};

struct Plan {
  std::string job_name = "sluice-job";
  int parallelism = 0;
  int max_parallelism = 0;
  std::string settings;
  std::vector<Node> nodes;
  std::map<std::string, FunctionFactory> functions;
  std::map<std::string, ScalarFunctionFactory> scalar_functions;
};

inline std::string Keys(const std::vector<std::string>& keys) {
  std::string out = "[";
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? ", " : "") + Quote(keys[i]);
  return out + "]";
}

// `text` with its common indentation removed and every line indented by `indent` spaces.
inline std::string Indent(std::string_view text, int indent) {
  std::vector<std::string_view> lines;
  size_t common = std::string_view::npos;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    common = std::min(common, first);
    lines.push_back(line);
  }
  std::string out;
  for (std::string_view line : lines) {
    out.append(static_cast<size_t>(indent), ' ');
    out.append(line.substr(common));
    out += '\n';
  }
  return out;
}

template <typename Base, typename F>
FunctionFactory FactoryOf(FunctionKind kind, F fn) {
  static_assert(std::is_base_of_v<Base, F> && std::is_copy_constructible_v<F>,
                "a user function must derive from the matching sluice function class and be "
                "copyable (each subtask gets its own copy)");
  return FunctionFactory{kind, [fn = std::move(fn)]() -> std::unique_ptr<Function> {
                           return std::make_unique<F>(fn);
                         }};
}

// Lambdas as functions.
template <typename L>
class LambdaMap final : public MapFunction {
 public:
  explicit LambdaMap(L l) : l_(std::move(l)) {}
  void Map(const Row& in, RowWriter& out) override { l_(in, out); }

 private:
  L l_;
};
template <typename L>
class LambdaFilter final : public FilterFunction {
 public:
  explicit LambdaFilter(L l) : l_(std::move(l)) {}
  bool Filter(const Row& in) override { return l_(in); }

 private:
  L l_;
};
template <typename L>
class LambdaFlatMap final : public FlatMapFunction {
 public:
  explicit LambdaFlatMap(L l) : l_(std::move(l)) {}
  void FlatMap(const Row& in, Collector& out) override { l_(in, out); }

 private:
  L l_;
};

inline std::string StreamName(const Plan& plan, int node) {
  const Node& n = plan.nodes[static_cast<size_t>(node)];
  if (!n.name.empty()) return n.name;
  return (n.label.empty() ? n.op : n.label) + "-" + std::to_string(node);
}

inline std::string InputRef(const Plan& plan, const Input& in) {
  if (in.output == 0) return Quote(StreamName(plan, in.node));
  return Quote(plan.nodes[static_cast<size_t>(in.node)].side_output);
}

// The job spec (DAG form) of `plan`.
inline std::string RenderSpec(const Plan& plan) {
  std::string sources, steps, sinks;
  // Operators' uids default to their stream names (stable while the build function adds them
  // in the same order); sources' and sinks' to their names, as in the spec.
  auto settings = [&plan](const Node& n, int indent) {
    std::string out;
    const std::string pad(static_cast<size_t>(indent), ' ');
    const int id = static_cast<int>(&n - plan.nodes.data());
    const std::string uid = n.uid.empty() && n.section == Section::kStep ? StreamName(plan, id) : n.uid;
    if (!uid.empty()) out += pad + "uid: " + Quote(uid) + "\n";
    if (n.parallelism > 0) out += pad + "parallelism: " + std::to_string(n.parallelism) + "\n";
    return out;
  };
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const Node& n = plan.nodes[i];
    const int id = static_cast<int>(i);
    if (n.section == Section::kSource) {
      sources += "  " + Quote(n.name) + ":\n" + Indent(n.connector, 4) + settings(n, 4);
      continue;
    }
    if (n.section == Section::kSink) {
      sinks += "  " + Quote(n.name) + ":\n    input: " + InputRef(plan, n.inputs[0]) + "\n" +
               Indent(n.connector, 4) + settings(n, 4);
      continue;
    }
    std::vector<std::pair<std::string, std::string>> body = n.body;
    std::string input_line;
    if (n.op == "union") {
      std::string list = "[";
      for (size_t k = 0; k < n.inputs.size(); ++k) list += (k ? ", " : "") + InputRef(plan, n.inputs[k]);
      steps += "  - union: " + list + "]\n    name: " + Quote(StreamName(plan, id)) + "\n";
      continue;
    }
    if (n.two_input) {
      const bool join = n.op != "process";
      std::string sides[2];
      for (size_t k = 0; k < 2; ++k) {
        const Input& in = n.inputs[k];
        sides[k] = "{input: " + InputRef(plan, in);
        if (!in.keys.empty()) sides[k] += ", key: " + Keys(in.keys);
        if (in.partition == Partition::kBroadcast) sides[k] += ", broadcast: true";
        sides[k] += "}";
      }
      if (join) {
        body.insert(body.begin(), {{"left", sides[0]}, {"right", sides[1]}});
      } else {
        body.emplace_back("inputs", "[" + sides[0] + ", " + sides[1] + "]");
      }
    } else {
      const Input& in = n.inputs[0];
      std::string partition;
      if (!in.keys.empty()) partition = "key-by: " + Keys(in.keys);
      if (in.partition == Partition::kRebalance) partition = "rebalance: {}";
      if (in.partition == Partition::kRescale) partition = "rescale: {}";
      if (in.partition == Partition::kBroadcast) partition = "broadcast: {}";
      if (partition.empty()) {
        input_line = "    input: " + InputRef(plan, in) + "\n";
      } else {
        steps += "  - " + partition + "\n    input: " + InputRef(plan, in) + "\n";
      }
    }
    std::string value = "{";
    for (size_t k = 0; k < body.size(); ++k) {
      value += (k ? ", " : "") + body[k].first + ": " + body[k].second;
    }
    steps += "  - " + n.op + ": " + value + "}\n" + input_line + "    name: " +
             Quote(StreamName(plan, id)) + "\n" + settings(n, 4);
    if (!n.side_output.empty()) steps += "    side-output: " + Quote(n.side_output) + "\n";
  }
  std::string spec = "name: " + Quote(plan.job_name) + "\n";
  if (plan.parallelism > 0) spec += "parallelism: " + std::to_string(plan.parallelism) + "\n";
  if (plan.max_parallelism > 0) {
    spec += "max-parallelism: " + std::to_string(plan.max_parallelism) + "\n";
  }
  spec += plan.settings;
  spec += "sources:\n" + sources;
  if (!steps.empty()) spec += "pipeline:\n" + steps;
  spec += "sinks:\n" + sinks;
  return spec;
}

}  // namespace detail

}  // namespace sluice
